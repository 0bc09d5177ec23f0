"""Case folding: one lower-casing, identical in Python and in the SQL engines."""

import duckdb
import pyarrow as pa
import pytest

from engines import engine_params, ensure
from leadscore.compiler import compile_source
from leadscore.compiler.text import fold
from leadscore.engines import EXECUTED
from leadscore.runtime import frames
from leadscore.runtime.accounts import run_accounts
from leadscore.runtime.data import empty_events, parse_timestamp

AS_OF = parse_timestamp("2026-03-01T00:00:00Z")


def test_fold_matches_str_lower_except_context_and_length_rules():
    assert fold("TECNOLOGÍA") == "tecnología"
    assert fold("SÃO Paulo") == "são paulo"
    assert fold("ΣΑΣ") == "σασ"  # str.lower gives "σας" (final sigma rule)
    assert fold("İSTANBUL") == "istanbul"  # str.lower gives "i̇stanbul" (two code points)
    assert fold("ascii ONLY") == "ascii only"


def test_fold_equals_duckdb_lower_for_every_printable_character():
    chars = [chr(i) for i in range(0x20, 0x30000)
             if not 0xD800 <= i <= 0xDFFF and chr(i).isprintable()]
    con = duckdb.connect()
    con.register("t", pa.table({"c": chars}))
    rows = con.execute("SELECT c, lower(c) FROM t").fetchall()
    bad = [(c, lowered) for c, lowered in rows if lowered != fold(c)]
    assert not bad, bad[:10]


def _folding_chars() -> list[str]:
    """Every code point that Python's mapping changes, and every one that changes under
    upper-casing (a lower-case letter an engine must leave as it is)."""
    return [chr(i) for i in range(1, 0x110000) if not 0xD800 <= i <= 0xDFFF
            and (fold(chr(i)) != chr(i) or chr(i).upper() != chr(i))]


@pytest.mark.parametrize("engine", engine_params(EXECUTED))
def test_every_engine_folds_every_cased_code_point_as_python(engine):
    """Each engine's own lower-casing, read back: accounts group by the folded field, one
    account per folded character (and a few words with context rules: a final sigma, a
    dotted capital I; every cased character and its lower case are both in the data), so a
    character an engine folds otherwise (ẞ under MariaDB's binary collation, İ under ICU)
    makes an account of its own, or joins another, and the rows and counts differ."""
    ensure(engine)
    texts = _folding_chars() + ["ΑΣ", "ΣΑΣ Σ", "İSTANBUL", "STRASSE ẞ", "ᲐᲑᲒ"]
    model = compile_source('schema { lead { key id  field t: text } }\n'
                           'score s { rule "any" +1 when t != "" }\n'
                           'account by t { score = count(lead) }\n', "fold.score")
    leads = frames.read_leads([{"id": f"{i:07d}", "t": t} for i, t in enumerate(texts)],
                              model.schema)
    events = empty_events(model.schema)
    want = run_accounts(model, leads, events, AS_OF, "python")
    assert len(want) == len({fold(t) for t in texts})
    got = run_accounts(model, leads, events, AS_OF, engine)
    bad = [(w[0], g[0]) for w, g in zip(want, got) if w != g]
    assert len(got) == len(want) and not bad, bad[:10]
