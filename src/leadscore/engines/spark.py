"""Spark SQL: Java regexes (RLIKE), LOWER is full case mapping, session time zone UTC.

The runner starts one Spark session per process and registers the data as temporary
views: in local mode without `--db`, or on a standalone cluster with `--db
spark://HOST:PORT` (the driver is this process; the executors are the cluster's). A
process holds one Spark context at a time, so asking for another master stops the
session it has.
"""

from __future__ import annotations

import atexit
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .base import Dialect
from .common import prefold

if TYPE_CHECKING:
    from ..runtime.warehouses import Job

LOCAL_MASTER = "local[2]"
MASTER_CONNECT_TIMEOUT_S = 5.0  # a spark:// master that accepts no TCP connection by then is down
EXECUTOR_WAIT_S = 120.0  # how long a cluster session waits for its first executor before giving up

# What every session is given, local or on a cluster, whatever the cluster's spark-defaults.conf
# says: these fix what the SQL means (times in UTC, ANSI arithmetic and casts), and keep a batch
# job from opening a web UI or drawing progress bars on the terminal.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# Local mode only: two threads, so two shuffle partitions (a cluster keeps its own settings).
LOCAL_CONF = {"spark.sql.shuffle.partitions": "2"}

_SESSION: dict[str, Any] = {}  # master URL -> the process's one Spark session


def _engine_error(message: str) -> Exception:
    from ..runtime.warehouses import EngineError

    return EngineError(message)


def masters(url: str) -> list[tuple[str, int]]:
    """(host, port) of each master in a standalone cluster URL, spark://H:P[,H:P...]; an
    EngineError saying what --db should look like when it is not one."""
    shape = ("the spark engine's --db is a standalone cluster's master URL, spark://HOST:PORT "
             "(without --db it runs in local mode)")
    if not url.startswith("spark://"):
        raise _engine_error(f"{shape}; got {url!r}")
    found = []
    for part in url[len("spark://"):].split(","):
        host, _, port = part.rpartition(":")
        host = host.strip("[]")  # an IPv6 address is written [::1]:7077
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise _engine_error(f"{shape}; {part!r} in {url!r} is not HOST:PORT")
        found.append((host, int(port)))
    return found


def _reach(url: str) -> None:
    """Fail fast when no master of `url` accepts a connection: Spark itself would retry for a
    minute and print Java stack traces on the way."""
    import socket

    reasons = []
    for host, port in masters(url):
        try:
            with socket.create_connection((host, port), timeout=MASTER_CONNECT_TIMEOUT_S):
                return
        except OSError as err:
            reasons.append(f"{host}:{port}: {err.strerror or err}")
    raise _engine_error(f"cannot reach the Spark master at {url} ({'; '.join(reasons)}): is the "
                        "cluster up? Start a master with `spark-class "
                        "org.apache.spark.deploy.master.Master`, or fix --db")


def _await_executor(spark: Any, url: str) -> None:
    """Wait for the cluster to give the application an executor: without one every query
    would wait forever for resources."""
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus  # the driver's entry included
    deadline = time.monotonic() + EXECUTOR_WAIT_S
    while status().size() < 2:
        if time.monotonic() > deadline:
            spark.stop()
            raise _engine_error(
                f"the Spark cluster at {url} started no executor for leadscore within "
                f"{EXECUTOR_WAIT_S:.0f} s: are workers registered with free cores and memory "
                "(spark.executor.memory, 1g unless the cluster's spark-defaults.conf says)? Another "
                "application may hold every core: see the master's web UI")
        time.sleep(0.2)


def stop_session(master: str | None = None) -> None:
    """Stop the process's Spark session, if it has one (on `master`, when given), releasing
    its cluster executors."""
    for url in [u for u in _SESSION if master in (None, u)]:
        _SESSION.pop(url).stop()


atexit.register(stop_session)


def session(master: str = LOCAL_MASTER) -> Any:
    """The process's Spark session on `master`: local mode, or a spark:// cluster URL."""
    if master in _SESSION:
        if not _SESSION[master].sparkContext._jsc.sc().isStopped():
            return _SESSION[master]
        del _SESSION[master]  # stopped under us (its cluster went away): start it again
    from ..runtime.warehouses import driver

    pyspark_sql = driver("pyspark.sql", "spark", "pyspark and Java")
    local = master == LOCAL_MASTER
    if not local:
        _reach(master)
    stop_session()  # one Spark context per process
    builder = pyspark_sql.SparkSession.builder.master(master).appName("leadscore")
    for key, value in {**SESSION_CONF, **(LOCAL_CONF if local else {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # a py4j error carrying the JVM's stack trace: its first line says why
        from ..runtime.warehouses import first_line

        raise _engine_error(f"Spark could not start a session on {master}: {first_line(err)}") from None
    spark.sparkContext.setLogLevel("ERROR")
    if not local:
        _await_executor(spark, master)
    _SESSION[master] = spark
    return spark


@dataclass(frozen=True)
class Spark(Dialect):
    lower = staticmethod(prefold)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="UNIX_MICROS", expressions=[ts])

    def run(self, job: Job) -> list[tuple]:
        from ..runtime.warehouses import Tables, database_engines

        if job.leads is None or job.into:
            raise _engine_error("the spark engine scores the files given, in local mode or on a "
                                "cluster (--db spark://HOST:PORT): the schema's own tables and "
                                f"--into need {database_engines()}")
        spark = session(job.db or LOCAL_MASTER)
        tables = Tables.fresh()
        views = []
        try:
            for name, t in zip((tables.leads, tables.events), job.arrow()):
                if t is not None:
                    spark.createDataFrame(t).createOrReplaceTempView(name)
                    views.append(name)
            rows = [tuple(r) for r in spark.sql(job.sql(self, tables)).collect()]
        finally:
            for name in views:
                spark.catalog.dropTempView(name)
        return job.normalize(rows)


SPARK = Spark(name="spark", sqlglot="spark", executed=True,
              verified="pyspark in local mode (UTC session): conformance corpus and differential "
                       "tests; on a standalone cluster (a master and two workers, `--db spark://`): "
                       "a corpus sample, the account cases and differential tests",
              regex_end="\\z", regex_backtracks=True)
DATABRICKS = Spark(name="databricks", sqlglot="databricks", executed=False,
                   verified="generated only: golden SQL, parsed back with sqlglot; the reference "
                            "model's query executed on a Spark cluster with `:as_of_us` bound",
                   regex_end="\\z", regex_backtracks=True)


# docs/engines.md's Spark section (backends/support.py), written beside what it describes
DEPLOYMENT = f"""## Spark: a cluster, and Databricks

`--engine spark` runs in local mode (`{LOCAL_MASTER}`, in this process) unless `--db` names a
standalone cluster's master, `spark://HOST:PORT` (or `spark://H1:P1,H2:P2` for masters
in standby):

    leadscore run model.score --leads leads.parquet --events events.parquet \\
      --engine spark --db spark://spark-master.internal:7077 --out scores.parquet

This process is the Spark driver: it reads and checks the files (rejects and their row
numbers as on every engine), sends them to the executors as Arrow batches, runs the one
query there and collects the rows, so the input passes through the driver's memory. The
workers must be able to connect back to the driver (`spark.driver.host`, or
`SPARK_LOCAL_IP` on this machine). Whatever the cluster's `spark-defaults.conf` says, the
session gets the same settings as in local mode: the first four fix what the SQL means,
the last two keep a batch job from opening a web UI or drawing progress bars:

{chr(10).join(f"- `{k}={v}`" for k, v in SESSION_CONF.items())}

Executor sizes and shuffle partitions are the cluster's (`spark-defaults.conf` in
`$SPARK_CONF_DIR` on this machine: `spark.executor.memory`, `spark.cores.max`). A
standalone application takes every free core unless `spark.cores.max` caps it, and the
session lives as long as the process: one run for the CLI, until exit for a Python
program that scores on the cluster.
The same from Python: `leadscore.load(path).score(leads, events, as_of, engine="spark",
db="spark://HOST:PORT")`.

Errors are messages, not stack traces: a master that accepts no TCP connection within
{MASTER_CONNECT_TIMEOUT_S:.0f} s fails at once (`cannot reach the Spark master at ...`), and a
cluster that starts no executor for the application within {EXECUTOR_WAIT_S:.0f} s (no worker
registered, none with free cores or memory, another application holding every core)
fails saying so instead of waiting forever. `--into` and scoring tables already in the
cluster are not supported on Spark: for data in the cluster's own tables, run the
generated SQL there (below).

Tested: `tests/test_spark_cluster.py` starts a standalone cluster on 127.0.0.1 (a master
and two workers with one core and 1 GB each, from the pyspark distribution) and runs
`leadscore run --engine spark --db spark://127.0.0.1:PORT` on the reference model (output
byte-identical to `--engine python`), the first conformance case of every feature area and
every account case, a bounded hypothesis differential test against the Python evaluator,
and the generated Databricks SQL with its parameter bound. Not tested: YARN, Kubernetes
and Spark Connect masters (`--db` takes `spark://` only).

**Databricks** (and Spark SQL over tables you already have): print the query and run it in
a SQL warehouse, a notebook or a job.

    leadscore compile model.score --dialect databricks > lead_scores.sql

The query reads the tables the schema names (`table "main.crm.leads"`; `leads` and
`events` otherwise) and has one named parameter, `:as_of_us`, the scoring instant in
microseconds since 1970-01-01 UTC (bind it, e.g. `spark.sql(query, args={{"as_of_us":
...}})`, or bake an instant in with `--as-of`). Its functions are Spark SQL's. Run it with
`spark.sql.ansi.enabled` on (Databricks SQL's default) and, when the time columns are
`TIMESTAMP_NTZ` (read in the session's zone), `SET TIME ZONE 'UTC'`, as leadscore's own
sessions do.
"""
