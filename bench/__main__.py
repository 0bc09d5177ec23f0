"""`python -m bench [--quick]`: every performance target, measured; see docs/performance.md.

The full run writes docs/performance.md; `--quick` (smaller data, fewer repeats, under two
minutes on a 2-core machine) only prints. Timings are the best of several runs, with the
two sides of a ratio interleaved, so that other work on the machine disturbs both alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"


@dataclass
class Result:
    section: str
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: reported, no target
    note: str = ""


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)

    def add(self, *args, **kwargs) -> Result:
        r = Result(*args, **kwargs)
        self.results.append(r)
        mark = "" if r.ok is None else ("PASS" if r.ok else "FAIL")
        print(f"  {r.name:<58} {r.value:>22}  {r.target:<14} {mark}", flush=True)
        return r


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def interleaved(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best time of each, alternating a and b so that machine noise hits both."""
    ta, tb = [], []
    for _ in range(repeat):
        for fn, out in ((a, ta), (b, tb)):
            gc.collect()
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return min(ta), min(tb)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} leads/s"


def close_rows(a: list[tuple], b: list[tuple]) -> int:
    """Rows that differ: numbers beyond 1e-7 (absolute) and 1e-9 (relative), anything else at
    all. Fading weights lie on the language's 10^-9 grid (docs/language.md, semantics 6): a
    hand scorer's float powers differ by up to 5e-10 per event and point."""
    import math

    bad = 0
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-7):
                    bad += 1
                    break
            elif u != v:
                bad += 1
                break
    return bad


def plain(leads, events):
    """Leads/Events as plain lists (what data.py gives): the input both Python scorers take."""
    from leadscore.runtime.data import Events, Leads

    return (Leads(list(leads.keys), dict(leads.columns), list(leads.rows), leads.read),
            Events(list(events.leads), list(events.times), list(events.types),
                   dict(events.columns), events.read))


# ---------------------------------------------------------------- sections
def python_vs_hand(rep: Report, model, leads, events, as_of_us: int, repeat: int) -> float:
    from bench.handwritten import score_python
    from leadscore.backends.python import compile_python
    from leadscore.runtime.engines import run_python

    ev = compile_python(model)
    ours = run_python(model, leads, events, as_of_us, ev)
    hand = score_python(leads, events, as_of_us)
    bad = close_rows(ours, hand)
    t_gen, t_hand = interleaved(lambda: run_python(model, leads, events, as_of_us, ev),
                                lambda: score_python(leads, events, as_of_us), repeat)
    n = len(leads.keys)
    rep.add("python", "hand-written Python scorer", rate(n, t_hand), note=f"{t_hand:.3f} s")
    rep.add("python", "generated Python evaluator", rate(n, t_gen), note=f"{t_gen:.3f} s")
    rep.add("python", "generated / hand-written (time)", f"{t_gen / t_hand:.2f}", "<= 1.0",
            t_gen / t_hand <= 1.0, note=f"{bad} of {n} rows differ")
    return n / t_gen


def duckdb_vs_hand(rep: Report, model, ds, as_of_us: int, repeat: int) -> float:
    import duckdb

    from bench.handwritten import HAND_SQL
    from leadscore.backends.sql import to_sql

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("l_src", ds.leads)
    con.register("e_src", ds.events)
    con.execute("CREATE TABLE leads AS SELECT * REPLACE (created_at::TIMESTAMP AS created_at) "
                "FROM l_src")
    con.execute("CREATE TABLE events AS SELECT * REPLACE (occurred_at::TIMESTAMP AS occurred_at) "
                "FROM e_src")
    gen = to_sql(model, as_of_us=as_of_us, leads="leads", events="events", pretty=False)
    hand = HAND_SQL.format(as_of_us=as_of_us)
    bad = close_rows(con.sql(gen).fetchall(), con.sql(hand).fetchall())
    t_gen, t_hand = interleaved(lambda: con.sql(gen).fetchall(), lambda: con.sql(hand).fetchall(),
                                repeat)
    n = ds.n_leads
    rep.add("duckdb", "hand-written DuckDB SQL (query + fetch)", rate(n, t_hand),
            note=f"{t_hand:.3f} s")
    rep.add("duckdb", "generated DuckDB SQL (query + fetch)", rate(n, t_gen), note=f"{t_gen:.3f} s")
    rep.add("duckdb", "generated / hand-written (time)", f"{t_gen / t_hand:.2f}", "<= 1.1",
            t_gen / t_hand <= 1.1, note=f"{bad} of {n} rows differ")
    return n / t_gen


def peers(rep: Report, model, leads, events, as_of_us: int, sample: int,
          ours: dict[str, Callable[[], float]]) -> None:
    from bench import peers as p
    from leadscore.runtime.data import Events, Leads
    from leadscore.runtime.engines import run_python

    keys = set(leads.keys[:sample])
    lp = Leads(leads.keys[:sample], {k: v[:sample] for k, v in leads.columns.items()},
               leads.rows[:sample], sample)
    mask = [k in keys for k in events.leads]
    ep = Events(*[[x for x, m in zip(col, mask) if m] for col in (events.leads, events.times,
                                                                   events.types)],
                {k: [x for x, m in zip(v, mask) if m] for k, v in events.columns.items()})
    expected = run_python(model, lp, ep, as_of_us)
    fastest_whole = 0.0
    for name, (package, make) in p.PEERS.items():
        try:
            score = make()
        except ImportError:
            rep.add("peers", f"{name} (pip install -e '.[bench]')", "not installed")
            continue
        t0 = time.perf_counter()
        rows = sorted(score(p.documents(lp, ep, as_of_us)))
        t = time.perf_counter() - t0
        bad = close_rows(expected, rows)
        whole = name in ("zen-engine", "rule-engine", "json-logic")
        how = "engine aggregates the events" if whole else "events aggregated in Python"
        rep.add("peers", f"{name} {p.version(package)}", rate(sample, t),
                note=f"{how}; agrees with leadscore on {sample - bad} of {sample} leads")
        if whole and bad == 0:
            fastest_whole = max(fastest_whole, sample / t)
    if fastest_whole:
        for engine, measure in ours.items():  # again now: the same machine load as the peers
            r = measure()
            ratio = r / fastest_whole
            rep.add("peers", f"leadscore {engine} / fastest whole-job peer", f"{ratio:.0f}x",
                    ">= 20x", ratio >= 20)


# Peak memory of this process: VmHWM (getrusage's ru_maxrss would include the parent's
# memory at fork, since it survives exec)
HWM = """def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

SCALE_SCRIPT = r"""
import gc, json, resource, sys, time
sys.path.insert(0, {root!r})
from bench.data import make, AS_OF_US
import leadscore
from leadscore.runtime.fastload import ArrowLeads, ArrowEvents
from leadscore.runtime.engines import run
engine, n = sys.argv[1], int(sys.argv[2])
{hwm}
model = leadscore.load({model!r}).ir
ds = make(n, 10, fixed=True)
ev = ds.events.set_column(1, "occurred_at", ds.events.column("occurred_at").cast("int64"))
lt = ds.leads.set_column(1, "created_at", ds.leads.column("created_at").cast("int64"))
lt = lt.set_column(5, "employees", lt.column("employees").cast("double"))
import numpy as np
leads = ArrowLeads(lt, "id", np.arange(2, n + 2), n, [], [])
events = ArrowEvents(ev, ("lead_id", "occurred_at", "kind"), ev.num_rows, [], [])
del ds
run(model, ArrowLeads(lt.slice(0, 100), "id", np.arange(2, 102), 100, [], []),
    ArrowEvents(ev.slice(0, 1000), ("lead_id", "occurred_at", "kind"), 1000, [], []),
    AS_OF_US, engine)  # warm-up: imports, DuckDB's first connection
gc.collect()
before = hwm()
t = time.perf_counter()
rows = run(model, leads, events, AS_OF_US, engine)
el = time.perf_counter() - t
peak = hwm()
print(json.dumps({{"seconds": el, "peak_mb": peak, "data_mb": before, "rows": len(rows)}}))
"""


def scaling(rep: Report, sizes: list[int]) -> None:
    """Each size in a fresh process: time and peak memory of one scoring run."""
    script = SCALE_SCRIPT.format(root=str(ROOT), model=str(MODEL), hwm=HWM)
    for engine in ("duckdb", "python"):
        per_lead = []
        for n in sizes:
            out = subprocess.run([sys.executable, "-c", script, engine, str(n)], check=True,
                                 capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            per_lead.append(r["seconds"] / n)
            rep.add("scaling", f"{engine}: {n:,} leads, {10 * n:,} events", f"{r['seconds']:.2f} s",
                    note=f"{rate(n, r['seconds'])}; peak RSS {r['peak_mb']:,.0f} MB "
                         f"(data loaded: {r['data_mb']:,.0f} MB)")
        growth = per_lead[-1] / per_lead[-2]
        rep.add("scaling", f"{engine}: time per lead, {sizes[-1]:,} vs {sizes[-2]:,} leads",
                f"{growth:.2f}x", "<= 1.5x", growth <= 1.5,
                note="linear growth: constant time per lead")


BIG_SCRIPT = r"""
import json, os, resource, sys, threading, time
sys.path.insert(0, {root!r})
import duckdb
import leadscore
from leadscore.backends.sql import to_sql
from bench.data import AS_OF_US
folder, limit = sys.argv[1], sys.argv[2]
{hwm}
model = leadscore.load({model!r}).ir
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
spill = os.path.join(folder, "spill")
if limit != "none":
    con.execute(f"SET memory_limit = '{{limit}}'")
    con.execute(f"SET temp_directory = '{{spill}}'")
con.execute(f"CREATE TABLE leads AS SELECT * REPLACE (created_at::TIMESTAMP AS created_at) "
            f"FROM '{{folder}}/leads.parquet'")
con.execute(f"CREATE TABLE events AS SELECT * REPLACE (occurred_at::TIMESTAMP AS occurred_at) "
            f"FROM '{{folder}}/events.parquet'")
query = to_sql(model, as_of_us=AS_OF_US, leads="leads", events="events", pretty=False)
spilled = [0]
done = threading.Event()
def watch():
    while not done.is_set():
        size = 0
        for root, _, files in os.walk(spill):
            for f in files:
                try:
                    size += os.path.getsize(os.path.join(root, f))
                except OSError:
                    pass
        spilled[0] = max(spilled[0], size)
        time.sleep(0.02)
threading.Thread(target=watch, daemon=True).start()
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE result AS {{query}}")
    times.append(time.perf_counter() - t)
done.set()
# totals rounded: DuckDB adds doubles in parallel, so their last bits vary from run to run
check = con.execute("SELECT count(*), sum(hash(id, round(fit, 6), round(engagement, 6), "
                    "round(total, 6), segment, tier, held_from, disqualified_by, grade)) "
                    "FROM result").fetchone()
print(json.dumps({{"seconds": min(times), "peak_mb": hwm(), "spilled_mb": spilled[0] / 2**20,
    "check": [str(c) for c in check]}}))
"""


def ten_million(rep: Report, folder: Path, repeat: int) -> None:
    from bench.data import make, write

    make_t = time.perf_counter()
    ds = make(1_000_000, 10, fixed=True)
    write(ds, folder, "parquet")
    write(ds, folder, "csv")  # for the memory comparison
    del ds
    gc.collect()
    rep.details["10M data"] = f"made and written in {time.perf_counter() - make_t:.1f} s"
    script = BIG_SCRIPT.format(root=str(ROOT), model=str(MODEL), hwm=HWM)
    results = {}
    for limit in ("none", "1GB", "300MB"):
        out = subprocess.run([sys.executable, "-c", script, str(folder), limit, str(repeat)],
                             check=True, capture_output=True, text=True)
        results[limit] = r = json.loads(out.stdout.strip().splitlines()[-1])
        name = "no memory_limit" if limit == "none" else f"memory_limit {limit}"
        target, ok = ("<= 5 s", r["seconds"] <= 5.0) if limit == "none" else ("", None)
        rep.add("10M", f"duckdb: 10,000,000 events, 1,000,000 leads, {name}",
                f"{r['seconds']:.2f} s", target, ok,
                note=f"peak RSS {r['peak_mb']:,.0f} MB, spilled {r['spilled_mb']:,.0f} MB")
    same = all(r["check"] == results["none"]["check"] for r in results.values())
    lowest = results["300MB"]
    rep.add("10M", "memory_limit 300MB honoured (peak RSS below the unlimited run's), "
            "same results", f"{lowest['peak_mb']:,.0f} MB",
            f"< {results['none']['peak_mb']:,.0f} MB",
            same and lowest["peak_mb"] < results["none"]["peak_mb"],
            note="results identical" if same else "RESULTS DIFFER")


def compile_time(rep: Report, repeat: int) -> None:
    from bench.bigmodel import model_text
    from leadscore.backends.python import compile_python
    from leadscore.backends.sql import to_sql
    from leadscore.compiler import compile_source

    text = model_text(2000)
    parts: dict[str, float] = {}

    def once():
        t = time.perf_counter()
        m = compile_source(text, "big.score")
        t1 = time.perf_counter()
        to_sql(m, as_of_us=0, pretty=False)
        t2 = time.perf_counter()
        compile_python(m)
        t3 = time.perf_counter()
        if not parts or t3 - t < sum(parts.values()):
            parts.update(check=t1 - t, sql=t2 - t1, python=t3 - t2)

    total = best(once, repeat)
    split = dict(parts)  # of the run with the collector on
    # the library leaves the collector alone; the CLI pauses it for its one command
    gc.disable()
    try:
        paused = best(once, repeat)
    finally:
        gc.enable()
    rep.add("compile", "2,000-rule model: parse, check, IR, SQL and Python", f"{total:.2f} s",
            "<= 1 s", total <= 1.0,
            note=f"parse+check+IR {split['check']:.2f} s, SQL {split['sql']:.2f} s, "
                 f"Python {split['python']:.2f} s; with the collector paused as the CLI "
                 f"runs it: {paused:.2f} s")


def streaming(rep: Report, ds) -> None:
    import leadscore

    model = leadscore.load(MODEL)
    stream = model.stream()
    for lead in ds.leads.to_pylist():
        stream.lead(lead)
    events = ds.events.to_pylist()
    for e in events:  # microseconds since the epoch, as a service would pass them
        e["occurred_at"] = int(e["occurred_at"].timestamp()) * 1_000_000
    lat = []
    update = stream.update
    clock = time.perf_counter_ns
    gc.collect()
    start = time.perf_counter()
    for e in events:
        t = clock()
        update(e)
        lat.append(clock() - t)
    total = time.perf_counter() - start
    lat.sort()
    p50, p99, p999 = (lat[int(len(lat) * q)] / 1000 for q in (0.5, 0.99, 0.999))
    rep.add("stream", f"update(event) -> row, {len(events):,} events", f"{len(events) / total:,.0f}/s",
            note=f"p50 {p50:.1f} µs, p99.9 {p999:.1f} µs, max {lat[-1] / 1000:.0f} µs")
    rep.add("stream", "update latency p99 (reference model)", f"{p99:.1f} µs", "< 50 µs", p99 < 50)


# ---------------------------------------------------------------- report
def machine() -> dict[str, str]:
    import duckdb
    import pyarrow
    import sqlglot

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        ram = f"{mem / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        ram = "unknown"
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram,
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(), "duckdb": duckdb.__version__,
            "sqlglot": sqlglot.__version__, "pyarrow": pyarrow.__version__,
            "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def markdown(rep: Report, info: dict[str, str], quick: bool, seconds: float) -> str:
    from bench.notes import NOTES

    lines = ["# Performance", "",
             "Generated by `python -m bench` (the full run; `--quick` prints a smaller run and",
             "writes nothing). Numbers are best-of-N wall times on the machine below; the two",
             "sides of each ratio are measured alternately in one process on the same data.", "",
             "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [f"| date | {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} |",
              f"| load average at end | {' '.join(f'{x:.1f}' for x in os.getloadavg())} |",
              f"| bench run time | {seconds:.0f} s{' (quick)' if quick else ''} |", "",
              "## Results", "",
              "| section | measurement | value | target | pass | notes |",
              "|---|---|---|---|---|---|"]
    for r in rep.results:
        mark = "" if r.ok is None else ("pass" if r.ok else "**FAIL**")
        lines.append(f"| {r.section} | {r.name} | {r.value} | {r.target} | {mark} | {r.note} |")
    for k, v in rep.details.items():
        lines += ["", f"{k}: {v}"]
    return "\n".join(lines) + "\n\n" + NOTES


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller data, fewer repeats; prints only")
    ap.add_argument("--out", default=None, help="write the report here (default: "
                    "docs/performance.md for a full run, nothing for --quick)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip")
    args = ap.parse_args()
    start = time.perf_counter()
    skip = set(filter(None, args.skip.split(",")))
    quick = args.quick
    sys.path.insert(0, str(ROOT))
    import leadscore
    from bench.data import AS_OF_US, make, write
    from leadscore.runtime import data

    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    model = leadscore.load(MODEL).ir
    n = 30_000 if quick else 100_000
    repeat = 2 if quick else 5
    ds = make(n)
    tmp = Path(tempfile.mkdtemp(prefix="leadscore-bench-"))
    rep = Report()
    try:
        write(ds, tmp, "csv")
        write(ds, tmp, "parquet")
        leads, events = plain(data.read_leads(tmp / "leads.csv", model.schema),
                              data.read_events(tmp / "events.csv", model.schema))
        print(f"data: {ds.n_leads:,} leads, {ds.n_events:,} events (reference model)", flush=True)
        ours = {}
        if "python" not in skip:
            print("Python evaluator vs hand-written Python", flush=True)
            ours["python"] = python_vs_hand(rep, model, leads, events, AS_OF_US, repeat)
        if "duckdb" not in skip:
            print("DuckDB: generated vs hand-written SQL", flush=True)
            ours["duckdb"] = duckdb_vs_hand(rep, model, ds, AS_OF_US, repeat)
        jobs = 2 if quick else 5  # whole-process runs of each side, alternated (bench/jobs.py)
        if "e2e" not in skip:
            from bench.duckdb_jobs import duckdb_jobs
            from bench.python_jobs import python_jobs

            print("whole jobs: leadscore run and the API against hand-written jobs", flush=True)
            duckdb_jobs(rep, tmp, jobs)
            python_jobs(rep, tmp, jobs)
        if "indb" not in skip:
            from bench.indb import in_database

            print("in the database: PostgreSQL in place against psql", flush=True)
            try:
                in_database(rep, tmp, max(2, jobs // 2))
            except Exception as err:  # no server here: say so, measure the rest
                rep.add("in-database", "PostgreSQL in place", "not measured", note=str(err)[:200])
        if "startup" not in skip:
            from bench.startup import startup

            print("start-up: leadscore check against ruff check", flush=True)
            startup(rep, 5 if quick else 10)
        if "peers" not in skip:
            print("peer rule engines (the whole job on a sample of leads)", flush=True)
            again = {}
            if "python" in ours:
                from leadscore.backends.python import compile_python
                from leadscore.runtime.engines import run_python

                ev = compile_python(model)
                again["python"] = lambda: n / best(
                    lambda: run_python(model, leads, events, AS_OF_US, ev), repeat)
            if "duckdb" in ours:
                again["duckdb"] = lambda: ours["duckdb"]
            peers(rep, model, leads, events, AS_OF_US, 500 if quick else 3000, again)
        if "stream" not in skip:
            print("real-time scoring: Model.stream()", flush=True)
            streaming(rep, make(5_000 if quick else 20_000, seed=7))
        if "compile" not in skip:
            print("compile time", flush=True)
            compile_time(rep, 2 if quick else 3)
        if "lsp" not in skip:
            from bench.lsp import lsp_latency

            print("the language server on a 2,000-rule model", flush=True)
            lsp_latency(rep, 5 if quick else 15)
        if "scaling" not in skip:
            print("scaling (each size in a fresh process)", flush=True)
            scaling(rep, [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000])
        if "10m" not in skip and not quick:
            print("10,000,000 events on DuckDB", flush=True)
            ten_million(rep, tmp / "big", 2)
            from bench.duckdb_jobs import memory

            print("peak memory of the 10,000,000-event job against the hand job", flush=True)
            memory(rep, tmp / "big")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - start
    failed = [r for r in rep.results if r.ok is False]
    print(f"\n{len(rep.results)} measurements, {sum(r.ok is True for r in rep.results)} targets met, "
          f"{len(failed)} missed; {seconds:.0f} s", flush=True)
    out = args.out or (None if quick else str(ROOT / "docs" / "performance.md"))
    if out:
        Path(out).write_text(markdown(rep, info, quick, seconds), encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
