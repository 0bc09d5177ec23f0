"""Spark SQL: Java regexes (RLIKE), LOWER is full case mapping, session time zone UTC.

The runner starts one local Spark session per process and registers the data as
temporary views.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .base import Dialect
from .common import prefold

if TYPE_CHECKING:
    from ..runtime.warehouses import Job

_SESSION: list[Any] = []  # the process's one Spark session, once started


def session() -> Any:
    """One local Spark session per process: UTC, no UI, two shuffle partitions."""
    if not _SESSION:
        from ..runtime.warehouses import driver

        builder = driver("pyspark.sql", "spark", "pyspark and Java").SparkSession.builder
        spark = (builder.master("local[2]").appName("leadscore")
                 .config("spark.ui.enabled", "false")
                 .config("spark.sql.session.timeZone", "UTC")
                 .config("spark.sql.shuffle.partitions", "2")
                 .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
                 .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        atexit.register(spark.stop)
        _SESSION.append(spark)
    return _SESSION[0]


@dataclass(frozen=True)
class Spark(Dialect):
    lower = staticmethod(prefold)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="UNIX_MICROS", expressions=[ts])

    def run(self, job: Job) -> list[tuple]:
        from ..runtime.warehouses import Tables

        job.in_process(self)
        spark = session()
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
              verified="pyspark in local mode (UTC session); conformance corpus and differential "
                       "tests", regex_end="\\z", regex_backtracks=True)
DATABRICKS = Spark(name="databricks", sqlglot="databricks", executed=False,
                   verified="generated only: golden SQL, parsed back with sqlglot; same functions "
                            "as Spark SQL", regex_end="\\z", regex_backtracks=True)
