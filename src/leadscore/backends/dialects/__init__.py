"""The old import path of the dialects, which live in the engine registry (leadscore/engines/)
now; kept until the modules outside the SQL backend that import it from here move over."""

from ...engines import DIALECTS, DUCKDB, SQLITE, Dialect, Unsupported, get_dialect

__all__ = ["DIALECTS", "DUCKDB", "SQLITE", "Dialect", "Unsupported", "get_dialect"]
