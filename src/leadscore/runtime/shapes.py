"""The value shapes the fast readers convert themselves; everything else is data.py's.

runtime/data.py `convert` defines what each value means. The columnar reader
(runtime/fastload.py) and the engine reader (runtime/native.py) convert only values of
these shapes, whose meaning under `convert` is plain, and send every other value's row to
data.py. Patterns are written for RE2 (Arrow and DuckDB), which matches in linear time.
"""

from __future__ import annotations

from .data import _FALSE, _TRUE

TRUE_WORDS, FALSE_WORDS = tuple(sorted(_TRUE)), tuple(sorted(_FALSE))  # data.py's words
# a key (or lead reference) whose first and last characters are not whitespace to Python
PLAIN_KEY = r"^[!-~\pL\pN](?s:.*[!-~\pL\pN])?$"
INT = r"^[+-]?[0-9]{1,18}$"
FLOAT = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$"
TIMESTAMP = (r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
             r"(?:[T ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})"
             r"(?:\.(?P<f>[0-9]{1,6}))?)?(?P<z>Z|[+-][0-9]{2}:[0-9]{2})?)?$")
# TIMESTAMP with each part in the range both Python's and DuckDB's parsers accept (years
# 1000-9998, as fastload takes them); month and day are left to the parser, which refuses
# 2026-02-30 in both
_HH, _MS = "(?:[01][0-9]|2[0-3])", "[0-5][0-9]"
ISO_IN_RANGE = (f"(?:[1-8][0-9]{{3}}|9[0-8][0-9]{{2}}|99[0-8][0-9]|999[0-8])-[0-9]{{2}}-[0-9]{{2}}"
                f"(?:[T ]{_HH}:{_MS}(?::{_MS}(?:\\.[0-9]{{1,6}})?)?(?:Z|[+-]{_HH}:{_MS})?)?")
