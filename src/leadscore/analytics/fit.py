"""`leadscore fit`: learn an integer-points scorecard from leads with known outcomes.

1. Read every column of the leads file; infer each column's schema type from all its rows
   (so the written model loads every row of the file it came from).
2. Split the leads with a valid outcome into train and test, stratified by outcome (seeded).
3. Cut each column into bins on the training rows (`features`), plus event counts in
   windows when an events file and a schema are given.
4. One 0/1 column per bin except each field's reference bin (its most common one) and bins
   with too few leads; fit an L2-regularized logistic regression (`logistic`).
5. Scale the weights to integer points (`scorecard`), write the `.score` file, compile it,
   and score train and test with the written model: the scorecard's AUC is measured on what
   was written, and its totals are checked against the design matrix.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler import compile_source, ir
from ..compiler.text import fold
from ..runtime.data import DataError, Events, empty_events, read_events, read_leads
from ..runtime.engines import run_python
from . import metrics
from .features import (
    Feature,
    bool_feature,
    category_feature,
    count_support,
    infer_type,
    name_ok,
    number_feature,
    quote_name,
    quote_string,
    typed_values,
)
from .leaks import Leak, check_field, leaky_fields, name_leak
from .logistic import fit_logistic
from .scorecard import (
    FieldBlock,
    RuleLine,
    Scaling,
    probability_formula,
    render,
    schema_text,
)
from .table import Table, blank, read_outcomes, read_table

DAY_US = 86_400_000_000
WINDOWS: tuple[int | None, ...] = (7, 30, 90, None)
PLACEHOLDERS = frozenset({"select", "n/a", "na", "none", "null", "unknown", "-", "?",
                          "not specified", "not provided", "not applicable"})


@dataclass
class FitOptions:
    outcome: str
    key: str | None = None
    row_key: bool = False
    exclude: tuple[str, ...] = ()
    na: tuple[str, ...] = ()
    seed: int = 7
    test_share: float = 0.3
    l2: float = 1.0
    bins: int = 5
    min_support: float = 0.01
    min_leads: int = 20
    scaling: Scaling = field(default_factory=Scaling)
    delimiter: str | None = None
    events: str | Path | None = None
    schema: ir.Model | None = None  # gives the event block (and the key) for event features
    as_of_us: int | None = None
    name: str = "fitted"
    tiers: tuple[tuple[str, float], ...] = (("warm", 0.25), ("hot", 0.5))


@dataclass
class FitResult:
    source: str  # the .score text
    counts: dict[str, Any]
    auc: dict[str, dict[str, float | None]]  # split -> {regression, scorecard}
    leaks: list[Leak]
    notes: list[str]
    features: list[Feature]
    weights: dict[str, float]
    rules: int
    constant: int
    exclude_as: dict[str, str] = field(default_factory=dict)

    def exclusions(self) -> list[str]:
        """What to pass to --exclude to drop every field with a leak warning."""
        return list(dict.fromkeys(self.exclude_as.get(leak.field, leak.field)
                                  for leak in self.leaks))

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "auc": self.auc, "rules": self.rules,
                "constant": self.constant, "leaks": [leak.to_json() for leak in self.leaks],
                "notes": self.notes}


class FitError(DataError):
    """The data cannot be fitted (no outcome variation, no usable columns, ...)."""


# ---------------------------------------------------------------- columns
@dataclass
class _Column:
    name: str
    type: str
    ref: str
    values: list[Any]  # typed, one per table row
    source: str = "lead"  # or "event"
    event_type: str | None = None  # what --exclude names to drop an event count


def _pick_key(tab: Table, opts: FitOptions) -> str:
    if opts.row_key:
        return tab.header[-1]
    if opts.key is not None:
        tab.index(opts.key, "key column")
        return opts.key
    if opts.schema is not None and opts.schema.schema.lead_key in tab.header:
        return opts.schema.schema.lead_key
    for i, name in enumerate(tab.header):
        if not name or name == opts.outcome:
            continue
        values = [rec[i] for _, rec in tab.rows]
        if any(blank(v) for v in values):
            continue
        texts = [str(v).strip() for v in values]
        if len(set(texts)) == len(texts):
            return name
    raise FitError(f"{tab.path}: no column has a unique value on every row to use as the lead "
                   "key; pass --key COLUMN, or --row-key to use the row number")


def _check_key(tab: Table, key: str) -> None:
    i = tab.header.index(key)
    seen: dict[str, int] = {}
    for rowno, rec in tab.rows:
        v = rec[i]
        if blank(v):
            raise FitError(f"{tab.path}:{rowno}: the key {key!r} is missing")
        k = str(v).strip()
        if k in seen:
            raise FitError(f"{tab.path}:{rowno}: duplicate key {k!r} (first in row {seen[k]}); "
                           "choose another --key or use --row-key")
        seen[k] = rowno


def _lead_columns(tab: Table, key: str, opts: FitOptions, notes: list[str]) -> list[_Column]:
    skip = {key, opts.outcome, *opts.exclude}
    cols: list[_Column] = []
    n = len(tab.rows)
    for i, name in enumerate(tab.header):
        if name in skip:
            continue
        if not name:
            if any(not blank(rec[i]) for _, rec in tab.rows):
                notes.append(f"column {i + 1} has no name: skipped")
            continue
        if not name_ok(name):
            notes.append(f"{name!r}: a name with a backtick or line break cannot be written "
                         "in a model: skipped")
            continue
        raw = [rec[i] for _, rec in tab.rows]
        type_ = infer_type(raw)
        if type_ is None:
            notes.append(f"{name!r}: empty: skipped")
            continue
        values = typed_values(raw, type_)
        present = [v for v in values if v is not None]
        distinct = len({fold(v) if isinstance(v, str) else v for v in present})
        if distinct <= 1 and len(present) == n:
            notes.append(f"{name!r}: the same value on every row: skipped")
            continue
        if (type_ == "text" and distinct >= 0.9 * n and n >= 50) or \
                (type_ == "int" and distinct == n and n >= 50):
            notes.append(f"{name!r}: looks like an identifier (a different value on almost "
                         "every row): skipped")
            continue
        cols.append(_Column(name, type_, quote_name(name), values))
    return cols


def _event_block(schema: ir.Schema) -> list[str]:
    lines = ["  event {", f"    lead {quote_name(schema.event_lead or '')}",
             f"    time {quote_name(schema.event_time or '')}",
             f"    type {quote_name(schema.event_type or '')}"]
    if schema.event_types:
        lines.append(f"    types {', '.join(quote_name(t) for t in schema.event_types)}")
    for name, type_ in schema.event_fields.items():
        lines.append(f"    field {quote_name(name)}: {type_}")
    if schema.event_table:
        lines.append(f"    table {quote_string(schema.event_table)}")
    lines.append("  }")
    return lines


def _event_columns(tab: Table, key: str, events: Events, schema: ir.Schema, as_of_us: int,
                   exclude: set[str], notes: list[str]) -> list[_Column]:
    index = {str(rec[tab.header.index(key)]).strip(): i for i, (_, rec) in enumerate(tab.rows)}
    types = list(schema.event_types) or sorted({fold(t) for t in events.types})
    types = [t for t in types if fold(t) not in exclude]
    counts = {(t, w): np.zeros(len(tab.rows), dtype=int) for t in types for w in WINDOWS}
    wanted = {fold(t): t for t in types}
    later = 0
    for lead, t, typ in zip(events.leads, events.times, events.types):
        i = index.get(lead)
        name = wanted.get(fold(typ))
        if i is None or name is None:
            continue
        if t > as_of_us:
            later += 1
            continue
        age = as_of_us - t
        for w in WINDOWS:
            if w is None or age < w * DAY_US:
                counts[(name, w)][i] += 1
    if later:
        notes.append(f"{later} events after as_of ignored")
    cols = []
    for (t, w), c in counts.items():
        if not c.any():
            continue
        within = f" within {w}d" if w is not None else ""
        ref = f"count(event {quote_name(t)}{within})"
        label = f"{t} events" + (f" in {w}d" if w is not None else "")
        cols.append(_Column(label, "count", ref, [float(v) for v in c], "event", t))
    return cols


# ---------------------------------------------------------------- split
def stratified_split(y: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), each class split in the same proportion; reproducible by seed."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(test_share * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


# ---------------------------------------------------------------- fit
def fit(leads_path: str | Path, opts: FitOptions) -> FitResult:
    notes: list[str] = []
    row_key_name = None
    if opts.row_key:
        row_key_name = "row"
        header, _ = _peek_header(leads_path, opts.delimiter)
        while row_key_name in header:
            row_key_name = "_" + row_key_name
    tab = read_table(leads_path, opts.delimiter, row_key_name)
    key = _pick_key(tab, opts)
    _check_key(tab, key)
    tab.index(opts.outcome, "outcome column")
    outcomes = read_outcomes(tab, opts.outcome)
    exclude = set(opts.exclude)
    cols = _lead_columns(tab, key, opts, notes)
    events = None
    event_types: set[str] = set()
    if opts.events is not None:
        if opts.schema is None or not opts.schema.schema.has_events:
            raise FitError("event features need the event columns: pass --schema MODEL.score "
                           "whose schema has an event block")
        if opts.as_of_us is None:
            raise FitError("event features need --as-of: the instant the windows count back from")
        events = read_events(opts.events, opts.schema.schema, opts.delimiter)
        if events.rejects:
            notes.append(f"{len(events.rejects)} event rows rejected, e.g. {events.rejects[0]}")
        event_types = {fold(t) for t in [*opts.schema.schema.event_types, *events.types]}
        cols += _event_columns(tab, key, events, opts.schema.schema, opts.as_of_us,
                               {fold(e) for e in exclude}, notes)
    unknown = [c for c in opts.exclude if c not in tab.header and fold(c) not in event_types]
    if unknown:
        tab.index(unknown[0], "column or event type to exclude")  # raises, with a suggestion
    if not cols:
        raise FitError(f"{tab.path}: no usable columns to fit on")

    valid = [i for i, (rowno, _) in enumerate(tab.rows) if rowno in outcomes.values]
    y_all = np.array([outcomes.values[tab.rows[i][0]] for i in valid], dtype=int)
    if len(valid) < 20 or y_all.min() == y_all.max():
        raise FitError(f"{tab.path}: need at least 20 leads with an outcome, of both outcomes, "
                       f"to fit (found {int(y_all.sum()) if len(valid) else 0} converted of "
                       f"{len(valid)})")
    if opts.test_share > 0:
        tr, te = stratified_split(y_all, opts.test_share, opts.seed)
    else:
        tr, te = np.arange(len(valid)), np.array([], dtype=int)
    train_rows = [valid[i] for i in tr]
    test_rows = [valid[i] for i in te]
    y_tr, y_te = y_all[tr], y_all[te]
    n_tr = len(train_rows)
    min_count = max(opts.min_leads, int(math.ceil(opts.min_support * n_tr)))

    na = {fold(v): v for v in opts.na}
    _placeholder_note(cols, frozenset(na), notes)
    features: list[Feature] = []
    feature_cols: list[_Column] = []
    assigned: list[np.ndarray] = []  # each feature's bin on every table row
    exclude_as: dict[str, str] = {}  # feature -> what --exclude takes to drop it
    leaks: list[Leak] = []
    for col in cols:
        train_values = [col.values[i] for i in train_rows]
        if col.type in ("int", "float", "count"):
            feat = number_feature(col.name, col.type, col.ref, train_values, opts.bins, min_count)
        elif col.type == "bool":
            feat = bool_feature(col.name, col.ref, train_values)
        elif col.type == "text":
            present = {k: v for k, v in na.items() if any(isinstance(x, str) and fold(x) == k
                                                           for x in col.values)}
            feat = category_feature(col.name, col.ref, train_values, min_count, present)
        else:  # timestamps are not read by fit
            feat = None
        if feat is None:
            notes.append(f"{col.name!r}: no split with at least {min_count} leads on each side: "
                         "skipped")
            continue
        count_support(feat, feat.assign(train_values), y_tr)
        features.append(feat)
        assigned.append(feat.assign(col.values))
        feature_cols.append(col)
        leaks += check_field(col.name, _for_leaks(feat, train_values), y_tr,
                             by_name=col.source == "lead")
        exclude_as[col.name] = col.event_type or col.name
    for t in dict.fromkeys(c.event_type for c in feature_cols if c.event_type):
        leak = name_leak(t, "event type ")
        if leak is not None:
            leaks.append(leak)
            exclude_as[t] = t

    # design: one column per non-reference bin with enough leads
    columns: list[tuple[int, int]] = []  # (feature index, bin index)
    for fi, feat in enumerate(features):
        for bi, b in enumerate(feat.bins):
            if bi != feat.reference and b.support >= min_count:
                columns.append((fi, bi))
    if not columns:
        raise FitError("no feature has a bin with enough leads to fit on")
    col_of = {c: j for j, c in enumerate(columns)}

    def design(rows: list[int]) -> np.ndarray:
        X = np.zeros((len(rows), len(columns)))
        r = np.array(rows, dtype=int)
        for fi, feat in enumerate(features):
            a = assigned[fi][r]
            for bi in range(len(feat.bins)):
                j = col_of.get((fi, bi))
                if j is not None:
                    X[:, j] = a == bi
        return X

    X_tr, X_te = design(train_rows), design(test_rows)
    model = fit_logistic(X_tr, y_tr, opts.l2)
    if not model.converged:
        notes.append(f"the regression did not converge in {model.iterations} iterations")

    sc = opts.scaling
    points = np.array([sc.points(w) for w in model.weights])
    constant = int(round(sc.offset + sc.factor * model.intercept))
    blocks = []
    labels: set[str] = set()
    for fi, feat in enumerate(features):
        block = FieldBlock(feat)
        for bi, b in enumerate(feat.bins):
            if bi == feat.reference:
                continue
            j = col_of.get((fi, bi))
            if j is None:
                if b.support:
                    block.pooled.append(b.label)
                continue
            if points[j] == 0:
                block.zero.append(b.label)
                continue
            label = base = f"{feat.name}: {b.label}"
            copy = 2
            while fold(label) in labels:  # labels name rules in explain and tests: keep unique
                label = f"{base} ({copy})"
                copy += 1
            labels.add(fold(label))
            block.rules.append(RuleLine(label, int(points[j]), b.condition,
                                        float(model.weights[j]), b.support, b.converted))
        if block.rules:
            blocks.append(block)
    blocks.sort(key=lambda b: -b.spread)

    score_name = "points"
    used = {b.feature.name for b in blocks}
    while score_name in {c.name for c in cols}:
        score_name = "fitted_" + score_name
    lead_fields = [(c.name, c.type) for c in feature_cols if c.source == "lead" and c.name in used]
    uses_events = any(c.source == "event" and c.name in used for c in feature_cols)
    schema_lines = schema_text(key, lead_fields, _event_block(opts.schema.schema)
                               if uses_events and opts.schema is not None else None)

    reg_tr = model.decision(X_tr)
    reg_te = model.decision(X_te) if len(test_rows) else np.array([])
    auc = {"train": {"regression": metrics.roc_auc(reg_tr, y_tr)},
           "test": {"regression": metrics.roc_auc(reg_te, y_te) if len(test_rows) else None}}
    counts = {"rows_read": len(tab.rows), "outcome_missing": len(outcomes.missing),
              "outcome_invalid": len(outcomes.invalid), "with_outcome": len(valid),
              "train": n_tr, "train_converted": int(y_tr.sum()), "test": len(test_rows),
              "test_converted": int(y_te.sum()), "key": key, "columns": len(cols),
              "features": len(features), "bins": len(columns),
              "min_leads_per_bin": min_count, "l2": opts.l2, "seed": opts.seed,
              "test_share": opts.test_share}

    def build(auc_line: str) -> str:
        header = _header(Path(leads_path).name, opts, counts, len(columns), len(features), sc,
                         auc_line, sorted(leaky_fields(leaks)))
        tiers = _tiers(opts.tiers, sc)
        return render(opts.name, header, schema_lines, blocks, constant, n_tr, sc, score_name,
                      tiers)

    draft = build("")
    compiled = compile_source(draft, f"<fitted {opts.name}>")
    as_of = opts.as_of_us or 0
    scored = [tab.rows[i][0] for i in [*train_rows, *test_rows]]
    totals = _totals(compiled, leads_path, opts, scored, events, as_of)
    totals_tr = np.array([totals[tab.rows[i][0]] for i in train_rows], dtype=float)
    expected_tr = constant + X_tr @ points
    if not np.array_equal(totals_tr, expected_tr):  # the written model must add up like the fit
        bad = int(np.flatnonzero(totals_tr != expected_tr)[0])
        raise RuntimeError(f"the written model disagrees with the fit on row "
                           f"{tab.rows[train_rows[bad]][0]}: {totals_tr[bad]} != "
                           f"{expected_tr[bad]}")
    auc["train"]["scorecard"] = metrics.roc_auc(totals_tr, y_tr)
    if len(test_rows):
        totals_te = np.array([totals[tab.rows[i][0]] for i in test_rows], dtype=float)
        auc["test"]["scorecard"] = metrics.roc_auc(totals_te, y_te)
        line = (f"Held-out ROC AUC ({len(test_rows)} leads): regression "
                f"{auc['test']['regression']:.4f}, this scorecard {auc['test']['scorecard']:.4f}.")
    else:
        auc["test"]["scorecard"] = None
        line = (f"Training ROC AUC: regression {auc['train']['regression']:.4f}, this scorecard "
                f"{auc['train']['scorecard']:.4f} (no held-out split).")
    source = canonical(build(line))
    compile_source(source, f"<fitted {opts.name}>")
    weights = {f"{features[fi].name}: {features[fi].bins[bi].label}": float(model.weights[j])
               for (fi, bi), j in col_of.items()}
    return FitResult(source, counts, auc, leaks, notes, features, weights,
                     sum(len(b.rules) for b in blocks), constant, exclude_as)


def canonical(text: str) -> str:
    """The text as `leadscore fmt` prints it (it differs from ours at most in which names need
    backticks); our own layout when the formatter is unavailable or declines."""
    try:
        from ..fmt import format_source
    except ImportError:
        return text
    try:
        return format_source(text)
    except Exception:  # a formatter problem must not cost the user the fitted model
        return text


def _peek_header(path: str | Path, delimiter: str | None) -> tuple[list[str], Any]:
    from ..runtime.data import records

    return records(path, delimiter)


def _for_leaks(feat: Feature, values: list[Any]) -> list[Any]:
    """Values as the leak check sees them: placeholders count as missing."""
    if feat.kind != "category" or not feat.na:
        return values
    return [None if isinstance(v, str) and fold(v) in feat.na else v for v in values]


def _placeholder_note(cols: list[_Column], na: frozenset[str], notes: list[str]) -> None:
    found: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for c in cols:
        if c.type != "text":
            continue
        counter = Counter(fold(v) for v in c.values if isinstance(v, str))
        n = len(c.values)
        for k, m in counter.items():
            if k in PLACEHOLDERS and k not in na and m >= 0.01 * n:
                found.setdefault(k, []).append(c.name)
                spelled.setdefault(k, next(v for v in c.values if isinstance(v, str)
                                           and fold(v) == k))
    for k, names in sorted(found.items()):
        shown = ", ".join(repr(x) for x in names[:4]) + (" ..." if len(names) > 4 else "")
        notes.append(f"{spelled[k]!r} looks like a placeholder in {len(names)} column"
                     f"{'s' if len(names) > 1 else ''} ({shown}); if it means not answered, "
                     f"pass --na {_shell(spelled[k])}")


def _shell(text: str) -> str:
    return text if text.replace("-", "").replace("_", "").isalnum() else repr(text)


def _header(source: str, opts: FitOptions, counts: dict[str, Any], bins: int, fields: int,
            sc: Scaling, auc_line: str, leaky: list[str]) -> list[str]:
    rate = counts["train_converted"] / counts["train"]
    lines = [
        f"Fitted by `leadscore fit` from {source}, outcome `{opts.outcome}`:",
        f"{counts['train']} training leads ({counts['train_converted']} converted, {rate:.1%}); "
        + (f"{counts['test']} held out (seed {opts.seed})." if counts["test"] else
           "no held-out split."),
        f"An L2-regularized logistic regression (l2 = {opts.l2:g}) on {bins} bins of {fields} "
        "fields, turned into",
        f"integer points: {sc.pdo:g} points double the odds of converting, and",
        f"  {probability_formula(sc)}",
    ]
    if auc_line:
        lines.append(auc_line)
    if opts.exclude:
        lines.append(f"Excluded: {', '.join(repr(e) for e in opts.exclude)}.")
    if leaky:
        lines.append(f"Leak warnings (fields that may hold the outcome): "
                     f"{', '.join(repr(x) for x in leaky)}.")
    if opts.na:
        lines.append(f"Not answered: {', '.join(repr(x) for x in opts.na)} count as missing.")
    lines.append("Each rule: its regression weight (log-odds against its field's reference "
                 "value) and its support")
    lines.append("in the training leads (leads, share, how many of them converted).")
    return lines


def _tiers(spec: tuple[tuple[str, float], ...], sc: Scaling) -> list[tuple[str, int | None, str]]:
    """`cold`, then a tier at the total where the scaled chance reaches each probability."""
    tiers: list[tuple[str, int | None, str]] = [("cold", None, "")]
    last = None
    for name, p in spec:
        at = int(round(sc.total_at(p)))
        if last is not None and at <= last:
            continue
        last = at
        tiers.append((name, at, f"P(convert) >= {p:.0%} or so"))
    return tiers


def _totals(model: ir.Model, leads_path: str | Path, opts: FitOptions, rows: list[int],
            events: Events | None, as_of_us: int) -> dict[int, float]:
    """The written model's total for each file row number in `rows`, from the leads file read
    afresh with the model's schema (column-wise when it can)."""
    schema = model.schema
    leads = read_leads(leads_path, schema, opts.delimiter, row_key=opts.row_key)
    wanted = set(rows)
    bad = [r for r in leads.rejects if r.row in wanted]
    if bad:
        raise RuntimeError(f"the written model rejects a row of its own data: {bad[0]}")
    ev = events if (events is not None and schema.has_events) else empty_events(schema)
    out = run_python(model, leads, ev, as_of_us)
    total = [c for c, _ in model.outputs].index("total") + 1
    by_key = {r[0]: r[total] for r in out}
    return {rowno: by_key[k] for k, rowno in zip(leads.keys, leads.rows) if rowno in wanted}
