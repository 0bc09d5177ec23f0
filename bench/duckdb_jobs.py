"""The DuckDB jobs a user runs, whole process against whole process (bench/jobs.py):

- `leadscore run --engine duckdb`, CSV in and out, against a DuckDB script doing the same
  work by hand (read_csv, the hand-written query, COPY to CSV);
- the same with Parquet in;
- the scoring tables already in a DuckDB file (`--db FILE --out`), against the hand query
  and COPY in that file.

Both sides are processes started alike (`python ...`), so interpreter start-up is on both.
`python -m bench.duckdb_jobs hand FORMAT FOLDER OUT [DB]` is the hand side.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from .jobs import Timing, alternate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"
TARGET = 1.2  # issue 12: each ratio <= 1.2
AS_OF = "2026-03-01T00:00:00Z"


class _Report(Protocol):
    def add(self, section: str, name: str, value: str, target: str = "", ok: bool | None = None,
            note: str = "") -> object: ...


def hand(fmt: str, folder: Path, out: Path, db: str | None = None) -> None:
    """The hand job: DuckDB's own readers, HAND_SQL, COPY; or, with `db`, the hand query and
    COPY on the tables already in that file."""
    import duckdb

    sys.path.insert(0, str(ROOT))
    from bench.data import AS_OF_US
    from bench.handwritten import HAND_SQL

    con = duckdb.connect(db or ":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if db is None:
        reader = "read_csv" if fmt == "csv" else "read_parquet"
        con.execute(f"CREATE TABLE leads AS SELECT * REPLACE (created_at::TIMESTAMP AS created_at) "
                    f"FROM {reader}('{folder / f'leads.{fmt}'}')")
        con.execute(f"CREATE TABLE events AS SELECT * REPLACE (occurred_at::TIMESTAMP AS "
                    f"occurred_at) FROM {reader}('{folder / f'events.{fmt}'}')")
    con.execute(f"COPY ({HAND_SQL.format(as_of_us=AS_OF_US)}) TO '{out}' (HEADER)")


def _in_db_model(folder: Path) -> Path:
    """The reference model reading the tables `leads` and `events` of a database file."""
    text = MODEL.read_text(encoding="utf-8")
    text = text.replace("lead {", 'lead {\n    table "leads"', 1).replace(
        "event {", 'event {\n    table "events"', 1)
    path = folder / "in_db.score"
    path.write_text(text, encoding="utf-8")
    return path


def _db(folder: Path) -> Path:
    import duckdb

    path = folder / "scoring.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE leads AS SELECT * REPLACE (created_at::TIMESTAMP AS created_at) "
                f"FROM read_parquet('{folder / 'leads.parquet'}')")
    con.execute(f"CREATE TABLE events AS SELECT * REPLACE (occurred_at::TIMESTAMP AS occurred_at) "
                f"FROM read_parquet('{folder / 'events.parquet'}')")
    con.close()
    return path


def _row(rep: _Report, name: str, ours: Timing, theirs: Timing, check: str) -> None:
    ratio = ours.median / theirs.median
    rep.add("e2e", f"{name}: leadscore", f"{ours.median:.2f} s", note=f"{ours.spread}; peak "
            f"{ours.peak:,.0f} MB")
    rep.add("e2e", f"{name}: by hand", f"{theirs.median:.2f} s", note=f"{theirs.spread}; peak "
            f"{theirs.peak:,.0f} MB")
    rep.add("e2e", f"{name}: ratio", f"{ratio:.2f}", f"<= {TARGET}", ratio <= TARGET, note=check)


def _same(ours: Path, theirs: Path) -> str:
    """Whether both wrote the same rows: text exactly, numbers within 1e-6 (the hand query's
    float powers against the language's 1e-9 grid of fading weights, DuckDB's parallel sums)."""
    import csv
    import math

    def rows(p: Path) -> list[list[str]]:
        with p.open(newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            next(r)
            return sorted(r)

    def near(x: str, y: str) -> bool:
        try:
            return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-6)
        except ValueError:
            return x == y

    a, b = rows(ours), rows(theirs)
    bad = sum(len(x) != len(y) or not all(near(u, v) for u, v in zip(x, y)) for x, y in zip(a, b))
    bad += abs(len(a) - len(b))
    return "outputs agree" if bad == 0 else f"OUTPUTS DIFFER ({bad} rows)"


def duckdb_jobs(rep: _Report, folder: Path, repeat: int) -> None:
    """Every DuckDB row; `folder` holds leads/events as .csv and .parquet (bench/data.py)."""
    py = sys.executable
    run = [py, "-m", "leadscore.cli", "run"]
    for fmt in ("csv", "parquet"):
        out, hand_out = folder / f"ours_{fmt}.csv", folder / f"hand_{fmt}.csv"
        ours = [*run, str(MODEL), "--leads", str(folder / f"leads.{fmt}"), "--events",
                str(folder / f"events.{fmt}"), "--as-of", AS_OF, "--out", str(out)]
        theirs = [py, "-m", "bench.duckdb_jobs", "hand", fmt, str(folder), str(hand_out)]
        a, b = alternate(ours, theirs, repeat, cwd=str(ROOT))
        _row(rep, f"duckdb, {fmt} in, CSV out", a, b, _same(out, hand_out))
    db = _db(folder)
    out, hand_out = folder / "ours_db.csv", folder / "hand_db.csv"
    ours = [*run, str(_in_db_model(folder)), "--engine", "duckdb", "--db", str(db), "--as-of",
            AS_OF, "--out", str(out)]
    theirs = [py, "-m", "bench.duckdb_jobs", "hand", "db", str(folder), str(hand_out), str(db)]
    a, b = alternate(ours, theirs, repeat, cwd=str(ROOT))
    _row(rep, "duckdb, tables in a DuckDB file, CSV out", a, b, _same(out, hand_out))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "hand":
        hand(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]),
             sys.argv[5] if len(sys.argv) > 5 else None)
    elif len(sys.argv) == 2:  # python -m bench.duckdb_jobs FOLDER: print the rows
        class _Print:
            def add(self, section, name, value, target="", ok=None, note=""):
                print(f"{name:<50} {value:>10} {target:<8} {'' if ok is None else ok} {note}")

        duckdb_jobs(_Print(), Path(sys.argv[1]), 3)
    else:
        sys.exit("usage: python -m bench.duckdb_jobs FOLDER | hand FORMAT FOLDER OUT [DB]")


def memory(rep: _Report, folder: Path) -> None:
    """Peak memory of the 1M-lead / 10M-event job, CSV in and out, against the hand job
    (target: within 1.3x), and again under `--memory-limit`, which must spill and hold."""
    from .jobs import once

    py = sys.executable
    out, hand_out = folder / "ours_big.csv", folder / "hand_big.csv"
    ours = [py, "-m", "leadscore.cli", "run", str(MODEL), "--leads", str(folder / "leads.csv"),
            "--events", str(folder / "events.csv"), "--as-of", AS_OF, "--out", str(out)]
    theirs = [py, "-m", "bench.duckdb_jobs", "hand", "csv", str(folder), str(hand_out)]
    t_ours, mb_ours = once(ours, str(ROOT))
    t_hand, mb_hand = once(theirs, str(ROOT))
    ratio = mb_ours / mb_hand
    rep.add("memory", "1M leads / 10M events, CSV: peak RSS leadscore / hand", f"{ratio:.2f}",
            "<= 1.3", ratio <= 1.3, note=f"{mb_ours:,.0f} MB in {t_ours:.1f} s vs {mb_hand:,.0f} MB "
            f"in {t_hand:.1f} s; {_same(out, hand_out)}")
    limited = folder / "ours_big_limited.csv"
    t_lim, mb_lim = once([*ours[:-1], str(limited), "--memory-limit", "500MB"], str(ROOT))
    same = _same(limited, out)  # spilling changes the order DuckDB adds in
    rep.add("memory", "same job with --memory-limit 500MB: peak RSS", f"{mb_lim:,.0f} MB",
            f"< {mb_ours:,.0f} MB", mb_lim < mb_ours and same == "outputs agree",
            note=f"{t_lim:.1f} s; {same}")
