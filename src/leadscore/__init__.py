"""leadscore: lead scoring models as code, compiled to Python or SQL.

The names below are imported on first use (PEP 562), so that `import leadscore.lint` or
`leadscore check` loads neither the runtime nor the engines and their libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Model, load, loads
    from .compiler import CompileError
    from .runtime.data import DataError

__all__ = ["CompileError", "DataError", "Model", "load", "loads"]
__version__ = "0.1.0"

_HOMES = {"CompileError": ".compiler", "DataError": ".runtime.data", "Model": ".api",
          "load": ".api", "loads": ".api"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
