"""Spark on a real standalone cluster: a master and two workers on 127.0.0.1 (the
`spark_cluster` fixture in conftest.py), leadscore's driver in this process (or in a
`leadscore run` subprocess) with `--db spark://HOST:PORT`, the executors in the workers' JVMs.

A case costs a few seconds on a cluster of this shared machine, so CI runs a representative
part of the corpus: the first case of each feature area (cases are named AREA_...), every
account case, and a bounded number of differential examples.
`LEADSCORE_SPARK_CLUSTER_CORPUS=all` runs every case.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys

import pytest
from hypothesis import given, settings

import leadscore
from conftest import SparkCluster
from corpus import ROOT, compare, load_cases, run_accounts_case, run_case
from generators import DIFFERENTIAL, Dataset, ModelCase, example_count, examples
from leadscore.backends.sql import to_sql
from leadscore.engines import get_dialect, spark
from leadscore.runtime.data import parse_timestamp, read_events, read_leads
from leadscore.runtime.engines import run
from leadscore.runtime.warehouses import EngineError, Job
from test_differential import compare as compare_rows
from test_differential import report, with_rule_columns

RUN_CASES = [c for c in load_cases() if "error" not in c.data]
ACCOUNT_CASES = [c for c in RUN_CASES if "accounts_expected" in c.data]
ALL_CASES = os.environ.get("LEADSCORE_SPARK_CLUSTER_CORPUS") == "all"
# the first case of each feature area; the account cases run below, all of them
AREAS: dict[str, object] = {}
for _case in RUN_CASES:
    AREAS.setdefault(_case.name.split("_")[0], _case)
CLUSTER_CASES = RUN_CASES if ALL_CASES else [c for c in AREAS.values() if c not in ACCOUNT_CASES]
DIFFERENTIAL_EXAMPLES = 8

REFERENCE = [str(ROOT / "examples" / "reference.score"),
             "--leads", str(ROOT / "examples" / "data" / "leads.csv"),
             "--events", str(ROOT / "examples" / "data" / "events.csv"),
             "--as-of", "2026-03-01T00:00:00Z"]


def leadscore_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leadscore", *args], capture_output=True,
                          text=True, timeout=600)


def test_the_corpus_sample_covers_every_area():
    assert len(CLUSTER_CASES) + len(ACCOUNT_CASES) >= 30
    assert {c.name.split("_")[0] for c in CLUSTER_CASES + ACCOUNT_CASES} == set(AREAS)


def test_cli_run_on_the_cluster_equals_the_python_evaluator(spark_cluster, tmp_path):
    spark.stop_session(spark_cluster.url)  # this process's application would hold every core
    out, want = tmp_path / "cluster.csv", tmp_path / "python.csv"
    ran = leadscore_cli("run", *REFERENCE, "--engine", "spark", "--db", spark_cluster.url,
                        "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert leadscore_cli("run", *REFERENCE, "--engine", "python", "--out", str(want)).returncode == 0
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) > 100
    assert out.read_bytes() == want.read_bytes()
    # the master ran it: an application of leadscore's, finished, with executors on the workers
    apps = [a for a in spark_cluster.status()["completedapps"] if a["name"] == "leadscore"]
    assert apps and apps[-1]["cores"] >= 1


def test_the_session_runs_on_the_cluster_with_the_local_settings(spark_cluster):
    session = spark.session(spark_cluster.url)
    assert session.sparkContext.master == spark_cluster.url
    executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
    assert executors >= 1
    for key, value in spark.SESSION_CONF.items():
        assert session.conf.get(key) == value, key
    assert session.sql("SELECT current_timezone()").collect()[0][0] == "UTC"
    active = [a for a in spark_cluster.status()["activeapps"] if a["name"] == "leadscore"]
    assert len(active) == 1


@pytest.mark.parametrize("case", CLUSTER_CASES, ids=lambda c: c.name)
def test_case_on_the_cluster(spark_cluster, case):
    problems = compare(run_case(case, "spark", spark_cluster.url), case.data["expected"])
    assert not problems, f"{case.name} on the Spark cluster:\n" + "\n".join(problems)


@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=lambda c: c.name)
def test_account_case_on_the_cluster(spark_cluster, case):
    problems = compare(run_accounts_case(case, "spark", spark_cluster.url),
                       case.data["accounts_expected"])
    assert not problems, f"{case.name} accounts on the Spark cluster:\n" + "\n".join(problems)


def test_cluster_agrees_with_python(spark_cluster):
    @settings(DIFFERENTIAL, max_examples=example_count(DIFFERENTIAL_EXAMPLES))
    @given(examples())
    def check(example: tuple[ModelCase, Dataset]):
        case, data = example
        model = with_rule_columns(leadscore.loads(case.text))
        key = model.ir.schema.lead_key
        py = model.score(data.leads, data.events, data.as_of, engine="python")
        other = model.score(data.leads, data.events, data.as_of, engine="spark",
                            db=spark_cluster.url)
        problems = compare_rows(case, py, other, key)
        assert not problems, report(case, data, problems, py, other).replace(
            "duckdb:", "spark cluster:")

    check()


def test_generated_databricks_sql_runs_on_the_cluster_with_its_parameter_bound(spark_cluster):
    """`leadscore compile --dialect databricks` as a Databricks user runs it: on the
    schema's tables, `:as_of_us` bound by name."""
    model = leadscore.load(REFERENCE[0]).ir
    leads = read_leads(REFERENCE[2], model.schema, strict=True)
    events = read_events(REFERENCE[4], model.schema, strict=True)
    as_of_us = parse_timestamp(REFERENCE[6])
    session = spark.session(spark_cluster.url)
    job = Job(model, leads, events, as_of_us)
    names = [job.own_tables().leads, job.own_tables().events]
    for name, table in zip(names, job.arrow()):
        session.createDataFrame(table).createOrReplaceTempView(name)
    try:
        query = to_sql(model, get_dialect("databricks"))
        assert ":as_of_us" in query
        rows = [tuple(r) for r in session.sql(query, args={"as_of_us": as_of_us}).collect()]
    finally:
        for name in names:
            session.catalog.dropTempView(name)
    assert job.normalize(rows) == run(model, leads, events, as_of_us, "python")


def test_a_cluster_with_no_worker_is_a_clean_error(spark_cluster, tmp_path, monkeypatch):
    """Without an executor every query would wait forever for resources: the session gives up
    after EXECUTOR_WAIT_S saying why, and leaves no application behind."""
    lonely = SparkCluster(spark_cluster.home, tmp_path, workers=0)
    try:
        lonely.start()
        monkeypatch.setattr(spark, "EXECUTOR_WAIT_S", 5.0)
        with pytest.raises(EngineError, match="started no executor for leadscore within 5 s"):
            spark.session(lonely.url)
        assert not lonely.status()["activeapps"]
    finally:
        assert not lonely.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def test_an_unreachable_master_is_a_clean_error():
    url = f"spark://127.0.0.1:{_closed_port()}"
    ran = leadscore_cli("run", *REFERENCE, "--engine", "spark", "--db", url)
    assert ran.returncode == 1
    assert f"error: cannot reach the Spark master at {url}" in ran.stderr
    assert "Traceback" not in ran.stderr and "Exception" not in ran.stderr


@pytest.mark.parametrize("db", ["postgresql://postgres@127.0.0.1/test", "spark://127.0.0.1",
                                "spark://127.0.0.1:99999", "spark://:7077"])
def test_a_db_that_is_not_a_master_url_is_a_clean_error(db):
    ran = leadscore_cli("run", *REFERENCE, "--engine", "spark", "--db", db)
    assert ran.returncode == 1
    assert "the spark engine's --db is a standalone cluster's master URL, spark://HOST:PORT" \
        in ran.stderr
    assert "Traceback" not in ran.stderr
