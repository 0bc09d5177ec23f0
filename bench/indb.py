"""PostgreSQL in place: `leadscore run --engine postgres --into` on tables already in the
database against `psql` running the hand-written query as CREATE TABLE AS, the same work.

`in_database(rep, folder, repeat)` loads folder/leads.parquet and folder/events.parquet
into a fresh schema (dropped after), checks that both sides write the same table (every
row: text exactly, numbers within 1e-6), then times the two commands as processes,
alternated (bench/jobs.py).
"""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.jobs import alternate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"
URL = "postgresql://postgres@127.0.0.1:5432/test"
PSQL = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "test"]
AS_OF = "2026-03-01T00:00:00Z"
TARGET = 1.3

# The reference model (bench/handwritten.py HAND_SQL) in PostgreSQL as an analyst fluent in
# it would write it: FILTER clauses, one GROUP BY over the events, the scores in one pass.
# Text is lower-cased as the model compares it; `{schema}` holds `leads` and `events`.
HAND_PG = """
CREATE TABLE {into} AS
WITH agg AS (
  SELECT lead_id,
    count(*) FILTER (WHERE kind = 'email_open' AND age < 90 * 86400000000) AS opens,
    count(*) FILTER (WHERE kind = 'email_click') AS clicks,
    count(*) FILTER (WHERE kind = 'page_view' AND starts_with(page, '/lp/')) AS lp,
    count(*) FILTER (WHERE kind = 'form_submit' AND asset IS NOT NULL) AS downloads,
    count(*) FILTER (WHERE kind = 'page_view' AND page = '/pricing') AS pricing,
    count(*) FILTER (WHERE kind = 'page_view' AND page = '/pricing'
                     AND age < 30 * 86400000000) AS pricing_30d,
    count(*) FILTER (WHERE kind = 'demo_request') AS demos,
    sum(power(0.5, age / 86400000000.0 / 30)) FILTER (WHERE kind = 'webinar') AS webinar_w,
    count(*) FILTER (WHERE kind = 'page_view' AND age < 7 * 86400000000) AS views_7d,
    count(*) FILTER (WHERE kind = 'page_view' AND starts_with(page, '/careers')) AS careers,
    count(*) FILTER (WHERE kind = 'unsubscribe') AS unsub,
    min(age) AS last_age
  FROM (SELECT lead_id, lower(kind) AS kind, lower(page) AS page, asset,
               {as_of_us} - (extract(epoch FROM occurred_at) * 1000000)::bigint AS age
        FROM {schema}.events) e
  WHERE age >= 0
  GROUP BY lead_id
),
fit AS (
  SELECT l.id, l.employees, lower(l.email) AS email, a.*,
    {as_of_us} - (extract(epoch FROM l.created_at) * 1000000)::bigint AS created_age,
    CASE WHEN lower(industry) IN ('software', 'saas', 'it services') THEN 20 ELSE 0 END
    + CASE WHEN lower(title) ~ '(chief|head|director|vp)' THEN 15 ELSE 0 END
    + CASE WHEN employees >= 200 THEN 10 ELSE 0 END
    + CASE WHEN lower(country) IN ('cr', 'pa') THEN 8 ELSE 0 END
    + CASE WHEN lower(title) ~ 'student' THEN -30 ELSE 0 END
    + CASE WHEN right(lower(email), 10) = '@gmail.com' THEN -10 ELSE 0 END AS fit
  FROM {schema}.leads l LEFT JOIN agg a ON a.lead_id = l.id
),
eng AS (
  SELECT *, least(150,
      least(coalesce(opens, 0), 10) + least(5 * coalesce(clicks, 0), 25)
      + least(15 * coalesce(lp, 0), 45)
      + CASE WHEN downloads > 0 THEN least(25 + 5 * (downloads - 1), 40) ELSE 0 END
      + CASE WHEN pricing > 0 THEN 30 ELSE 0 END + CASE WHEN demos > 0 THEN 50 ELSE 0 END
      + 20 * coalesce(webinar_w, 0.0) + CASE WHEN views_7d >= 3 THEN 10 ELSE 0 END
      + greatest(-10 * coalesce(careers, 0), -20) + CASE WHEN unsub > 0 THEN -50 ELSE 0 END
    )::double precision AS eng0,
    greatest(0, floor(coalesce(last_age, created_age) / 86400000000 / 30.0)) AS idle_periods
  FROM fit
),
total AS (
  SELECT *,
    CASE WHEN eng0 > 0 THEN greatest(0, eng0 - 10 * coalesce(idle_periods, 0)) ELSE eng0 END
      AS engagement
  FROM eng
),
tiers AS (
  SELECT *, greatest(0, least(fit + engagement, 200))::double precision AS total,
    CASE WHEN right(email, 10) = '@rival.com' THEN 'competitor' END AS disqualified_by,
    CASE WHEN employees >= 1000 THEN 'enterprise' WHEN employees < 50 THEN 'smb'
         ELSE 'default' END AS segment
  FROM total
),
thresholds AS (
  SELECT *,
    CASE WHEN segment = 'enterprise' THEN 60 ELSE 40 END AS t_nurture,
    CASE WHEN segment = 'enterprise' THEN 140 ELSE 100 END AS t_mql,
    CASE WHEN segment = 'enterprise' THEN 190 ELSE 150 END AS t_sql
  FROM tiers
)
SELECT id, fit::double precision AS fit, engagement::double precision AS engagement, total,
  segment,
  CASE WHEN disqualified_by IS NOT NULL THEN 'disqualified'
       WHEN total >= t_sql AND demos > 0 THEN 'sql'
       WHEN total >= t_mql AND pricing_30d > 0 THEN 'mql'
       WHEN total >= t_nurture THEN 'nurture' ELSE 'cold' END AS tier,
  CASE WHEN disqualified_by IS NOT NULL OR (total >= t_sql AND demos > 0) THEN NULL
       WHEN total >= t_sql THEN 'sql'
       WHEN total >= t_mql AND pricing_30d > 0 THEN NULL
       WHEN total >= t_mql THEN 'mql' END AS held_from,
  disqualified_by,
  CASE WHEN fit >= 40 THEN 'A' WHEN fit >= 25 THEN 'B' WHEN fit >= 10 THEN 'C' ELSE 'D' END
    AS grade
FROM thresholds
"""

# The columns as a CRM export lands in PostgreSQL: text, bigint counts, timestamps (UTC)
_PG_TYPES = {"string": "text", "large_string": "text", "int64": "bigint",
             "double": "double precision", "bool": "boolean"}


def _pg_type(t: Any) -> str:
    import pyarrow as pa

    return "timestamp(6)" if pa.types.is_timestamp(t) else _PG_TYPES[str(t)]


def load(con: Any, schema: str, folder: Path) -> None:
    """folder's leads.parquet and events.parquet as tables `schema`.leads and .events,
    written with COPY (CSV from Arrow), then analysed as a DBA would after a load."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    cur = con.cursor()
    cur.execute(f'CREATE SCHEMA "{schema}"')
    for name in ("leads", "events"):
        table = pq.read_table(folder / f"{name}.parquet")
        table = table.cast(pa.schema([pa.field(f.name, pa.timestamp("us"))
                                      if pa.types.is_timestamp(f.type) else f
                                      for f in table.schema]))
        cols = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in table.schema)
        cur.execute(f'CREATE TABLE "{schema}"."{name}" ({cols})')
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
        with cur.copy(f'COPY "{schema}"."{name}" FROM STDIN (FORMAT csv)') as copy:
            copy.write(buf.getvalue())
        cur.execute(f'ANALYZE "{schema}"."{name}"')
    con.commit()


def with_tables(schema: str, folder: Path) -> Path:
    """A copy of the reference model whose schema names the tables in `schema`."""
    text = MODEL.read_text()
    for last, table in (("field account: text\n", "leads"), ("field asset: text\n", "events")):
        text = text.replace(last, f'{last}    table "{schema}.{table}"\n', 1)
    if text.count(f'table "{schema}.') != 2:
        raise RuntimeError("the reference model's schema changed: place its `table` lines")
    path = folder / "reference_pg.score"
    path.write_text(text)
    return path


def differing(con: Any, ours: str, hand: str) -> int:
    """Rows of the two scores tables that differ: text exactly, numbers beyond 1e-6 (fading
    weights lie on the language's 1e-9 grid; the hand query uses float powers), or a lead
    that one table has and the other has not."""
    near = " AND ".join(f"abs(o.{c} - h.{c}) <= 1e-6" for c in ("fit", "engagement", "total"))
    same = " AND ".join(f"o.{c} IS NOT DISTINCT FROM h.{c}"
                        for c in ("segment", "tier", "held_from", "disqualified_by", "grade"))
    cur = con.cursor()
    cur.execute(f"SELECT count(*) FROM {ours} o FULL JOIN {hand} h ON o.id = h.id "
                f"WHERE o.id IS NULL OR h.id IS NULL OR NOT ({near} AND {same})")
    return cur.fetchone()[0]


def in_database(rep: Any, folder: Path, repeat: int) -> None:
    """The PostgreSQL in-place ratio, leadscore / hand-written psql, with its target."""
    import psycopg

    from bench.data import AS_OF_US

    schema = f"ls_bench_{uuid.uuid4().hex[:8]}"
    ours_t, hand_t = f"{schema}.ours", f"{schema}.hand"
    con = psycopg.connect(URL, autocommit=False)
    try:
        load(con, schema, folder)
        model = with_tables(schema, folder)
        ours = [sys.executable, "-m", "leadscore.cli", "run", str(model), "--engine", "postgres",
                "--db", URL, "--as-of", AS_OF, "--into", ours_t]
        # the same replace-the-table job the runner does, so that both sides repeat cleanly
        hand = PSQL + ["-1", "-c", f"DROP TABLE IF EXISTS {hand_t}",
                       "-c", HAND_PG.format(into=hand_t, schema=schema, as_of_us=AS_OF_US)]
        for cmd in (ours, hand):
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        bad = differing(con, ours_t, hand_t)
        con.commit()
        t_ours, t_hand = alternate(ours, hand, repeat, cwd=str(ROOT))
    finally:
        con.rollback()
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.commit()
        con.close()
    ratio = t_ours.median / t_hand.median
    same = "same rows" if bad == 0 else f"{bad} rows DIFFER"
    rep.add("in-database", "PostgreSQL in place: leadscore run --into / psql CREATE TABLE AS",
            f"{ratio:.2f}", f"<= {TARGET}", ratio <= TARGET,
            note=f"{t_ours.median:.2f} s ({t_ours.spread}) vs {t_hand.median:.2f} s "
                 f"({t_hand.spread}), medians of {repeat}; outputs: {same}")
