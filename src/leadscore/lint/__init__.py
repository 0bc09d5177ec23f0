"""`leadscore lint`: domain rules over a compiled model, each with a stable code (docs/lint.md).

    from leadscore.lint import lint_file
    for f in lint_file("examples/reference.score").findings:
        print(f.code, f.span, f.message)
"""

from .config import ConfigError, LintConfig, find_pyproject, load
from .engine import LintResult, lint_file, lint_source
from .registry import RULES, Finding, Rule

__all__ = ["RULES", "ConfigError", "Finding", "LintConfig", "LintResult", "Rule", "find_pyproject",
           "lint_file", "lint_source", "load"]
