"""Lint settings from `[tool.leadscore]` / `[tool.leadscore.lint]` in the nearest pyproject.toml.

```toml
[tool.leadscore.lint]
select = ["ALL"]                 # codes, code prefixes (LS1), rule names
ignore = ["LS404", "regex-is-plain-text"]
fail-on = "warning"              # error | warning | info | never
sales-tiers = ["mql", "sql"]     # which tiers score inflation protects
[tool.leadscore.lint.severity]
LS406 = "warning"
```

Keys in `[tool.leadscore]` itself are read too (the lint table wins), so a project with one
flat table works; other tools' keys there are left alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .registry import RANK, RULES, lookup

KEYS = ("select", "ignore", "fail-on", "severity", "sales-tiers")
FAIL_ON = ("error", "warning", "info", "never")


class ConfigError(ValueError):
    """A setting that cannot be used; the CLI reports it as a usage error (exit 2)."""


@dataclass
class LintConfig:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    fail_on: str = "warning"
    severity: dict[str, str] = field(default_factory=dict)  # code -> severity
    sales_tiers: list[str] | None = None
    path: str | None = None  # the pyproject.toml it came from

    def enabled(self) -> dict[str, str]:
        """Code -> severity of every rule that runs."""
        chosen = {r.code for word in self.select for r in _rules(word, "select")}
        dropped = {r.code for word in self.ignore for r in _rules(word, "ignore")}
        codes = (chosen - dropped) | {"LS000"}  # compile errors cannot be switched off
        return {c: self.severity.get(c, RULES[c].severity) for c in codes}

    def validate(self) -> LintConfig:
        self.enabled()
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {self.fail_on!r}")
        return self


def _rules(word: str, key: str):
    found = lookup(word)
    if not found:
        raise ConfigError(f"{key}: unknown lint rule {word!r} (see `leadscore lint --list-rules`)")
    return found


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for d in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(path: Path | None) -> LintConfig:
    """Settings from one pyproject.toml (defaults when `path` is None or has none)."""
    cfg = LintConfig()
    if path is None:
        return cfg
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    tool = data.get("tool", {}).get("leadscore", {})
    if not isinstance(tool, dict):
        return cfg
    lint = tool.get("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError(f"{path}: [tool.leadscore.lint] must be a table")
    unknown = sorted(set(lint) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key in [tool.leadscore.lint]: {unknown[0]!r} "
                          f"(known: {', '.join(KEYS)})")
    merged = {k: v for k, v in tool.items() if k in KEYS}
    merged.update(lint)
    cfg.path = str(path)
    apply(cfg, merged, str(path))
    return cfg.validate()


def apply(cfg: LintConfig, values: dict, where: str) -> None:
    def names(key: str) -> list[str]:
        v = values[key]
        if isinstance(v, str):
            v = [x for x in v.replace(",", " ").split() if x]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConfigError(f"{where}: {key} must be a list of rule codes or names")
        return v

    if "select" in values:
        cfg.select = names("select")
    if "ignore" in values:
        cfg.ignore = names("ignore")
    if "fail-on" in values:
        cfg.fail_on = str(values["fail-on"])
    if "sales-tiers" in values:
        cfg.sales_tiers = names("sales-tiers")
    if "severity" in values:
        table = values["severity"]
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: severity must be a table such as {{ LS406 = \"warning\" }}")
        for word, level in table.items():
            if level not in RANK:
                raise ConfigError(f"{where}: severity of {word} must be one of "
                                  f"{', '.join(RANK)}, not {level!r}")
            for r in _rules(word, "severity"):
                if r.code != "LS000":
                    cfg.severity[r.code] = level

