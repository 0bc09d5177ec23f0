"""`leadscore funnel`: how many leads move up the tiers, and how fast, from a history table.

The input is what `leadscore history` says of each lead (runtime/history.py: `history_sql`
computes it in the database): the first as_of at which the lead was at or above each tier.
On that:

- the **stages** are the tiers, lowest first, and with an outcome a last stage named after
  its column (a lead reaches it when its outcome is positive, at its outcome time);
- a lead **enters** the funnel at its first snapshot holding a tier (`reached_<lowest tier>`);
  a lead only ever disqualified never enters, and is counted as such;
- its **cohort** is the UTC calendar month in which it first rose above the lowest tier
  (`reached_<second tier>`, e.g. the month it became a nurture lead): the lowest tier is
  where every scored lead starts, and a replayed history holds every lead from its first
  as_of on, so the month of a first snapshot would say when the history starts, not when the
  lead did anything. A cohort's stages start at the second tier; leads that never rose are
  in no cohort;
- per stage: the leads that reached it, the share of the group that did, how many of them
  reached the next stage and their share, and the days from reaching the stage to reaching
  the next one: the median and the 90th percentile by nearest rank (`nearest_rank`), over the
  leads that reached both, the next at or after this one (`timed` counts them).

Times are those of snapshots: a lead first seen at mql was "reached" there, however long ago
it crossed in fact; days between stages are multiples of the snapshot interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime.data import DataError, Instant, lead_key
from .table import blank, parse_outcome, parse_outcome_time, read_table
from .text import pct, table

DAY_US = 86_400_000_000
PERCENTILES = (50, 90)  # the median and p90 of the days between stages
REACHED = "reached_"


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The `percent`-th percentile by nearest rank: the smallest value with at least `percent`%
    of the values at or below it, i.e. the ⌈percent·n/100⌉-th smallest (always a value that
    occurs; the median of an even count is the lower middle one). None for no values."""
    if not values:
        return None
    rank = max(1, -(-percent * len(values) // 100))  # integer ceiling: no float rounding
    return sorted(values)[rank - 1]


@dataclass
class Outcome:
    """The outcomes of a leads file: per lead key (0/1, its time in µs when positive and
    timed), and the counts of rows that could not be read."""

    column: str
    won: dict[str, tuple[int, int | None]]  # key -> (0/1, outcome time or None)
    rows: int  # rows read
    problems: int  # rows without a valid outcome (missing, invalid) or key
    time_problems: int  # positive outcomes with a missing or invalid time


def read_outcome(path: str | Path, key: str, column: str, time_column: str | None = None,
                 delimiter: str | None = None) -> Outcome:
    """Each lead's outcome (and its time) from the leads file at `path`, by the key column the
    history has; values read as `calibrate` reads them (analytics/table.py)."""
    tab = read_table(path, delimiter)
    k = tab.index(key, "key column (the history's key)")
    o = tab.index(column, "outcome column")
    t = tab.index(time_column, "outcome time column") if time_column else None
    won: dict[str, tuple[int, int | None]] = {}
    problems = time_problems = 0
    for _, rec in tab.rows:
        try:  # the key as every reader makes it (an int column read as floats is the same)
            name = lead_key(rec[k])
            value = parse_outcome(rec[o])
        except ValueError:
            name = None
        if name is None or blank(rec[o]):
            problems += 1
            continue
        at = None
        if value and t is not None:
            try:
                at = parse_outcome_time(rec[t])
            except ValueError:
                time_problems += 1
        won[name] = (value, at)
    return Outcome(column, won, len(tab.rows), problems, time_problems)


def _stage_rows(stages: list[str], journeys: list[list[int | None]], reached_flags: list[list[bool]]
                ) -> list[dict[str, Any]]:
    n = len(journeys)
    rows = []
    for i, stage in enumerate(stages):
        reached = [j for j, f in enumerate(reached_flags) if f[i]]
        row: dict[str, Any] = {"stage": stage, "reached": len(reached),
                               "share": len(reached) / n if n else None}
        if i + 1 < len(stages):
            nxt = [j for j in reached if reached_flags[j][i + 1]]
            days = [(journeys[j][i + 1] - journeys[j][i]) / DAY_US for j in nxt
                    if journeys[j][i] is not None and journeys[j][i + 1] is not None
                    and journeys[j][i + 1] >= journeys[j][i]]
            row.update({"next": stages[i + 1], "reached_next": len(nxt),
                        "next_share": len(nxt) / len(reached) if reached else None,
                        "timed": len(days),
                        **{f"p{p}_days": nearest_rank(days, p) for p in PERCENTILES}})
        rows.append(row)
    return rows


def month(us: int) -> str:
    return str(Instant(us))[:7]


def funnel(columns: list[str], rows: list[tuple], outcome: Outcome | None = None,
           history: str = "") -> dict[str, Any]:
    """The funnel report over `lead_history` / `history_sql` output: `columns` are
    `[key, reached_<tier>..., tier, tier_since]`, each row one lead."""
    tiers = [c[len(REACHED):] for c in columns if c.startswith(REACHED)]
    if not tiers:
        raise DataError(f"the history {history} has no tiers: there is no funnel to show")
    if outcome is not None and outcome.column in tiers:
        raise DataError(f"the outcome column {outcome.column!r} has the name of a tier of "
                        f"{history}: its stage would be two stages of one name; rename it")
    at = [columns.index(REACHED + t) for t in tiers]
    stages = tiers + ([outcome.column] if outcome else [])
    counts = {"leads": len(rows), "entered": 0, "never_in_a_tier": 0}
    if outcome:
        counts.update({"outcome_rows": outcome.rows, "outcome_problems": outcome.problems,
                       "outcome_time_problems": outcome.time_problems, "without_outcome": 0,
                       "converted": 0})
    journeys: list[list[int | None]] = []
    flags: list[list[bool]] = []
    cohort_of: list[str | None] = []
    for r in rows:
        times: list[int | None] = [r[i] for i in at]
        if times[0] is None:
            counts["never_in_a_tier"] += 1
            continue
        reached = [t is not None for t in times]
        if outcome:
            got = outcome.won.get(str(r[0]))
            if got is None:
                counts["without_outcome"] += 1
            won = got is not None and got[0] == 1
            counts["converted"] += won
            times.append(got[1] if won else None)
            reached.append(won)
        journeys.append(times)
        flags.append(reached)
        cohort_of.append(month(times[1]) if len(tiers) > 1 and times[1] is not None else None)
    counts["entered"] = len(journeys)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cohort_of):
        if c is not None:
            groups[c].append(i)
    return {
        "history": history, "stages": stages, "outcome": outcome.column if outcome else None,
        "cohort_stage": tiers[1] if len(tiers) > 1 else None,
        "percentiles": list(PERCENTILES), "percentile_method": "nearest rank",
        "counts": counts,
        "all": _stage_rows(stages, journeys, flags),
        "cohorts": [{"cohort": c, "leads": len(ix),
                     "stages": _stage_rows(stages[1:], [journeys[i][1:] for i in ix],
                                           [flags[i][1:] for i in ix])}
                    for c, ix in sorted(groups.items())],
    }


# ---------------------------------------------------------------- text
def days(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


STAGE_HEADERS = ["stage", "reached", "share", "reached next", "next share", "median days",
                 "p90 days", "timed"]


def stage_cells(s: dict[str, Any]) -> list[Any]:
    if "next" not in s:
        return [s["stage"], s["reached"], pct(s["share"]), "", "", "", "", ""]
    return [s["stage"], s["reached"], pct(s["share"]), f"{s['reached_next']} {s['next']}",
            pct(s["next_share"]), days(s["p50_days"]), days(s["p90_days"]), s["timed"]]


def render_text(report: dict[str, Any]) -> str:
    c = report["counts"]
    out = [f"leads: {c['leads']} in the history, {c['entered']} held a tier, "
           f"{c['never_in_a_tier']} only ever disqualified"]
    if report["outcome"]:
        out.append(f"outcome {report['outcome']}: {c['converted']} of the {c['entered']} "
                   f"converted; {c['without_outcome']} not in the leads file with a valid "
                   f"outcome; {c['outcome_time_problems']} conversions without a valid time")
    out.append("days from reaching a stage to reaching the next, over the leads that reached "
               "both; median and p90 by nearest rank")
    out += ["", "all leads", table(STAGE_HEADERS, [stage_cells(s) for s in report["all"]])]
    if report["cohorts"]:
        rows = [[g["cohort"], g["leads"], *stage_cells(s)] for g in report["cohorts"]
                for s in g["stages"]]
        out += ["", f"per cohort (the month a lead first reached {report['cohort_stage']})",
                table(["cohort", "leads", *STAGE_HEADERS], rows, left=3)]
    return "\n".join(out)
