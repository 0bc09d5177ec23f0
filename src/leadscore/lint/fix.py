"""`leadscore lint --fix`: apply every finding's fix, lint again, until nothing is left to fix.

    from leadscore.lint.fix import fix_source
    fixed = fix_source(text, "model.score")
    fixed.text        # the model with every mechanical fix made
    fixed.remaining   # what lint still finds in it

The fixes are the rules' own (each finding's `fix`, lint/edits.py); this module only decides
which ones go together. One round applies the fixes whose edits do not overlap; a fix can
uncover another finding (removing an unused let can leave the let it used unused), so the
text is linted again, up to `MAX_FIX_ROUNDS` rounds. A round whose result would not compile
is taken apart and its fixes tried one at a time (the first `MAX_FIX_TRIALS`), so one bad fix
never spoils the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import LintConfig
from .edits import Edit, Fix, apply_edits, overlaps
from .engine import LintResult, lint_source
from .registry import Finding

__all__ = ["MAX_FIX_ROUNDS", "MAX_FIX_TRIALS", "Edit", "Fix", "Fixed", "apply_edits", "fix_source"]

MAX_FIX_ROUNDS = 10  # lint-and-fix rounds; a fix that uncovers another needs one more round
MAX_FIX_TRIALS = 16  # fixes tried one by one when a round's result does not compile


@dataclass
class Fixed:
    text: str
    result: LintResult  # the lint of `text`: its findings, sources and whether it compiled
    applied: list[Finding] = field(default_factory=list)  # each finding whose fix was made

    @property
    def remaining(self) -> list[Finding]:
        return self.result.findings


def _compatible(findings: list[Finding]) -> list[Finding]:
    """The fixable findings, in file order, whose edits overlap no earlier one's."""
    chosen: list[Finding] = []
    taken: list[Edit] = []
    for f in findings:
        if f.fix is None:
            continue
        if any(overlaps(e.span, t.span) for e in f.fix.edits for t in taken):
            continue
        chosen.append(f)
        taken.extend(f.fix.edits)
    return chosen


def _edits(findings: list[Finding]) -> list[Edit]:
    return [e for f in findings for e in f.fix.edits]  # type: ignore[union-attr]


def fix_source(text: str, path: str = "<string>", config: LintConfig | None = None,
               max_rounds: int = MAX_FIX_ROUNDS) -> Fixed:
    """`text` with every mechanical fix of its findings made (docs/lint.md says which rules
    have one). Only findings the configuration reports are fixed; a suppressed one is not."""
    result = lint_source(text, path, config)
    applied: list[Finding] = []
    for _ in range(max_rounds):
        chosen = _compatible(result.findings) if result.compiled else []
        if not chosen:
            break
        after = apply_edits(text, _edits(chosen), path)
        again = lint_source(after, path, config)
        if not again.compiled:  # some fix broke the model: keep the ones that do not
            kept: list[Finding] = []
            for f in chosen[:MAX_FIX_TRIALS]:  # each trial lints the whole model again
                trial = apply_edits(text, _edits([*kept, f]), path)
                trial_result = lint_source(trial, path, config)
                if trial_result.compiled:
                    kept.append(f)
                    after, again = trial, trial_result
            chosen = kept
        if not chosen or after == text:
            break
        applied.extend(chosen)
        text, result = after, again
    return Fixed(text, result, applied)
