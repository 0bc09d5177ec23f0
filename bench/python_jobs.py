"""The Python engine as users run it, whole process against whole process (bench/jobs.py):

- `leadscore run --engine python`, CSV in and CSV out, against the hand-written polars
  scorer (bench/polars_hand.py) on the same files; both outputs checked to hold the same rows;
- `Model.score(arrow tables)` in a script (read the Parquet files with pyarrow's ParquetFile,
  as the CLI reads them: `pq.read_table` would add its dataset layer's pandas import to one
  side only; score; write `.to_arrow()` as Parquet) against `leadscore run --engine python`
  on the same Parquet files (Parquet out); both outputs checked equal.

`python_jobs(rep, folder, repeat)` reads folder/leads.{csv,parquet} and events.{csv,parquet}
and writes its outputs beside them.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from bench.jobs import alternate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"
AS_OF = "2026-03-01T00:00:00Z"
TARGET_POLARS = 1.2
TARGET_API = 1.1

# the API as a user's script calls it: read the files, score, write the table
API_SCRIPT = """
import sys
import pyarrow.parquet as pq
import leadscore

model = leadscore.load(sys.argv[1])
leads, events = pq.ParquetFile(sys.argv[2]).read(), pq.ParquetFile(sys.argv[3]).read()
scores = model.score(leads, events, as_of=sys.argv[4])
pq.write_table(scores.to_arrow(), sys.argv[5])
"""


def _cli(folder: Path, fmt: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "leadscore.cli", "run", str(MODEL), "--engine", "python",
            "--leads", str(folder / f"leads.{fmt}"), "--events", str(folder / f"events.{fmt}"),
            "--as-of", AS_OF, "--out", str(out)]


def _same_rows(a: list[tuple], b: list[tuple]) -> bool:
    """Equal rows: numbers within 1e-7 (the hand scorer's float powers against the language's
    10^-9 grid of fading weights; bench/__main__.py close_rows), everything else exactly."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-7):
                    return False
            elif x != y:
                return False
    return True


def _csv_rows(path: Path) -> list[tuple]:
    """A scores CSV as typed rows (numbers as floats, empty as None), whoever wrote it."""
    import csv

    def value(v: str) -> Any:
        if v == "":
            return None
        try:
            return float(v)
        except ValueError:
            return v

    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [tuple(value(v) if i else v for i, v in enumerate(r)) for r in rows]


def _ratio(rep: Any, name: str, ours: Any, hand: Any, target: float, note: str) -> None:
    ratio = ours.median / hand.median
    rep.add("e2e", name, f"{ratio:.2f}x", f"<= {target}", ratio <= target,
            note=f"{note}; ours {ours.median:.2f} s ({ours.spread}, {ours.peak:.0f} MB), "
                 f"theirs {hand.median:.2f} s ({hand.spread}, {hand.peak:.0f} MB)")


def python_jobs(rep: Any, folder: Path, repeat: int) -> None:
    """Both ratios of the Python engine, with their outputs checked."""
    import pyarrow.parquet as pq

    ours_csv, hand_csv = folder / "py_ours.csv", folder / "py_polars.csv"
    ours = _cli(folder, "csv", ours_csv)
    hand = [sys.executable, "-m", "bench.polars_hand", str(folder / "leads.csv"),
            str(folder / "events.csv"), str(hand_csv)]
    t_ours, t_hand = alternate(ours, hand, repeat, cwd=str(ROOT))
    if not _same_rows(_csv_rows(ours_csv), _csv_rows(hand_csv)):
        raise AssertionError(f"{ours_csv} and {hand_csv} hold different rows")
    _ratio(rep, "run --engine python CSV->CSV / hand polars", t_ours, t_hand, TARGET_POLARS,
           "bench/polars_hand.py, same rows")

    api_out, cli_out = folder / "py_api.parquet", folder / "py_cli.parquet"
    api = [sys.executable, "-c", API_SCRIPT, str(MODEL), str(folder / "leads.parquet"),
           str(folder / "events.parquet"), AS_OF, str(api_out)]
    t_api, t_cli = alternate(api, _cli(folder, "parquet", cli_out), repeat, cwd=str(ROOT))
    if not pq.read_table(api_out).equals(pq.read_table(cli_out)):
        raise AssertionError(f"{api_out} and {cli_out} differ")
    _ratio(rep, "Model.score(arrow tables) / run --engine python, Parquet", t_api, t_cli,
           TARGET_API, "same table")


if __name__ == "__main__":  # `python -m bench.python_jobs FOLDER [REPEAT]`: print the rows
    from bench.__main__ import Report

    python_jobs(Report(), Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3)
