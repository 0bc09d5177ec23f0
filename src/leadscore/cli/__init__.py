"""The `leadscore` command line. Exit codes: 0 success, 1 errors in models or data, 2 usage.

One module per command; each registers itself on the `main` group from `common`.
"""

from . import calibrate, check, compile, diff, engines, explain, fit, fmt, lint, run, test  # noqa: F401 - importing registers the commands
from .common import main

__all__ = ["main"]
