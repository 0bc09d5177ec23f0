"""What a bare name is: Python's identifier rules after NFKC normalisation (PEP 3131).

The lexer (grammar/score.lark `NAME`, `LEX` here) reads a superset: a letter or `_`, then
letters, digits, `_` and combining marks. The parser then keeps the NFKC form of the word and
refuses one whose form is not an identifier, so `interés` written with a combining accent and
with a precomposed `é` are one name. Back-quoted names are kept exactly as written: they name
columns of the data, which are matched as spelled.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks the lexer takes inside a word (\w has none of them): the Latin diacritics of
# decomposed text, Cyrillic, Hebrew, Arabic, the Indic and South-East Asian blocks, and the
# supplements. A superset is safe: a word the rules refuse is a located error saying why.
_MARKS = (r"\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
          r"\u06d6-\u06ed\u0900-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u0eb1-\u0ebc\u0ec8-\u0ecd"
          r"\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20f0\ufe00-\ufe0f\ufe20-\ufe2f\u00b7\u0387")
LEX = rf"[^\W\d][\w{_MARKS}]*"  # the grammar's NAME terminal (tests/test_names.py)
_LEX = re.compile(LEX + r"\Z")

ALLOWED = ("a name is a letter (any alphabet) or `_`, then letters, digits and `_`, as in "
           "Python identifiers")


def normal(word: str) -> str:
    """The name a bare word stands for: its NFKC form."""
    return unicodedata.normalize("NFKC", word)


def is_name(word: str) -> bool:
    """Whether `word`, as written, is a name (its NFKC form an identifier)."""
    return normal(word).isidentifier()


def is_plain(text: str) -> bool:
    """Whether `text` can be written without backticks and read back as itself."""
    return bool(_LEX.match(text)) and normal(text) == text and text.isidentifier()
