"""`leadscore lint`: every rule fires on a model that has the problem and stays quiet on a
fixed one; suppressions, output formats, exit codes and pyproject settings.

Expected positions are found in the source by a marker string (`at(src, "250")`), so each
test states where the caret must be without counting lines by hand.
"""

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import leadscore
from conftest import ROOT
from generators import example_count, examples
from leadscore.cli import main
from leadscore.compiler import Source, parse
from leadscore.compiler.check import check
from leadscore.lint import RULES, LintConfig, lint_source
from leadscore.lint.config import ConfigError, load
from leadscore.lint.facts import Facts
from leadscore.lint.formula import truth

SCHEMA = """\
schema {
  lead { key id  created created_at  field industry: text  field title: text
         field employees: int  field country: text  field email: text  field vip: bool }
  event { lead lead_id  time occurred_at  type kind
          types email_open, page_view, demo_request, webinar
          field page: text  field seconds: int }
}
"""

FIT = """\
score fit {
  rule "saas"   +20 when industry == "saas"
  rule "big"    +20 when employees >= 200
}
"""

TIERS = "tiers { cold; nurture at 20; mql at 35 }\n"


def model(*parts: str) -> str:
    return SCHEMA + "".join(parts)


def at(src: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """(line, column), 1-based, of the nth occurrence of `needle` in `src`."""
    pos = -1
    for _ in range(nth):
        pos = src.index(needle, pos + 1)
    line = src.count("\n", 0, pos) + 1
    return line, pos - (src.rfind("\n", 0, pos) + 1) + 1


def lint(src: str, *codes: str, path: str = "m.score", **cfg) -> list[tuple[str, int, int]]:
    config = LintConfig(select=list(codes) or ["ALL"], **cfg)
    return [(f.code, f.span.line, f.span.column) for f in lint_source(src, path, config).findings]


def fires(src: str, code: str, needle: str, nth: int = 1) -> None:
    assert lint(src, code) == [(code, *at(src, needle, nth))]


def clean(src: str, code: str) -> None:
    assert lint(src, code) == []


# ---------------------------------------------------------------- the registry
def test_registry_has_stable_codes_names_and_docs():
    assert len([r for r in RULES.values() if r.check is not None]) >= 22
    docs = (ROOT / "docs" / "lint.md").read_text()
    for code, r in RULES.items():
        assert re.fullmatch(r"LS\d{3}", code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name)
        assert r.severity in ("error", "warning", "info")
        assert f"## {code} {r.name}" in docs, f"docs/lint.md has no section for {code}"


# ---------------------------------------------------------------- acceptance: score inflation
INFLATED = model(FIT, """\
score engagement {
  rule "opens" +1 per event email_open
}
tiers { cold; nurture at 40; mql at 100 }
""")


def test_acceptance_uncapped_opens_reach_mql():
    findings = lint_source(INFLATED, "m.score", LintConfig(select=["LS103"])).findings
    assert [(f.code, f.span.line, f.span.column) for f in findings] == [
        ("LS103", *at(INFLATED, 'rule "opens"'))]
    f = findings[0]
    assert f.span.end_column - f.span.column == len('rule "opens" +1 per event email_open')
    assert "`mql`" in f.message


def test_acceptance_cap_clears_inflation():
    capped = INFLATED.replace("per event email_open", "per event email_open cap 10")
    clean(capped, "LS103")


def test_inflation_counts_score_cap_and_ignores_gated_tiers():
    src = INFLATED.replace("score engagement {", "score engagement cap 150 {")
    fires(src, "LS103", 'rule "opens"')  # the score cap (150) is above the threshold
    clean(src.replace("mql at 100", "mql at 100 require event demo_request"), "LS103")
    clean(src.replace("score engagement cap 150 {", "score engagement cap 60 {"), "LS103")


def test_inflation_sales_tiers_from_config():
    src = INFLATED.replace("mql at 100", "mql at 100 require event demo_request")
    assert lint(src, "LS103", sales_tiers=["nurture"]) == [("LS103", *at(src, 'rule "opens"'))]


def test_inflation_ignores_a_rule_one_event_already_reaches():
    src = INFLATED.replace("+1 per event email_open", "+100 per event demo_request")
    clean(src, "LS103")


# ---------------------------------------------------------------- LS1xx points and tiers
def test_ls101_unreachable_tier():
    fires(model(FIT, "tiers { cold; mql at 250 }\n"), "LS101", "250")
    clean(model(FIT, "tiers { cold; mql at 40 }\n"), "LS101")


def test_ls101_follows_caps_decay_and_total():
    src = model("""\
score fit cap 30 {
  rule "saas" +20 when industry == "saas"
  rule "big"  +20 when employees >= 200
}
score eng {
  rule "webinars" +10 per event webinar cap 30
  decay -5 every 30d without event
}
total = fit + eng / 2
tiers { cold; mql at 45; sql at 46 }
""")
    fires(src, "LS101", "46")  # 30 + 30 / 2 = 45


def test_ls102_tier_always_reached():
    src = model(FIT, "clamp total 10..100\ntiers { cold; warm at 5; hot at 30 }\n")
    fires(src, "LS102", "5;")
    clean(src.replace("warm at 5", "warm at 15"), "LS102")


def test_ls104_uncapped_repeatable_rule():
    src = model(FIT, 'score eng {\n  rule "views" +2 per event page_view\n}\n')
    fires(src, "LS104", 'rule "views"')
    clean(src.replace("page_view\n", "page_view cap 20\n"), "LS104")
    clean(src.replace("score eng {", "score eng cap 50 {"), "LS104")
    throttled = src.replace("page_view\n", "page_view within 28d at most once per 7d\n")
    clean(throttled, "LS104")


def test_ls105_cap_sign_mismatch():
    src = model(FIT, 'score eng {\n  rule "careers" -10 per event page_view cap 20\n}\n')
    fires(src, "LS105", "cap 20")
    clean(src.replace("cap 20", "cap -20"), "LS105")
    fires(src.replace("-10 per", "+10 per").replace("cap 20", "cap 0"), "LS105", "cap 0")
    # a negative cap on a score line is a lower bound, as a rule's: lint says so
    neg = model(FIT, 'score eng cap -15 {\n  rule "careers" -10 per event page_view\n}\n')
    fires(neg, "LS105", "-15")
    clean(neg.replace("cap -15", "floor -15"), "LS105")


def test_ls106_zero_points():
    src = model('score fit {\n  rule "nothing" +0 when industry == "saas"\n}\n')
    fires(src, "LS106", "+0")
    clean(src.replace("+0", "+5"), "LS106")


def test_ls107_ineffective_cap():
    src = model(FIT, 'score eng {\n  rule "demo" +20 once event demo_request cap 50\n}\n')
    fires(src, "LS107", "cap 50")
    clean(src.replace("cap 50", "cap 10"), "LS107")
    fires(model(FIT.replace("score fit {", "score fit cap 100 {")), "LS107", "100")


def test_ls107_clamp_bound_that_never_binds():
    src = model(FIT, "clamp total 0..30\n")
    fires(src, "LS107", "0..")  # fit is never below 0
    clean(model(FIT, "clamp total 5..30\n"), "LS107")


def test_ls108_decay_outlasts_windows():
    src = model("""\
score eng {
  rule "opens" +2 per event email_open within 30d cap 20
  decay -5 every 60d without event
}
""")
    fires(src, "LS108", "60d")
    clean(src.replace("60d", "14d"), "LS108")
    clean(src.replace("within 30d cap 20", "cap 20"), "LS108")  # no window: decay matters


def test_ls109_fade_outlasts_window():
    src = model('score eng {\n  rule "web" +5 per event webinar within 30d half_life 60d cap 50\n}\n')
    fires(src, "LS109", "half_life 60d")
    clean(src.replace("half_life 60d", "half_life 10d"), "LS109")


def test_ls110_throttle_exceeds_window():
    src = model('score eng {\n  rule "v" +3 per event page_view within 7d at most once per 7d\n}\n')
    fires(src, "LS110", "at most once")
    clean(src.replace("within 7d", "within 30d"), "LS110")


def test_ls111_decay_without_effect():
    src = model("""\
score penalty {
  rule "unsub" -50 once event email_open
  decay -10 every 30d without event
}
""")
    fires(src, "LS111", "-10")
    clean(src.replace('  decay', '  rule "web" +5 once event webinar\n  decay'), "LS111")


def test_ls112_unreachable_grade():
    src = model(FIT, "grade fit { A at 100; B at 10; C }\n")
    fires(src, "LS112", "100")
    clean(src.replace("100", "40"), "LS112")


# ---------------------------------------------------------------- LS2xx conditions
def test_ls201_contradiction():
    src = model('score fit {\n  rule "x" +5 when employees > 500 and employees < 100\n}\n')
    fires(src, "LS201", "employees > 500")
    clean(src.replace("> 500", "> 50"), "LS201")


def test_ls201_part_of_a_condition_and_missing():
    src = model('score fit {\n  rule "x" +5 when vip or (country is missing and country == "CR")\n'
                '}\n')
    fires(src, "LS201", "country is missing")
    clean(src.replace("is missing", "is present"), "LS201")


def test_ls201_constant_literals_and_tautologies():
    fires(model('score fit {\n  rule "x" +5 when 1 > 2\n}\n'), "LS201", "1 > 2")
    src = model('segment all when country is missing or country is present\n')
    fires(src, "LS201", "country is missing")
    # `>= 5 or < 5` is not always true: a missing value fails both
    clean(model('segment s when employees >= 5 or employees < 5\n'), "LS201")
    fires(model('segment s when count(event page_view) >= 0\n'), "LS201", "count(")
    clean(model('score fit {\n  rule "base" +10 when true\n}\n'), "LS201")  # written on purpose


def test_ls201_where_clause():
    src = model('score eng {\n  rule "x" +5 once event page_view where page == "/a" and page == "/b"'
                '\n}\n')
    fires(src, "LS201", 'page == "/a"')
    clean(src.replace('and page == "/b"', 'or page == "/b"'), "LS201")


def test_ls202_shadowed_segment():
    src = model("segment ent when employees >= 1000\nsegment big when employees >= 2000\n")
    fires(src, "LS202", "big")
    clean(model("segment big when employees >= 2000\nsegment ent when employees >= 1000\n"),
          "LS202")


def test_ls202_in_subsets_and_unions():
    src = model('segment latam when country in ["CR", "PA"]\nsegment cr when country in ["cr"]\n')
    fires(src, "LS202", "cr when")
    union = model("segment small when employees < 50\nsegment large when employees >= 50\n"
                  "segment mid when employees >= 10 and employees < 500\n")
    fires(union, "LS202", "mid")
    clean(model("segment small when employees < 50\nsegment mid when employees >= 10\n"), "LS202")


def test_ls203_gate_above_reachable_score():
    src = model(FIT, "tiers { cold; mql at 30 require fit >= 100 }\n")
    fires(src, "LS203", "fit >= 100")
    clean(src.replace("100", "40"), "LS203")


def test_ls203_gate_contradicts_threshold_or_segment():
    fires(model(FIT, "tiers { cold; mql at 30 require total < 20 }\n"), "LS203", "total < 20")
    src = model(FIT, """\
segment smb when employees < 50
tiers { cold; mql at 30 }
tiers for smb { cold; mql at 30 require employees >= 500 }
""")
    fires(src, "LS203", "employees >= 500")
    clean(src.replace(">= 500", ">= 20"), "LS203")


def test_ls203_gate_that_implies_disqualification():
    src = model(FIT, 'disqualify "student" when title contains "student"\n'
                'tiers { cold; mql at 30 require title contains "student" and vip }\n')
    fires(src, "LS203", 'title contains "student" and')
    clean(src.replace('require title contains "student" and vip', "require vip"), "LS203")


def test_ls204_fractional_int_literal():
    src = model('score fit {\n  rule "big" +5 when employees >= 200.5\n}\n')
    fires(src, "LS204", "200.5")
    clean(src.replace("200.5", "200"), "LS204")
    fires(model('segment s when count(event webinar) > 2.5\n'), "LS204", "2.5")
    fires(model('score e {\n  rule "r" +1 once event page_view where seconds == 2.5\n}\n'),
          "LS204", "2.5")


def test_ls205_duplicate_rule_condition():
    src = model('let saas = industry == "saas"\nscore fit {\n  rule "a" +5 when saas\n'
                '  rule "b" +5 when industry == "SaaS"\n}\n')
    fires(src, "LS205", 'rule "b"')
    clean(src.replace('"SaaS"', '"retail"'), "LS205")
    bonus = model('score e {\n  rule "first" +20 once event demo_request\n'
                  '  rule "each" +5 per event demo_request cap 20\n}\n')
    clean(bonus, "LS205")


def test_ls206_gate_double_counts():
    src = model(FIT, 'score e {\n  rule "demo" +40 once event demo_request\n}\n'
                "tiers { cold; mql at 50 require event demo_request }\n")
    fires(src, "LS206", 'rule "demo"')
    clean(src.replace("require event demo_request", "require event webinar"), "LS206")


def test_ls207_duplicate_list_item():
    src = model('segment latam when country in ["CR", "PA", "cr"]\n')
    fires(src, "LS207", '"cr"')
    clean(src.replace(', "cr"', ""), "LS207")


def test_ls208_padded_text_literal():
    src = model('segment s when industry == "saas "\n')
    fires(src, "LS208", '"saas "')
    clean(src.replace('"saas "', '"saas"'), "LS208")
    clean(model('segment s when title contains " vp "\n'), "LS208")


def test_ls209_empty_text_literal():
    src = model('segment s when industry == ""\n')
    fires(src, "LS209", '""')
    clean(model("segment s when industry is missing\n"), "LS209")


def test_ls210_shadowed_disqualify():
    src = model('disqualify "rival" when email ends_with "@rival.com"\n'
                'disqualify "rival staff" when email ends_with "@rival.com" and employees > 5\n')
    fires(src, "LS210", 'disqualify "rival staff"')
    clean(src.replace('email ends_with "@rival.com" and employees > 5', "employees > 5000"),
          "LS210")


# ---------------------------------------------------------------- LS3xx regular expressions
def test_ls301_regex_matches_everything():
    src = model('segment s when title matches ".*"\n')
    fires(src, "LS301", '".*"')
    clean(model('segment s when title matches "vp.*"\n'), "LS301")


def test_ls302_regex_is_plain_text():
    src = model('segment s when title matches "^student"\n')
    assert lint_source(src, "m", LintConfig(select=["LS302"])).findings[0].hint.startswith(
        'write `starts_with "student"`')
    fires(src, "LS302", '"^student"')
    clean(model('segment s when title matches "^(vp|chief)"\n'), "LS302")


def test_ls303_regex_unescaped_dot():
    src = model('disqualify "free mail" when email matches "@gmail.com$"\n')
    fires(src, "LS303", ".com$")
    clean(model('disqualify "free mail" when email matches "@gmail\\\\.com$"\n'), "LS303")
    clean(model('segment s when title matches "v.p"\n'), "LS303")  # a deliberate wildcard


def test_ls304_regex_anchor_precedence():
    src = model('segment s when title matches "^chief|head"\n')
    fires(src, "LS304", '"^chief')
    clean(model('segment s when title matches "^(chief|head)"\n'), "LS304")


def test_ls305_regex_backtracking():
    src = model('segment s when title matches "^(([a-z])+.)+[a-z]$"\n')
    fires(src, "LS305", '"^((')
    clean(model('segment s when title matches "(a+)+$"\n'), "LS305")  # the rewrite makes it safe


def test_ls305_adjacent_repetitions_over_overlapping_classes():
    src = model('segment s when title matches "^[a-z]*[0-9a]+$"\n')
    fires(src, "LS305", '"^[a-z]*')
    hit = [f for f in lint_source(src, "m.score").findings if f.code == "LS305"][0]
    assert "adjacent repetitions" in hit.message and "disjoint" in (hit.hint or "")
    # merged by the rewrite: `^a*$`, `^[a-z0-9]+$`
    clean(model('segment s when title matches "^a*a*a*$"\n'), "LS305")
    clean(model('segment s when title matches "^[a-z0-9]+[a-z]*$"\n'), "LS305")



def test_ls306_regex_large_count():
    fires(model('segment s when title matches "a.{255}b"\n'), "LS306", '"a.{255}b"')
    fires(model('segment s when title matches "^.*x[a-z]{20}"\n'), "LS306", '"^.*x')
    clean(model('segment s when title matches "^a.{255}b"\n'), "LS306")  # pinned: one start
    clean(model('segment s when title matches "a.{16}b"\n'), "LS306")
    clean(model('segment s when title matches "a[^a]{255}b"\n'), "LS306")


# ---------------------------------------------------------------- LS4xx declarations
def test_ls401_unused_let():
    src = model('let tech = industry == "software"\n', FIT)
    fires(src, "LS401", "tech")
    clean(src.replace('industry == "saas"', "tech"), "LS401")


def test_ls402_unused_score():
    src = model(FIT, 'score eng {\n  rule "demo" +40 once event demo_request\n}\ntotal = fit\n')
    fires(src, "LS402", "eng {")
    clean(src.replace("total = fit", "total = fit + eng"), "LS402")
    clean(src + "tiers { cold; hot at 30 require eng > 0 }\n", "LS402")


def test_ls403_unused_event_type():
    src = model(FIT, 'score e {\n  rule "d" +40 once event demo_request|email_open|page_view\n}\n')
    fires(src, "LS403", "webinar")
    clean(src.replace("page_view\n", "page_view|webinar\n"), "LS403")


def test_ls404_unused_field():
    src = model(FIT)
    found = lint(src, "LS404")
    assert ("LS404", *at(src, "title")) in found and ("LS404", *at(src, "seconds")) in found
    assert ("LS404", *at(src, "employees")) not in found


def test_ls405_duplicate_rule_label():
    src = model('score fit {\n  rule "big" +5 when employees > 10\n  rule "Big" +5 when vip\n}\n')
    fires(src, "LS405", '"Big"')
    clean(src.replace('"Big"', '"vip"'), "LS405")


def test_ls406_segment_without_tiers():
    src = model(FIT, "segment ent when employees >= 1000\nsegment smb when employees < 50\n"
                "tiers { cold; mql at 30 }\ntiers for ent { cold; mql at 35 }\n")
    fires(src, "LS406", "smb")
    clean(src + "tiers for smb { cold; mql at 25 }\n", "LS406")


def test_ls407_outcome_leak_field():
    src = SCHEMA.replace("field vip: bool", "field isConverted: bool") + \
        'score fit {\n  rule "won" +50 when isConverted\n}\n'
    fires(src, "LS407", "isConverted")
    clean(model(FIT), "LS407")


def test_ls408_import_replacement(tmp_path: Path):
    (tmp_path / "base.score").write_text(model(FIT, TIERS))
    child = 'import "base.score"\nscore fit {\n  rule "saas" +25 when industry == "saas"\n}\n'
    path = tmp_path / "child.score"
    path.write_text(child)
    found = lint(child, "LS408", path=str(path))
    assert found == [("LS408", *at(child, "score fit"))]
    assert lint(model(FIT, TIERS), "LS408") == []


def test_imported_names_are_known_and_base_findings_stay_in_the_base(tmp_path: Path):
    (tmp_path / "base.score").write_text(model('let unused = vip\n', FIT, TIERS))
    child = 'import "base.score"\nsegment big when employees >= 1000\n'
    (tmp_path / "child.score").write_text(child)
    found = lint(child, path=str(tmp_path / "child.score"))
    assert all(code != "LS000" for code, _, _ in found)
    assert ("LS401", 8, 5) not in found  # the base's unused let is the base's finding


def test_ls409_ungated_sales_tier():
    src = model(FIT, "tiers { cold; nurture at 20; mql at 35 }\n")
    fires(src, "LS409", "mql")
    clean(src.replace("mql at 35", "mql at 35 require event demo_request"), "LS409")


# ---------------------------------------------------------------- compile errors
def test_compile_errors_are_ls000_and_stop_the_rules():
    src = model('score fit {\n  rule "x" +5 when industy == "saas"\n}\ntiers { cold; mql at 500 }\n')
    assert lint(src) == [("LS000", *at(src, "industy"))]
    assert lint(src, "LS101") == [("LS000", *at(src, "industy"))]  # cannot be deselected


# ---------------------------------------------------------------- suppressions
def test_suppression_on_the_line_and_the_line_before():
    src = INFLATED.replace("email_open\n", "email_open  # leadscore: ignore[LS103]\n")
    assert lint(src, "LS103", "LS001") == []
    before = INFLATED.replace('  rule "opens"', '  # leadscore: ignore[score-inflation]\n'
                              '  rule "opens"')
    assert lint(before, "LS103", "LS001") == []


def test_lint_parses_the_file_once(monkeypatch):
    """The module the import resolver merges keeps the file's comments: lint reads its
    suppressions there instead of parsing the text a second time."""
    from leadscore.compiler import imports

    parsed: list[str] = []
    real = imports.parse
    monkeypatch.setattr(imports, "parse", lambda text, path: parsed.append(path) or real(text, path))
    src = INFLATED.replace("email_open\n", "email_open  # leadscore: ignore[LS103]\n")
    assert lint(src, "LS103", "LS001") == []
    assert parsed == ["m.score"]


def test_facts_read_the_checker_scope():
    src = model(FIT, "let big = employees >= 100\n")
    module = parse(src, "m.score")
    scope = check(module).scope
    assert scope is not None
    facts = Facts(module, scope, "m.score", {"m.score": Source("m.score", src)})
    assert facts.lets["big"] is scope.lets["big"] and facts.scores == scope.scores
    assert facts.lead_fields == scope.schema.lead_fields


def test_suppression_of_another_code_does_not_hide():
    src = INFLATED.replace("email_open\n", "email_open  # leadscore: ignore[LS104]\n")
    assert lint(src, "LS103") == [("LS103", *at(src, 'rule "opens"'))]


def test_unused_suppression():
    src = model(FIT, 'tiers { cold; mql at 30 }  # leadscore: ignore[LS101, LS999]\n'
                "# leadscore: ignore\n")
    found = lint(src, "LS101", "LS001")
    assert found == [("LS001", *at(src, "LS101")), ("LS001", *at(src, "LS999")),
                     ("LS001", *at(src, "# leadscore: ignore\n"))]
    # a suppression of a rule that is not selected is not reported as unused
    assert lint(src.replace(", LS999", ""), "LS001") == [
        ("LS001", *at(src, "# leadscore: ignore\n"))]


# ---------------------------------------------------------------- the examples
@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.score")), ids=lambda p: p.name)
def test_examples_have_only_infos(path: Path):
    result = lint_source(path.read_text(), str(path))
    assert result.compiled
    assert [f for f in result.findings if f.severity != "info"] == []


# ---------------------------------------------------------------- command line
def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["lint", *args], catch_exceptions=False)
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, ["lint", *args], catch_exceptions=False)


@pytest.fixture
def inflated(tmp_path: Path) -> Path:
    p = tmp_path / "inflated.score"
    p.write_text(INFLATED)
    return p


def test_cli_text_output_and_exit_1(inflated: Path):
    res = invoke(str(inflated), "--isolated")
    assert res.exit_code == 1
    line, col = at(INFLATED, 'rule "opens"')
    assert f"{inflated}:{line}:{col}: warning: rule \"opens\" alone can lift" in res.output
    assert "[LS103 score-inflation]" in res.output
    assert "^^^^" in res.output and "hint:" in res.output
    assert re.search(r"\d+ findings in 1 of 1 file \(\d+ warnings?, \d+ infos?\)", res.output)


def test_cli_clean_exits_0():
    res = invoke(str(ROOT / "examples" / "starter.score"), "--isolated")
    assert res.exit_code == 0, res.output
    res = invoke(str(ROOT / "examples" / "starter.score"), "--isolated", "--ignore", "LS206")
    assert res.output.strip() == "1 file linted: no findings"


def test_cli_fail_on(inflated: Path):
    assert invoke(str(inflated), "--isolated", "--fail-on", "error").exit_code == 0
    assert invoke(str(inflated), "--isolated", "--fail-on", "never").exit_code == 0
    starter = str(ROOT / "examples" / "starter.score")
    assert invoke(starter, "--isolated", "--fail-on", "info").exit_code == 1


def test_cli_usage_errors_exit_2(inflated: Path, tmp_path: Path):
    assert invoke().exit_code == 2
    assert invoke(str(tmp_path / "missing.score")).exit_code == 2
    assert invoke(str(inflated), "--format", "xml").exit_code == 2
    res = invoke(str(inflated), "--isolated", "--select", "LS999")
    assert res.exit_code == 2 and "unknown lint rule 'LS999'" in res.output


def test_cli_compile_error_exits_1(tmp_path: Path):
    p = tmp_path / "bad.score"
    p.write_text(model('score fit {\n  rule "x" +5 when industy == "saas"\n}\n'))
    res = invoke(str(p), "--isolated")
    assert res.exit_code == 1 and "[LS000 compile-error]" in res.output


def test_cli_json(inflated: Path):
    res = invoke(str(inflated), "--isolated", "--format", "json", "--select", "LS103")
    doc = json.loads(res.output)
    assert doc["summary"] == {"error": 0, "warning": 1, "info": 0}
    f = doc["findings"][0]
    assert (f["code"], f["name"], f["severity"]) == ("LS103", "score-inflation", "warning")
    assert (f["line"], f["column"]) == at(INFLATED, 'rule "opens"')


def test_cli_github(inflated: Path):
    res = invoke(str(inflated), "--isolated", "--format", "github", "--select", "LS103,LS409")
    lines = res.output.splitlines()
    line, col = at(INFLATED, 'rule "opens"')
    assert lines[0].startswith(f"::warning file={inflated},line={line},col={col},endLine={line},")
    assert "title=LS103 score-inflation::rule \"opens\"" in lines[0]
    assert lines[1].startswith("::notice ")  # infos are notices
    assert all("\n" not in x for x in lines)


SARIF_SHAPE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"]}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "level", "message", "locations"],
                    "properties": {
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "required": [
                                "artifactLocation", "region"], "properties": {"region": {
                                    "type": "object", "properties": {
                                        k: {"type": "integer", "minimum": 1} for k in (
                                            "startLine", "startColumn", "endLine", "endColumn")
                                    }}}}}}},
                    }}},
            }}},
    },
}


def test_cli_sarif(inflated: Path):
    res = invoke(str(inflated), "--isolated", "--format", "sarif")
    doc = json.loads(res.output)
    jsonschema.validate(doc, SARIF_SHAPE)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(RULES)
    result = next(r for r in run["results"] if r["ruleId"] == "LS103")
    assert rules[result["ruleIndex"]]["id"] == "LS103"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == at(INFLATED, 'rule "opens"')


def test_cli_help_has_an_example():
    res = CliRunner().invoke(main, ["lint", "--help"])
    assert res.exit_code == 0 and "leadscore lint examples/reference.score" in res.output


def test_cli_list_rules():
    res = invoke("--list-rules")
    assert res.exit_code == 0 and "LS103  score-inflation" in res.output


# ---------------------------------------------------------------- pyproject settings
def write_project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text(table)
    (root / "models").mkdir()
    p = root / "models" / "inflated.score"
    p.write_text(INFLATED)
    return p


def test_config_from_nearest_pyproject(tmp_path: Path):
    p = write_project(tmp_path, '[tool.leadscore.lint]\nignore = ["LS103", "uncapped-repeatable-rule"]\n'
                      'fail-on = "warning"\n[tool.leadscore.lint.severity]\nLS409 = "warning"\n')
    res = invoke(str(p), "--format", "json")
    codes = {(f["code"], f["severity"]) for f in json.loads(res.output)["findings"]}
    assert ("LS103", "warning") not in codes and ("LS104", "warning") not in codes
    assert ("LS409", "warning") in codes
    assert res.exit_code == 1  # LS409 is now a warning


def test_config_flat_tool_table_and_cli_override(tmp_path: Path):
    p = write_project(tmp_path, '[tool.leadscore]\nselect = ["LS1"]\nfail-on = "error"\n')
    res = invoke(str(p), "--format", "json")
    codes = {f["code"] for f in json.loads(res.output)["findings"]}
    assert codes and all(c.startswith("LS1") for c in codes)
    assert res.exit_code == 0  # fail-on error; only warnings
    assert invoke(str(p), "--fail-on", "warning").exit_code == 1
    assert invoke(str(p), "--isolated", "--select", "LS409", "--format", "json").exit_code == 0


def test_config_errors(tmp_path: Path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[tool.leadscore.lint]\nfail-on = "sometimes"\n')
    with pytest.raises(ConfigError):
        load(bad)
    bad.write_text('[tool.leadscore.lint]\nselct = ["LS1"]\n')
    with pytest.raises(ConfigError, match="selct"):
        load(bad)
    bad.write_text('[tool.leadscore.lint.severity]\nLS103 = "fatal"\n')
    with pytest.raises(ConfigError):
        load(bad)


def test_pre_commit_hooks_declared():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for hook, entry in (("leadscore-lint", "leadscore lint"), ("leadscore-fmt", "leadscore fmt")):
        assert f"id: {hook}" in text and f"entry: {entry}" in text


# ---------------------------------------------------------------- bounds are sound
@settings(max_examples=example_count(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(examples())
def test_scored_values_stay_within_the_lint_bounds(example):
    """Every score and total the engine computes lies in the range the linter derives, and
    no lead lands in a segment or tier the linter calls impossible: the findings built on
    those ranges (LS101, LS102, LS103, LS112, LS203...) are never false alarms."""
    case, data = example
    module = parse(case.text, "gen.score")
    scope = check(module).scope
    assert scope is not None
    facts = Facts(module, scope, "gen.score", {"gen.score": Source("gen.score", case.text)})
    rows = leadscore.loads(case.text).score(data.leads, data.events, data.as_of)
    never_segments = {s.name.text for s in facts.segments if truth(facts.cond(s.condition)) is False}
    unreachable = {(td.segment.text if td.segment else "default", e.name.text)
                   for td in facts.tier_sets for e in td.entries[1:]
                   if e.threshold is not None and e.threshold.value > facts.total_bounds.hi}

    def inside(v: float, iv) -> bool:
        slack = 1e-9 * max(1.0, abs(v))
        return iv.lo - slack <= v <= iv.hi + slack

    for row in rows:
        for name, iv in facts.score_bounds.items():
            assert inside(row[name], iv), (name, row[name], str(iv), case.text)
        if row["total"] is not None:
            assert inside(row["total"], facts.total_bounds), (row["total"], case.text)
        assert row["segment"] not in never_segments, case.text
        assert (row["segment"], row["tier"]) not in unreachable, case.text
