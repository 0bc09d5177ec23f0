"""`leadscore lint`: domain rules over a compiled model, each with a stable code (docs/lint.md).

    from leadscore.lint import lint_file, fix_source
    for f in lint_file("examples/reference.score").findings:
        print(f.code, f.span, f.message, f.fix)   # fix: span edits, or None
    fix_source(text, "model.score").text          # every mechanical fix made
"""

from .config import ConfigError, LintConfig, find_pyproject, load
from .edits import Edit, Fix
from .engine import LintResult, lint_file, lint_source
from .fix import Fixed, fix_source
from .registry import RULES, Finding, Rule

__all__ = ["RULES", "ConfigError", "Edit", "Finding", "Fix", "Fixed", "LintConfig", "LintResult",
           "Rule", "find_pyproject", "fix_source", "lint_file", "lint_source", "load"]
