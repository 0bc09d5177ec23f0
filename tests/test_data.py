"""Data loading: formats, types, timestamps and rejects."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.compiler import compile_source
from leadscore.runtime.data import (
    DataError,
    convert,
    parse_timestamp,
    read_events,
    read_leads,
)

MODEL = compile_source("""
schema {
  lead { key id  created created_at  field n: int  field x: float  field ok: bool  field name: text }
  event { lead lead_id  time ts  type kind  field v: float }
}
""")
S = MODEL.schema


def test_timestamps_are_utc_microseconds():
    z = parse_timestamp("2026-03-01T00:00:00Z")
    assert z == parse_timestamp("2026-03-01T00:00:00")  # no offset means UTC
    assert z == parse_timestamp("2026-03-01")  # a bare date is midnight UTC
    assert parse_timestamp("2026-03-01T01:00:00+01:00") == z
    assert parse_timestamp("2026-03-01T00:00:00.000001Z") == z + 1
    assert z == 1772323200 * 1_000_000


@pytest.mark.parametrize("text", ["", "yesterday", "2026-02-30", "1772323200", "03/01/2026"])
def test_bad_timestamps(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_convert_types():
    assert convert("15", "int") == 15.0
    assert convert(" 15 ", "int") == 15.0
    assert convert("", "int") is None
    assert convert("2.5", "float") == 2.5
    assert convert("Yes", "bool") is True and convert("0", "bool") is False
    assert convert("", "text") is None
    assert convert(" keep spaces ", "text") == " keep spaces "
    for bad, t in [("2.5", "int"), ("ten", "int"), ("nan", "float"), ("maybe", "bool")]:
        with pytest.raises(ValueError):
            convert(bad, t)


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_bom_crlf_and_quoted_newlines(tmp_path):
    p = write(tmp_path, "l.csv", "\ufeffid,created_at,n,x,ok,name\r\n"
                                 'a,2026-01-01,1,1.5,yes,"two\r\nlines"\r\n'
                                 "b,,,,,\r\n")
    leads = read_leads(p, S)
    assert leads.keys == ["a", "b"]
    assert leads.columns["name"] == ["two\r\nlines", None]
    assert leads.rows == [2, 4]  # the row a record starts on, header = 1
    assert not leads.rejects


def test_semicolon_delimiter_is_detected_or_given(tmp_path):
    p = write(tmp_path, "l.csv", "id;created_at;n;x;ok;name\na;;1;;;x\n")
    assert read_leads(p, S).keys == ["a"]
    assert read_leads(p, S, delimiter=";").keys == ["a"]


def test_rejects_carry_row_column_and_value(tmp_path):
    p = write(tmp_path, "l.csv", "id,created_at,n,x,ok,name\n"
                                 "a,,1,,,\n"
                                 ",,1,,,\n"
                                 "c,,one,,,\n"
                                 "a,,2,,,\n")
    leads = read_leads(p, S)
    assert leads.keys == ["a"]
    assert leads.read == 4
    r = {x.row: x for x in leads.rejects}
    assert r[3].reason == "the lead key is missing"
    assert (r[4].column, r[4].value) == ("n", "one")
    assert "first seen in row 2" in r[5].reason


def test_strict_raises_at_first_bad_row(tmp_path):
    p = write(tmp_path, "l.csv", "id,created_at,n,x,ok,name\na,,x,,,\nb,,y,,,\n")
    with pytest.raises(DataError, match=r"l.csv:2"):
        read_leads(p, S, strict=True)


def test_events_rejects(tmp_path):
    p = write(tmp_path, "e.csv", "lead_id,ts,kind,v\n"
                                 "a,2026-01-01T00:00:00Z,open,1\n"
                                 "a,,open,1\n"
                                 "a,2026-01-01T00:00:00Z,,1\n"
                                 "a,2026-01-01T00:00:00Z,open,x\n")
    ev = read_events(p, S)
    assert ev.read == 4 and len(ev.leads) == 1
    assert [r.row for r in ev.rejects] == [3, 4, 5]


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_leads(write(tmp_path, "e.csv", ""), S)
    leads = read_leads(write(tmp_path, "h.csv", "id,created_at,n,x,ok,name\n"), S)
    assert leads.read == 0 and leads.keys == []


def test_missing_columns_name_the_schema_line(tmp_path):
    with pytest.raises(DataError) as err:
        read_leads(write(tmp_path, "l.csv", "id,n\na,1\n"), S)
    msg = str(err.value)
    assert "missing columns" in msg and "'x'" in msg and "declared at" in msg


def test_non_utf8_file(tmp_path):
    with pytest.raises(DataError, match="UTF-8"):
        read_leads(write(tmp_path, "l.csv", "id,name\na,Jos\xe9\n", "latin-1"), S)


def test_parquet_input(tmp_path):
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "created_at": ["2026-01-01", None],
                             "n": [1, None], "x": [1.5, 2.0], "ok": [True, None],
                             "name": ["A", None]}), p)
    leads = read_leads(p, S)
    assert leads.keys == ["a", "b"]
    assert leads.columns["n"] == [1.0, None]
    assert leads.columns["ok"] == [True, None]


def test_parquet_with_mismatched_types_is_rejected_per_row(tmp_path):
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "created_at": [None, None], "n": ["1", "x"],
                             "x": [None, None], "ok": [None, None], "name": [None, None]}), p)
    leads = read_leads(p, S)
    assert leads.keys == ["a"]
    assert leads.rejects[0].column == "n"


# ---------------------------------------------------------------- hostile files: no row lost
def test_an_unclosed_quote_rejects_its_row_and_the_rest_is_read(tmp_path):
    p = write(tmp_path, "l.csv", 'id,created_at,n,x,ok,name\na,,1,,,\nb,,2,,,"oops\nc,,3,,,\nd,,4,,,\n')
    leads = read_leads(p, S)
    assert leads.keys == ["a", "c", "d"] and leads.read == 4
    [r] = leads.rejects
    assert (r.row, r.column, r.value) == (3, None, 'b,,2,,,"oops')
    assert "never closed" in r.reason


def test_an_unclosed_quote_on_the_last_line(tmp_path):
    p = write(tmp_path, "l.csv", 'id,created_at,n,x,ok,name\na,,1,,,\nb,,2,,,"oops')
    leads = read_leads(p, S)
    assert leads.keys == ["a"] and [r.row for r in leads.rejects] == [3]


def test_a_header_that_opens_a_quote_forever(tmp_path):
    with pytest.raises(DataError, match=r"line 1: the header row opens a quote"):
        read_leads(write(tmp_path, "l.csv", 'id,"created_at,n\na,1\n'), S)


def test_quotes_inside_values_are_kept_as_csv_readers_do(tmp_path):
    p = write(tmp_path, "l.csv", 'id,created_at,n,x,ok,name\na,,1,,,"Smith" Jr\nb,,2,,,x"y\n')
    leads = read_leads(p, S)
    assert leads.columns["name"] == ["Smith Jr", 'x"y'] and not leads.rejects


def test_an_oversized_field_rejects_its_row_only(tmp_path):
    p = write(tmp_path, "l.csv", "id,created_at,n,x,ok,name\na,,1,,," + "x" * 200_000 + "\nb,,2,,,\n")
    leads = read_leads(p, S)
    assert leads.keys == ["b"]
    [r] = leads.rejects
    assert r.row == 2 and "field larger than field limit" in r.reason
    assert len(str(r)) < 400


def test_rows_longer_than_the_header(tmp_path):
    p = write(tmp_path, "l.csv", "id,created_at,n,x,ok,name\na,,1,,,Smith, John\nb,,2,,,x,,\n")
    leads = read_leads(p, S)
    assert leads.keys == ["b"]  # trailing empty values are harmless
    [r] = leads.rejects
    assert (r.row, r.column, r.value) == (2, None, " John")
    assert "7 values but the header 6 columns" in r.reason


def test_lone_cr_line_ends_and_blank_lines_before_the_header(tmp_path):
    p = write(tmp_path, "l.csv", "\r\n\nid;created_at;n;x;ok;name\ra;;1;;;\r\rb;;2;;;x,y\r")
    leads = read_leads(p, S)
    assert leads.keys == ["a", "b"] and leads.rows == [4, 6]
    assert leads.columns["name"] == [None, "x,y"]


def test_extra_and_unnamed_columns_are_listed(tmp_path):
    p = write(tmp_path, "l.csv", "id,owner,created_at,n,x,ok,name,,owner\na,z,,1,,,,,\n")
    assert read_leads(p, S).extra == ["owner", "(unnamed column 8)"]
    ev = read_events(write(tmp_path, "e.csv", "lead_id,ts,kind,v,utm\n"), S)
    assert ev.extra == ["utm"]


def test_a_schema_column_twice_in_the_header(tmp_path):
    with pytest.raises(DataError, match=r"names a column twice: 'n' is column 3 and 7"):
        read_leads(write(tmp_path, "l.csv", "id,created_at,n,x,ok,name,n\n"), S)


def test_missing_column_hint(tmp_path):
    with pytest.raises(DataError, match=r"'name' \(declared at .*\); did you mean `Name`\?"):
        read_leads(write(tmp_path, "l.csv", "id,created_at,n,x,ok,Name\n"), S)


def test_convert_edge_values():
    from decimal import Decimal

    assert convert(Decimal("2"), "int") == 2.0
    assert convert(b"abc", "text") == "abc"
    for bad, t, reason in [(Decimal("2.5"), "int", "whole number"),  # int() would truncate
                           ("1" + "0" * 400, "int", "beyond"), (10 ** 400, "int", "beyond"),
                           ([1, 2], "int", "found a list"), ({"a": 1}, "text", "found a dict"),
                           (b"\xff", "text", "not UTF-8"), (float("inf"), "int", "whole number"),
                           ("1e400", "float", "finite"), (1.5, "timestamp", "found a number")]:
        with pytest.raises(ValueError, match=reason):
            convert(bad, t)


def test_keys_match_across_int_float_and_text_columns(tmp_path):
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": [1.0, 2.5, None], "created_at": [None] * 3, "n": [None] * 3,
                             "x": [None] * 3, "ok": [None] * 3, "name": [None] * 3}), p)
    leads = read_leads(p, S)
    assert leads.keys == ["1", "2.5"]
    assert [r.reason for r in leads.rejects] == ["the lead key is missing"]
    e = tmp_path / "e.parquet"
    pq.write_table(pa.table({"lead_id": [1], "ts": ["2026-01-01"], "kind": ["open"],
                             "v": [None]}), e)
    assert read_events(e, S).leads == ["1"]


def test_a_float_key_past_the_key_length_is_a_reject(tmp_path):
    """1e300 is a whole number: its key has 301 digits, past MAX_KEY_CHARS (MySQL's key)."""
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": [1.0, 1e300], "created_at": [None] * 2, "n": [None] * 2,
                             "x": [None] * 2, "ok": [None] * 2, "name": [None] * 2}), p)
    leads = read_leads(p, S)
    assert leads.keys == ["1"]
    assert [(r.row, r.reason) for r in leads.rejects] == [
        (2, "a key longer than 255 characters, the most MySQL's key column holds")]


def test_unreadable_parquet_values_are_a_data_error(tmp_path):
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": ["a"], "created_at": pa.array([300_000 * 365 * 86_400],
                                                                 pa.timestamp("s"))}), p)
    with pytest.raises(DataError, match="column 'created_at'.*cannot hold"):
        read_leads(p, S)


def test_not_a_parquet_file(tmp_path):
    with pytest.raises(DataError, match="cannot read Parquet"):
        read_leads(write(tmp_path, "l.parquet", "id\na\n"), S)
