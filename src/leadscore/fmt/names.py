"""Names as fmt writes them: the keywords that make a name need backticks in each position."""

from __future__ import annotations

from functools import lru_cache

from ..compiler.parse import _parser

# Keywords the parser accepts next to a name in each position (the contextual lexer reserves
# a keyword only where it can appear); a name spelled like one of them needs backticks there.
# tests/test_fmt.py checks these sets against the parser.
ATOM = frozenset({"not", "true", "false", "event", "count", "sum", "exists", "days_since",
                  "max", "min", "avg"})
FILTER = frozenset({"event"})
COUNT_FILTER = frozenset({"event", "lead"})
DAYS_SINCE = frozenset({"last"})
TIER = frozenset({"at", "sticky", "require", "and", "or", "in", "not", "is", "matches", "starts_with",
                  "ends_with", "contains", "within", "where"})
GRADE = frozenset({"at"})
TEST_VALUE = frozenset({"true", "false", "missing"})
EXPECT = frozenset({"lead", "account"})  # right after `expect`: `expect lead "a1" fit == 10`
DECL = frozenset()  # after `field`, `let`, `score`, `types`, `expect`, ...: only a name fits


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every word the grammar uses as a keyword anywhere."""
    return frozenset(t.pattern.value for t in _parser().terminals
                     if t.pattern.type == "str" and t.pattern.value.isidentifier())
