"""Case folding: one lower-casing, identical in Python and in the SQL engines."""

import duckdb
import pyarrow as pa

from leadscore.compiler.text import fold


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
