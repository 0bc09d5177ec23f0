"""The reference model (examples/reference.score) scored by hand in polars, as a good engineer
would: CSV read by polars with the columns typed, timestamps parsed by polars, one lazy
query (one group-by over the events, the scores as expressions), CSV written by polars.

The yardstick of `leadscore run --engine python`: the same rows (bench/python_jobs.py
checks them against ours). `python -m bench.polars_hand leads.csv events.csv out.csv`.
"""

from __future__ import annotations

import sys

import polars as pl

DAY = 86_400_000_000
AS_OF_US = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
TEXT = pl.String


def _time(name: str) -> pl.Expr:
    return pl.col(name).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us").dt.epoch("us")


def score(leads: pl.LazyFrame, events: pl.LazyFrame, as_of_us: int = AS_OF_US) -> pl.LazyFrame:
    """(id, fit, engagement, total, segment, tier, held_from, disqualified_by, grade) by id."""
    kind, page, age = pl.col("kind"), pl.col("page"), pl.col("age")
    agg = (events
           .select("lead_id", "asset",
                   kind.str.to_lowercase(), page.str.to_lowercase(),
                   age=as_of_us - _time("occurred_at"))
           .filter(age >= 0)
           .group_by("lead_id")
           .agg(opens=((kind == "email_open") & (age < 90 * DAY)).sum(),
                clicks=(kind == "email_click").sum(),
                lp=((kind == "page_view") & page.str.starts_with("/lp/")).sum(),
                downloads=((kind == "form_submit") & pl.col("asset").is_not_null()).sum(),
                pricing=((kind == "page_view") & (page == "/pricing")).sum(),
                pricing_30d=((kind == "page_view") & (page == "/pricing")
                             & (age < 30 * DAY)).sum(),
                demos=(kind == "demo_request").sum(),
                webinar_w=pl.when(kind == "webinar").then(0.5 ** (age / DAY / 30)).sum(),
                views_7d=((kind == "page_view") & (age < 7 * DAY)).sum(),
                careers=((kind == "page_view") & page.str.starts_with("/careers")).sum(),
                unsub=(kind == "unsubscribe").sum(),
                last_age=age.min()))
    title, email, employees = (pl.col("title").str.to_lowercase(),
                               pl.col("email").str.to_lowercase(), pl.col("employees"))

    def points(cond: pl.Expr, n: float) -> pl.Expr:
        return pl.when(cond).then(n).otherwise(0.0)

    fit = (points(pl.col("industry").str.to_lowercase().is_in(["software", "saas", "it services"]),
                  20) + points(title.str.contains("(chief|head|director|vp)"), 15)
           + points(employees >= 200, 10)
           + points(pl.col("country").str.to_lowercase().is_in(["cr", "pa"]), 8)
           + points(title.str.contains("student"), -30)
           + points(email.str.ends_with("@gmail.com"), -10))
    c = {n: pl.col(n).fill_null(0) for n in ("opens", "clicks", "lp", "downloads", "pricing",
                                            "pricing_30d", "demos", "views_7d", "careers", "unsub")}
    eng0 = pl.min_horizontal(
        150.0,
        pl.min_horizontal(c["opens"], 10) + pl.min_horizontal(5 * c["clicks"], 25)
        + pl.min_horizontal(15 * c["lp"], 45)
        + pl.when(c["downloads"] > 0).then(pl.min_horizontal(25 + 5 * (c["downloads"] - 1), 40))
        .otherwise(0)
        + points(c["pricing"] > 0, 30) + points(c["demos"] > 0, 50)
        + 20.0 * pl.col("webinar_w").fill_null(0.0) + points(c["views_7d"] >= 3, 10)
        + pl.max_horizontal(-10 * c["careers"], -20) + points(c["unsub"] > 0, -50))
    idle = pl.coalesce("last_age", as_of_us - _time("created_at"))
    periods = pl.max_horizontal(0, (idle // DAY / 30).floor())
    engagement = (pl.when((eng0 > 0) & idle.is_not_null())
                  .then(pl.max_horizontal(0.0, eng0 - 10.0 * periods)).otherwise(eng0))
    enterprise = employees >= 1000

    def by_segment(other: int, ent: int) -> pl.Expr:
        return pl.when(enterprise).then(ent).otherwise(other)

    total, fitc = pl.col("total"), pl.col("fit")
    t_nurture, t_mql, t_sql = by_segment(40, 60), by_segment(100, 140), by_segment(150, 190)
    qualifies_sql = (total >= t_sql) & (pl.col("demos") > 0)
    qualifies_mql = (total >= t_mql) & (pl.col("pricing_30d") > 0)
    disq = pl.col("disqualified_by").is_not_null()
    return (leads.join(agg, left_on="id", right_on="lead_id", how="left")
            .with_columns(fit=fit, engagement=engagement,
                          disqualified_by=pl.when(email.str.ends_with("@rival.com"))
                          .then(pl.lit("competitor")),
                          segment=pl.when(enterprise).then(pl.lit("enterprise"))
                          .when(employees < 50).then(pl.lit("smb")).otherwise(pl.lit("default")))
            .with_columns(total=pl.max_horizontal(0.0, pl.min_horizontal(fitc + pl.col("engagement"),
                                                                        200.0)))
            .select("id", "fit", "engagement", "total", "segment",
                    tier=pl.when(disq).then(pl.lit("disqualified"))
                    .when(qualifies_sql).then(pl.lit("sql"))
                    .when(qualifies_mql).then(pl.lit("mql"))
                    .when(total >= t_nurture).then(pl.lit("nurture")).otherwise(pl.lit("cold")),
                    held_from=pl.when(disq | qualifies_sql).then(None)
                    .when(total >= t_sql).then(pl.lit("sql"))
                    .when(qualifies_mql).then(None)
                    .when(total >= t_mql).then(pl.lit("mql")),
                    disqualified_by="disqualified_by",
                    grade=pl.when(fitc >= 40).then(pl.lit("A")).when(fitc >= 25).then(pl.lit("B"))
                    .when(fitc >= 10).then(pl.lit("C")).otherwise(pl.lit("D")))
            .sort("id"))


LEAD_TYPES = {"id": TEXT, "created_at": TEXT, "email": TEXT, "industry": TEXT, "title": TEXT,
              "employees": pl.Float64, "country": TEXT, "plan_interest": TEXT, "account": TEXT}
EVENT_TYPES = {"lead_id": TEXT, "occurred_at": TEXT, "kind": TEXT, "page": TEXT, "asset": TEXT}


def main(leads_csv: str, events_csv: str, out_csv: str) -> None:
    leads = pl.scan_csv(leads_csv, schema_overrides=LEAD_TYPES)
    events = pl.scan_csv(events_csv, schema_overrides=EVENT_TYPES)
    score(leads, events).sink_csv(out_csv)


if __name__ == "__main__":
    main(*sys.argv[1:4])
