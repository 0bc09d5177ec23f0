"""The `leadscore` command line. Exit codes: 0 success, 1 errors in models or data, 2 usage.

One module per command; each registers itself on the `main` group from `common` when the
group first looks the command up, so a run imports only its own command's dependencies.
"""

from .common import main

__all__ = ["main"]
