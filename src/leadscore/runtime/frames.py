"""DataFrames in and out of the Python API.

In: anything that exports the Arrow C stream interface (`__arrow_c_stream__`: pyarrow,
polars, DuckDB relations, pandas) becomes an Arrow table and goes through the loader's
columnar strategy (runtime/fastload.py), as a file read by the CLI does. pandas frames go
through `pa.Table.from_pandas` (without their index, which is no data); pandas is imported
only when the caller passed a pandas object, polars only for `.to_polars()`.

Out: `Scores`, the rows as dicts (iterated, indexed, compared with a list of dicts) and as
`.to_arrow()`, `.to_pandas()`, `.to_polars()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from ..compiler import ir
from .data import Events, Leads, events_from_dicts, leads_from_dicts

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow as pa


def as_table(obj: Any) -> pa.Table | None:
    """`obj` as an Arrow table when it is a DataFrame or an Arrow stream; None for anything
    else (dicts and other iterables of records)."""
    module = type(obj).__module__.split(".")[0]
    if module == "pandas" and hasattr(obj, "columns"):
        import pyarrow as pa

        try:
            return pa.Table.from_pandas(obj, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
            return None  # mixed object columns: read row by row, value by value
    if module == "pyarrow" or hasattr(obj, "__arrow_c_stream__"):
        import pyarrow as pa

        if isinstance(obj, pa.Table):
            return obj
        if isinstance(obj, pa.RecordBatch):
            return pa.Table.from_batches([obj])
        if hasattr(obj, "__arrow_c_stream__"):
            return pa.RecordBatchReader.from_stream(obj).read_all()
    return None


def read_leads(obj: Any, schema: ir.Schema) -> Leads:
    """Leads from a DataFrame (column-wise) or an iterable of dicts."""
    table = as_table(obj)
    if table is None:
        return leads_from_dicts(obj, schema)
    from .fastload import leads_from_table

    return leads_from_table(table, schema)


def read_events(obj: Any, schema: ir.Schema) -> Events:
    """Events from a DataFrame (column-wise) or an iterable of dicts."""
    table = as_table(obj)
    if table is None:
        return events_from_dicts(obj, schema)
    from .fastload import events_from_table

    return events_from_table(table, schema)


class Scores(Sequence[dict[str, Any]]):
    """Scored rows, one per lead in key order: dicts when iterated or indexed (built as
    they are asked for), tables with `to_arrow()`, `to_pandas()`, `to_polars()`."""

    def __init__(self, columns: list[str], rows: list[tuple], types: dict[str, str]):
        self.columns = columns
        self.rows = rows  # (key, outputs...) tuples
        self._types = types

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [dict(zip(self.columns, r)) for r in self.rows[i]]
        return dict(zip(self.columns, self.rows[i]))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        columns = self.columns
        return (dict(zip(columns, r)) for r in self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Scores):
            return self.columns == other.columns and self.rows == other.rows
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable rows, as a list's

    def __repr__(self) -> str:
        shown = ", ".join(repr(r) for r in self[:3])
        more = f", … ({len(self)} rows)" if len(self) > 3 else ""
        return f"Scores([{shown}{more}])"

    def to_arrow(self) -> pa.Table:
        """The rows as an Arrow table: the key and text columns strings, scores float64."""
        from .output import rows_table

        return rows_table(self.columns, self.rows, self._types)

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> polars.DataFrame:
        import polars as pl

        out = pl.from_arrow(self.to_arrow())
        assert isinstance(out, pl.DataFrame)  # a table, never a series
        return out
