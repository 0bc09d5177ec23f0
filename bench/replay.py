"""`python -m bench.replay [N_LEADS] [SNAPSHOTS] [ENGINES]`: how `leadscore replay` writes its snapshots.

Two ways to fill a history with S weekly snapshots of the same data, in one transaction on
one connection with the data loaded once, timed alternately (best of 3):

- per as_of (what `replay` does): S statements, `DELETE` that as_of + `INSERT … <query>`;
- all at once: one `DELETE` of the S instants + one `INSERT … <q1> UNION ALL … <qS>`.

Printed, not asserted (no timed assertions in tests); docs/history.md quotes the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlglot import exp

from bench.data import AS_OF_US, US_PER_DAY, make, write
from leadscore.backends.sql import build_query
from leadscore.compiler import compile_file
from leadscore.engines import DIALECTS
from leadscore.runtime import history as H
from leadscore.runtime.data import read_events, read_leads
from leadscore.runtime.warehouses import Job

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"
URL = {"duckdb": None, "postgres": "postgresql://postgres@127.0.0.1:5432/test"}


def _snapshot(model, dialect, tables, us: int) -> exp.Select:
    q = build_query(model, dialect, us, tables.leads, tables.events)
    q.set("expressions", [*q.expressions, exp.alias_(dialect.timestamp(us), H.AS_OF, quoted=True)])
    return q


def measure(engine: str, n_leads: int, snapshots: int, folder: Path) -> dict[str, float]:
    model = compile_file(str(MODEL))
    ds = make(n_leads)
    leads_path, events_path = write(ds, folder, "parquet")
    leads, events = read_leads(leads_path, model.schema), read_events(events_path, model.schema)
    as_ofs = tuple(AS_OF_US - 7 * US_PER_DAY * i for i in range(snapshots))[::-1]
    dialect = DIALECTS[engine]
    db = URL[engine] or str(folder / "h.duckdb")
    table = "bench_replay_scores"
    # the table, created by one real snapshot
    dialect.run(Job(model, leads, events, as_ofs[0], db=db, history=table, fetch=False))
    job = Job(model, leads, events, as_ofs[-1], db=db)
    c = dialect.connect(db, write=True)
    cur = c.cur
    tables = (job.load_dbapi(cur, dialect, "%s") if engine != "duckdb" else
              _duck_tables(c.con, job))
    cols = [exp.to_identifier(n, quoted=True) for n, _ in H.snapshot_columns(model)[1:]]
    target = exp.Schema(this=dialect.table(table),
                        expressions=[*cols, exp.to_identifier(H.AS_OF, quoted=True)])
    into = f"INSERT INTO {dialect.render(target, pretty=False)} "

    def per_as_of() -> None:
        for us in as_ofs:
            cur.execute(dialect.render(exp.delete(dialect.table(table), where=exp.EQ(
                this=exp.column(H.AS_OF, quoted=True), expression=dialect.timestamp(us))), False))
            cur.execute(into + dialect.render(_snapshot(model, dialect, tables, us), False))

    def all_at_once() -> None:
        cur.execute(dialect.render(exp.delete(dialect.table(table), where=exp.In(
            this=exp.column(H.AS_OF, quoted=True),
            expressions=[dialect.timestamp(us) for us in as_ofs])), False))
        # each query has its own WITH and ORDER BY: a derived table each
        parts = [exp.select(exp.Star()).from_(_snapshot(model, dialect, tables, us).subquery(f"r{i}"))
                 for i, us in enumerate(as_ofs)]
        union = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False)
        cur.execute(into + dialect.render(union, False))

    best = {"per as_of": float("inf"), "all at once": float("inf")}
    for _ in range(3):
        for name, fn in (("per as_of", per_as_of), ("all at once", all_at_once)):
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    cur.execute(f"DROP TABLE {dialect.table_sql(table)}")
    cur.execute(f"DROP TABLE {dialect.table_sql(H.tiers_table(table))}")
    c.con.commit()
    c.con.close()
    return best


def _duck_tables(con, job):
    from leadscore.engines.duckdb import _register

    return _register(con, job)


def main() -> None:
    n_leads = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    snapshots = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    for engine in (sys.argv[3].split(",") if len(sys.argv) > 3 else ("duckdb", "postgres")):
        with tempfile.TemporaryDirectory() as tmp:
            best = measure(engine, n_leads, snapshots, Path(tmp))
        print(f"{engine}: {n_leads} leads x {snapshots} snapshots: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))


if __name__ == "__main__":
    main()
