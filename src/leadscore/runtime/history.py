"""Scores over time: the history table runs add snapshots to, and what it says.

A history table holds one row per lead per as_of: `as_of` (the run's instant, the engine's
timestamp type, UTC), then exactly the columns of `leadscore run` (the key, the scores,
`total`, `segment`, `tier`, ...). Beside it, `<table>_tiers` holds the model's tier lists
(`segment`, `tier`, `rank`, 1 = a segment's lowest), so that what "at or above a tier" means
is read from the database, not from a model file. A snapshot is written in one transaction:
the rows of that as_of deleted, the scoring query's rows inserted; no other as_of is touched.

`lead_history` and `tier_changes` compute what a history says in Python; `history_sql` and
`changes_sql` compute the same in the database, with window functions (tests hold them equal).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..backends.sql import build_query
from ..compiler import ir
from ..engines import DIALECTS, Dialect
from .warehouses import EPOCH, EngineError, Job, Tables, first_line, into_parts

AS_OF = "as_of"
TIERS_SUFFIX = "_tiers"
TIER_COLUMNS = ("segment", "tier", "rank")
DEFAULT_SEGMENT = "default"  # the segment whose tiers a segment without its own has


@dataclass
class History:
    """A history table's rows: `columns` is `[AS_OF, key, *outputs]`; each row
    `(as_of_us, key, *outputs)`, numbers as float, missing as None, ordered by (as_of, key);
    `tiers` maps each segment to its tier names, lowest first."""

    key: str
    columns: list[str]
    rows: list[tuple]
    tiers: dict[str, list[str]]


def tiers_table(name: str) -> str:
    """The tier-order table beside history table `name`."""
    return name + TIERS_SUFFIX


def history_parts(name: str, dialect: Dialect) -> tuple[str, ...]:
    """The identifiers of history table `name`, checked as `--into` names are (and its tier
    table's name too); a ValueError says which rule it breaks."""
    parts = into_parts(name, dialect)
    into_parts(tiers_table(name), dialect)
    return parts


def snapshot_columns(model: ir.Model) -> list[tuple[str, str]]:
    """(column, kind) of a history table of `model`, kind a key of `Dialect.column_types`."""
    numbers = {*model.scores, "total"}
    return ([(AS_OF, "timestamp"), (model.schema.lead_key, "key")]
            + [(c, "float" if c in numbers else "text") for c, _ in model.outputs])


def iso(us: int | None) -> str | None:
    """An as_of as output files and the terminal show it: ISO 8601 in UTC."""
    if us is None:
        return None
    t = EPOCH + dt.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond:06d}" if t.microsecond else "") + "Z"


def _us(value: Any) -> int | None:
    """A timestamp the driver returned (a datetime, or SQLite's text) as µs since 1970."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def _value(v: Any) -> Any:
    """An output value as the evaluators give it: text, a float, or None."""
    return v if v is None or isinstance(v, str) else float(v)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _render(dialect: Dialect, e: exp.Expression) -> str:
    return dialect.render(e, pretty=False)


# ---------------------------------------------------------------- writing snapshots
def _ddl(dialect: Dialect, name: str, columns: Iterable[tuple[str, str]]) -> str:
    decl = ", ".join(f"{dialect.quote(c)} {dialect.column_types[k]}" for c, k in columns)
    return f"CREATE TABLE IF NOT EXISTS {dialect.table_sql(name)} ({decl})"


def _columns_of(cur: Any, dialect: Dialect, name: str) -> list[str]:
    cur.execute(_render(dialect, exp.select(exp.Star()).from_(dialect.table(name))
                        .where(exp.false())))
    return [d[0] for d in cur.description]


def _check_fits(cur: Any, dialect: Dialect, name: str, wanted: list[str]) -> None:
    have = _columns_of(cur, dialect, name)
    missing = [c for c in wanted if c not in have]
    extra = [c for c in have if c not in wanted]
    if missing or extra:
        why = "; ".join(part for part in (
            f"it lacks {', '.join(missing)}" if missing else "",
            f"the model has no {', '.join(extra)}" if extra else "") if part)
        raise EngineError(f"--history {name}: the table's columns do not fit the model ({why}): "
                          "write the history of this model to another table")


def _write_tiers(cur: Any, dialect: Dialect, model: ir.Model, name: str) -> None:
    table = tiers_table(name)
    cur.execute(_ddl(dialect, table, [("segment", "text"), ("tier", "text"), ("rank", "int")]))
    _check_fits(cur, dialect, table, list(TIER_COLUMNS))
    cur.execute(_render(dialect, exp.delete(dialect.table(table))))
    rows = [exp.tuple_(exp.Literal.string(seg), exp.Literal.string(tier), exp.Literal.number(i + 1))
            for seg, names in model.tiers.items() for i, tier in enumerate(names)]
    if rows:
        cur.execute(_render(dialect, exp.insert(exp.values(rows), dialect.table(table),
                                                columns=[exp.to_identifier(c, quoted=True)
                                                         for c in TIER_COLUMNS])))


def _at(dialect: Dialect, us: int) -> exp.Expression:
    return exp.EQ(this=_col(AS_OF), expression=dialect.timestamp(us))


def previous_tiers(dialect: Dialect, model: ir.Model, history: exp.Expression,
                   leads: exp.Expression, as_of: exp.Expression) -> exp.Select:
    """The leads relation `leads` with its `ir.PREVIOUS_TIER` column replaced by each lead's
    tier in its latest snapshot of `history` before `as_of` (null for a lead the history has
    none of): what sticky tiers read."""
    s = model.schema
    key = s.lead_key
    ranked = exp.select(
        exp.alias_(dialect.key(_col(key)), "k"), exp.alias_(_col("tier"), "t"),
        exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[dialect.key(_col(key))],
                              order=exp.Order(expressions=[exp.Ordered(this=_col(AS_OF),
                                                                       desc=True)])), "n")
    ).from_(history).where(exp.LT(this=_col(AS_OF), expression=as_of))
    latest = exp.select(_col("k"), _col("t")).from_(ranked.subquery("x")).where(
        exp.EQ(this=_col("n"), expression=exp.Literal.number(1)))
    return (exp.select(*lead_columns(model), exp.alias_(_col("t", "p"), ir.PREVIOUS_TIER,
                                                        quoted=True))
            .from_(exp.alias_(leads, "l", table=True))
            .join(latest.subquery("p"), join_type="left",
                  on=exp.EQ(this=dialect.key(_col(key, "l")), expression=_col("k", "p"))))


def lead_columns(model: ir.Model) -> list[exp.Column]:
    """The columns of the leads relation (`l`) a query reads, but the previous tier."""
    s = model.schema
    return [_col(f, "l") for f in (s.lead_key, *s.lead_fields) if f != ir.PREVIOUS_TIER]


def _with_previous_tiers(cur: Any, dialect: Dialect, model: ir.Model, name: str, leads: str,
                         us: int) -> str:
    """`previous_tiers` before `us` as a temporary table; returns its name."""
    select = previous_tiers(dialect, model, dialect.table(name), dialect.table(leads),
                            dialect.timestamp(us))
    tmp = f"leadscore_previous_{uuid.uuid4().hex[:8]}"
    cur.execute(f"CREATE TEMPORARY TABLE {dialect.quote(tmp)} AS {_render(dialect, select)}")
    return tmp


def write_snapshots(job: Job, cur: Any, dialect: Dialect, tables: Tables) -> list | int:
    """Add the job's snapshot (or, replaying, one per `job.as_ofs`) to table `job.history`
    in the runner's transaction: the rows of that as_of replaced, the others untouched. The
    rows of the (last) snapshot come back, or with `fetch` off the number of rows written."""
    model, name = job.model, job.history
    try:
        history_parts(name, dialect)
    except ValueError as err:
        raise EngineError(f"--history: {err}") from None
    own = job.own_tables()
    if job.leads is None and {name, tiers_table(name)} & {own.leads, own.events}:
        raise EngineError(f"--history {name}: that is a table the model reads; write the "
                          "history to another table")
    columns = snapshot_columns(model)
    dialect.lock_table(cur, name)
    cur.execute(_ddl(dialect, name, columns))
    _check_fits(cur, dialect, name, [c for c, _ in columns])
    _write_tiers(cur, dialect, model, name)
    target = exp.Schema(this=dialect.table(name),
                        expressions=[exp.to_identifier(c, quoted=True) for c, _ in columns[1:]]
                        + [exp.to_identifier(AS_OF, quoted=True)])
    as_ofs = job.as_ofs or (job.as_of_us,)
    sticky = ir.reads_previous_tier(model)
    written = 0
    for i, us in enumerate(as_ofs):
        leads = _with_previous_tiers(cur, dialect, model, name, tables.leads, us) if sticky \
            else tables.leads
        query = build_query(model, dialect, us, leads, tables.events, previous_tier=sticky)
        query.set("expressions", [*query.expressions,
                                  exp.alias_(dialect.timestamp(us), AS_OF, quoted=True)])
        cur.execute(_render(dialect, exp.delete(dialect.table(name), where=_at(dialect, us))))
        cur.execute(f"INSERT INTO {_render(dialect, target)} {_render(dialect, query)}")
        if sticky:
            cur.execute(f"DROP TABLE {dialect.quote(leads)}")
        cur.execute(_render(dialect, exp.select(exp.Count(this=exp.Star()))
                            .from_(dialect.table(name)).where(_at(dialect, us))))
        written += int(cur.fetchone()[0])
        if job.progress is not None:
            job.progress("replaying", i + 1, len(as_ofs))
    if not job.fetch:
        return written
    key = model.schema.lead_key
    cur.execute(_render(dialect, exp.select(*[_col(c) for c, _ in columns[1:]])
                        .from_(dialect.table(name)).where(_at(dialect, as_ofs[-1]))
                        .order_by(_col(key))))
    return cur.fetchall()


# ---------------------------------------------------------------- reading a history
def _connection(engine: str, db: str | None) -> tuple[Dialect, Any]:
    dialect = DIALECTS.get(engine)
    if dialect is None or not dialect.in_database:
        raise EngineError(f"the {engine} engine keeps no history: use duckdb, sqlite, postgres "
                          "or mysql")
    if db is None and dialect.default_db is None:
        raise EngineError(f"the history is a table of a {engine} database file: give --db PATH")
    return dialect, dialect.connect(db)


def _query(engine: str, db: str | None, name: str,
           body: Callable[[Dialect, Any], Any]) -> Any:
    """`body(dialect, cursor)` on a connection to `db`; the driver's errors (a missing table,
    no permission) as an EngineError naming the table."""
    dialect, c = _connection(engine, db)
    try:
        history_parts(name, dialect)
    except ValueError as err:
        c.con.close()
        raise EngineError(f"--history: {err}") from None
    try:
        return body(dialect, c.cur)
    except c.errors as err:
        raise EngineError(f"{engine}: cannot read the history table {name}: {first_line(err)}") \
            from None
    finally:
        c.con.close()


def _read_tiers(cur: Any, dialect: Dialect, name: str) -> dict[str, list[str]]:
    cur.execute(_render(dialect, exp.select(*[_col(c) for c in TIER_COLUMNS])
                        .from_(dialect.table(tiers_table(name)))))
    ranked: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for segment, tier, rank in cur.fetchall():
        ranked[str(segment)].append((float(rank), str(tier)))
    return {s: [t for _, t in sorted(ts)] for s, ts in sorted(ranked.items())}


def _layout(cur: Any, dialect: Dialect, name: str) -> tuple[list[str], str]:
    """The table's columns, `as_of` first, and its key: the first column other than `as_of`
    (a `run --history` table has `as_of` first, a dbt incremental one has it last)."""
    have = _columns_of(cur, dialect, name)
    rest = [c for c in have if c != AS_OF]
    if AS_OF not in have or not rest or not {"segment", "tier"} <= set(rest):
        raise EngineError(f"{name} is not a history table: it needs the columns {AS_OF}, the "
                          "lead key, segment and tier")
    return [AS_OF, *rest], rest[0]


def read_history(engine: str, db: str | None, name: str) -> History:
    """Every row of history table `name` in database `db` of `engine`."""
    def body(dialect: Dialect, cur: Any) -> History:
        columns, key = _layout(cur, dialect, name)
        tiers = _read_tiers(cur, dialect, name)
        cur.execute(_render(dialect, exp.select(*[_col(c) for c in columns])
                            .from_(dialect.table(name))))
        rows = [(_us(r[0]), str(r[1]), *(_value(v) for v in r[2:])) for r in cur.fetchall()]
        rows.sort(key=lambda r: (r[0], r[1]))
        return History(key, columns, rows, tiers)

    return _query(engine, db, name, body)


def tier_order(tiers: dict[str, list[str]]) -> list[str]:
    """Every tier name once, by its lowest rank in any segment, then by name: the order of
    the `reached_<tier>` columns."""
    best: dict[str, int] = {}
    for names in tiers.values():
        for i, t in enumerate(names):
            best[t] = min(best.get(t, i), i)
    return sorted(best, key=lambda t: (best[t], t))


def tier_list(tiers: dict[str, list[str]], segment: str | None) -> list[str]:
    """The tier names of a lead in `segment`, lowest first."""
    return tiers.get(segment) or tiers.get(DEFAULT_SEGMENT, [])


def need_tiers(tiers: dict[str, list[str]], name: str) -> None:
    """Refuse a history whose model has no tiers: its `tier` says only who is disqualified."""
    if not tiers:
        raise EngineError(f"the history {name} has no tiers (its model has no `tiers` block, "
                          f"or {tiers_table(name)} is empty): there is no tier history to show")


def history_columns(key: str, tiers: dict[str, list[str]]) -> list[str]:
    return [key, *(f"reached_{t}" for t in tier_order(tiers)), "tier", "tier_since"]


CHANGE_COLUMNS = ("from_tier", "to_tier", AS_OF)


# ---------------------------------------------------------------- what a history says, in Python
def _by_lead(h: History) -> dict[str, list[tuple[int, str, str]]]:
    """Each lead's (as_of, segment, tier), in as_of order."""
    seg, tier = h.columns.index("segment"), h.columns.index("tier")
    leads: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for r in h.rows:  # ordered by (as_of, key)
        leads[r[1]].append((r[0], r[seg], r[tier]))
    return leads


def lead_history(h: History) -> tuple[list[str], list[tuple]]:
    """Per lead, ordered by key: the key, the first as_of at which it was at or above each
    tier (None: never), its current tier and the first as_of of its current unbroken run at
    that tier. At or above tier T: T is in the tier list of the lead's segment at that
    snapshot, and the lead's tier ranks at least as high there."""
    order = tier_order(h.tiers)
    out = []
    for key, snaps in sorted(_by_lead(h).items()):
        reached: dict[str, int] = {}
        for as_of, segment, tier in snaps:
            names = tier_list(h.tiers, segment)
            if tier in names:
                for t in names[:names.index(tier) + 1]:
                    reached.setdefault(t, as_of)
        current = snaps[-1][2]
        i = len(snaps) - 1
        while i > 0 and snaps[i - 1][2] == current:
            i -= 1
        out.append((key, *(reached.get(t) for t in order), current, snaps[i][0]))
    return history_columns(h.key, h.tiers), out


def tier_changes(h: History, since_us: int | None = None) -> tuple[list[str], list[tuple]]:
    """One row per change of a lead's tier between two of its consecutive snapshots, ordered
    by (as_of, key): the key, the tier before and after, the later snapshot's as_of. A lead's
    first snapshot is no change; with `since_us`, only changes after that instant."""
    out = []
    for key, snaps in _by_lead(h).items():
        for (_, _, before), (as_of, _, after) in zip(snaps, snaps[1:]):
            if before != after and (since_us is None or as_of > since_us):
                out.append((key, before, after, as_of))
    out.sort(key=lambda r: (r[3], r[0]))
    return [h.key, *CHANGE_COLUMNS], out


# ---------------------------------------------------------------- the same, in the database
def _window(fn: exp.Expression, descending: bool = False) -> exp.Window:
    return exp.Window(this=fn, partition_by=[_col("k")],
                      order=exp.Order(expressions=[exp.Ordered(this=_col("a"), desc=descending)]))


def _history_query(dialect: Dialect, name: str, key: str, tiers: dict[str, list[str]]
                   ) -> exp.Select:
    # a segment without tiers of its own has the default segment's
    own = [exp.Literal.string(seg) for seg in tiers if seg != DEFAULT_SEGMENT]
    segment = (exp.Case(ifs=[exp.If(this=exp.In(this=_col("segment"), expressions=own),
                                    true=_col("segment"))],
                        default=exp.Literal.string(DEFAULT_SEGMENT)) if own
               else exp.Literal.string(DEFAULT_SEGMENT))
    h = exp.select(exp.alias_(_col(AS_OF), "a"), exp.alias_(dialect.key(_col(key)), "k"),
                   exp.alias_(segment, "s"), exp.alias_(_col("tier"), "t")
                   ).from_(dialect.table(name))
    rk = exp.select(exp.alias_(_col("segment"), "s"), exp.alias_(_col("tier"), "t"),
                    exp.alias_(_col("rank"), "r")).from_(dialect.table(tiers_table(name)))
    # the tiers each row is at or above: its own and those ranked below it in its segment
    reached = (exp.select(_col("k", "h"), exp.alias_(_col("t", "o"), "t"),
                          exp.alias_(exp.Min(this=_col("a", "h")), "a"))
               .from_(exp.to_table("h").as_("h"))
               .join(exp.to_table("rk").as_("c"), on=exp.and_(
                   exp.EQ(this=_col("s", "c"), expression=_col("s", "h")),
                   exp.EQ(this=_col("t", "c"), expression=_col("t", "h"))))
               .join(exp.to_table("rk").as_("o"), on=exp.and_(
                   exp.EQ(this=_col("s", "o"), expression=_col("s", "h")),
                   exp.LTE(this=_col("r", "o"), expression=_col("r", "c"))))
               .group_by(_col("k", "h"), _col("t", "o")))
    same = exp.EQ(this=_window(exp.Anonymous(this="LAG", expressions=[_col("t")])),
                  expression=_col("t"))
    runs = exp.select(
        _col("k"), _col("a"), _col("t"),
        exp.alias_(exp.Case(ifs=[exp.If(this=same, true=exp.Literal.number(0))],
                            default=exp.Literal.number(1)), "b"),
        exp.alias_(_window(exp.RowNumber(), descending=True), "n")).from_("h")
    since = (exp.select(_col("k"), exp.alias_(exp.Max(this=exp.Case(
        ifs=[exp.If(this=exp.EQ(this=_col("b"), expression=exp.Literal.number(1)),
                    true=_col("a"))])), "a")).from_("g").group_by(_col("k")))
    pivot = [exp.alias_(exp.Max(this=exp.Case(ifs=[exp.If(
        this=exp.EQ(this=_col("t", "r"), expression=exp.Literal.string(t)), true=_col("a", "r"))])),
        f"reached_{t}", quoted=True) for t in tier_order(tiers)]
    final = (exp.select(exp.alias_(_col("k", "g"), key, quoted=True), *pivot,
                        exp.alias_(_col("t", "g"), "tier", quoted=True),
                        exp.alias_(_col("a", "si"), "tier_since", quoted=True))
             .from_(exp.to_table("g").as_("g"))
             .join(exp.to_table("si").as_("si"),
                   on=exp.EQ(this=_col("k", "si"), expression=_col("k", "g")))
             .join(exp.to_table("r").as_("r"), join_type="left",
                   on=exp.EQ(this=_col("k", "r"), expression=_col("k", "g")))
             .where(exp.EQ(this=_col("n", "g"), expression=exp.Literal.number(1)))
             .group_by(_col("k", "g"), _col("t", "g"), _col("a", "si")))
    for alias, cte in (("h", h), ("rk", rk), ("r", reached), ("g", runs), ("si", since)):
        final = final.with_(alias, as_=cte)
    return final


def _changes_query(dialect: Dialect, name: str, key: str, since_us: int | None) -> exp.Select:
    inner = exp.select(
        exp.alias_(dialect.key(_col(key)), "k"), exp.alias_(_col(AS_OF), "a"),
        exp.alias_(_col("tier"), "t"),
        exp.alias_(exp.Window(this=exp.Anonymous(this="LAG", expressions=[_col("tier")]),
                              partition_by=[dialect.key(_col(key))],
                              order=exp.Order(expressions=[exp.Ordered(this=_col(AS_OF))])), "p")
    ).from_(dialect.table(name))
    cond = exp.and_(exp.Not(this=exp.Is(this=_col("p"), expression=exp.Null())),
                    exp.NEQ(this=_col("p"), expression=_col("t")))
    if since_us is not None:
        cond = exp.and_(cond, exp.GT(this=_col("a"), expression=dialect.timestamp(since_us)))
    return (exp.select(exp.alias_(_col("k"), key, quoted=True),
                       exp.alias_(_col("p"), "from_tier", quoted=True),
                       exp.alias_(_col("t"), "to_tier", quoted=True),
                       exp.alias_(_col("a"), AS_OF, quoted=True))
            .from_(inner.subquery("x")).where(cond))


def history_sql(engine: str, db: str | None, name: str) -> tuple[list[str], list[tuple]]:
    """`lead_history` computed by the database, in one query."""
    def body(dialect: Dialect, cur: Any) -> tuple[list[str], list[tuple]]:
        _, key = _layout(cur, dialect, name)
        tiers = _read_tiers(cur, dialect, name)
        need_tiers(tiers, name)
        cur.execute(_render(dialect, _history_query(dialect, name, key, tiers)))
        n = len(tier_order(tiers))
        rows = [(str(r[0]), *(_us(v) for v in r[1:1 + n]), r[1 + n], _us(r[2 + n]))
                for r in cur.fetchall()]
        rows.sort(key=lambda r: r[0])
        return history_columns(key, tiers), rows

    return _query(engine, db, name, body)


def changes_sql(engine: str, db: str | None, name: str, since_us: int | None = None
                ) -> tuple[list[str], list[tuple]]:
    """`tier_changes` computed by the database, in one query."""
    def body(dialect: Dialect, cur: Any) -> tuple[list[str], list[tuple]]:
        _, key = _layout(cur, dialect, name)
        need_tiers(_read_tiers(cur, dialect, name), name)
        cur.execute(_render(dialect, _changes_query(dialect, name, key, since_us)))
        rows = [(str(k), f, t, _us(a)) for k, f, t, a in cur.fetchall()]
        rows.sort(key=lambda r: (r[3], r[0]))
        return [key, *CHANGE_COLUMNS], rows

    return _query(engine, db, name, body)
