"""import "file.score": a shared base with per-product replacements."""

import pytest

import leadscore
from leadscore.compiler import CompileError
from leadscore.compiler.imports import resolve

BASE = """schema {
  lead { key id  field industry: text  field employees: int }
}
score fit {
  rule "tech" +20 when industry == "saas"
}
segment big when employees >= 1000
segment small when employees < 50
tiers { cold; warm at 10 }
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_later_definitions_replace_earlier_ones_in_place(tmp_path):
    write(tmp_path, "shared/base.score", BASE)
    product = write(tmp_path, "product.score", 'import "shared/base.score"\n'
                    'score fit { rule "tech" +30 when industry == "saas" }\n'
                    "segment small when employees < 100\n"
                    "tiers { cold; warm at 25 }\n")
    model = leadscore.load(product)
    rows = model.score([{"id": "a", "industry": "SaaS", "employees": 80},
                        {"id": "b", "industry": "saas", "employees": 5000}], [], "2026-01-01")
    assert [(r["fit"], r["segment"], r["tier"]) for r in rows] == [
        (30.0, "small", "warm"), (30.0, "big", "warm")]
    assert model.ir.sources[0].endswith("product.score")
    resolved = resolve(product.read_text(), str(product))
    assert sorted(r.identity for r in resolved.replacements) == ["score fit", "segment small",
                                                                 "tiers"]


def test_segment_order_of_the_base_holds(tmp_path):
    write(tmp_path, "base.score", BASE)
    product = write(tmp_path, "p.score", 'import "base.score"\nsegment big when employees >= 10\n')
    rows = leadscore.load(product).score([{"id": "a", "employees": 20}], [], "2026-01-01")
    assert rows[0]["segment"] == "big"  # `big` is still checked before `small`


def test_cycle_and_missing_file_are_located(tmp_path):
    a = write(tmp_path, "a.score", 'import "b.score"\n')
    write(tmp_path, "b.score", 'import "a.score"\n')
    with pytest.raises(CompileError) as err:
        leadscore.load(a)
    d = err.value.diagnostics[0]
    assert "import cycle: b.score -> a.score -> b.score" in d.message or "import cycle" in d.message
    assert (d.span.line, d.span.column) == (1, 8)
    missing = write(tmp_path, "m.score", BASE + 'import "nope.score"\n')
    with pytest.raises(CompileError) as err:
        leadscore.load(missing)
    d = err.value.diagnostics[0]
    assert "cannot import 'nope.score': no such file" in d.message
    assert d.span.line == 10


def test_errors_in_an_imported_file_point_into_it(tmp_path):
    write(tmp_path, "base.score", BASE.replace('industry == "saas"', 'industy == "saas"'))
    product = write(tmp_path, "p.score", 'import "base.score"\n')
    with pytest.raises(CompileError) as err:
        leadscore.load(product)
    d = err.value.diagnostics[0]
    assert d.span.path.endswith("base.score") and d.span.line == 5
    assert "industy" in err.value.render()


def test_duplicates_within_one_file_are_still_errors(tmp_path):
    p = write(tmp_path, "p.score", BASE + "segment big when employees > 5\n")
    with pytest.raises(CompileError, match="segment `big` is declared twice"):
        leadscore.load(p)


def located_import_error(path, message: str) -> None:
    with pytest.raises(CompileError) as err:
        leadscore.load(path)
    d = err.value.diagnostics[0]
    assert message in d.message, d.message
    assert (d.span.path, d.span.line, d.span.column) == (str(path), 1, 8)
    assert err.value.sources[str(path)].text.startswith("import")  # the import line is shown


def test_imports_are_confined_to_the_root_models_tree(tmp_path):
    write(tmp_path, "outside.score", BASE)
    write(tmp_path, "proj/shared/base.score", BASE)
    write(tmp_path, "proj/shared/up.score", 'import "../../outside.score"\n')
    # a sibling through `..` stays inside the root: allowed
    write(tmp_path, "proj/shared/fit.score", 'import "../shared/base.score"\n')
    root = write(tmp_path, "proj/p.score", 'import "shared/fit.score"\n')
    assert leadscore.load(root).ir.sources[-1].endswith("base.score")
    located_import_error(write(tmp_path, "proj/a.score", 'import "../outside.score"\n'),
                         "outside the model's directory")
    located_import_error(write(tmp_path, "proj/b.score", f'import "{tmp_path}/outside.score"\n'),
                         "an absolute path")
    # an imported file climbing out is refused at its own import
    root = write(tmp_path, "proj/c.score", 'import "shared/up.score"\n')
    with pytest.raises(CompileError) as err:
        leadscore.load(root)
    d = err.value.diagnostics[0]
    assert "outside the model's directory" in d.message and d.span.path.endswith("up.score")


def test_an_imported_file_that_is_no_model_is_never_shown(tmp_path):
    write(tmp_path, "secret.score", "TOKEN=s3cr3t-value\n")
    p = write(tmp_path, "p.score", 'import "secret.score"\n')
    located_import_error(p, "not a model file")
    with pytest.raises(CompileError) as err:
        leadscore.load(p)
    assert "s3cr3t" not in err.value.render()
    assert str(tmp_path / "secret.score") not in err.value.sources


def test_a_model_without_a_file_imports_from_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path, "base.score", BASE)
    write(tmp_path, "inner/base.score", BASE)
    monkeypatch.chdir(tmp_path / "inner")
    resolved = resolve('import "base.score"\n', "<string>")
    assert resolved.files == ["<string>", "base.score"]
    with pytest.raises(CompileError, match="outside the model's directory"):
        resolve('import "../base.score"\n', "<string>")


def test_whether_a_file_exists_outside_the_tree_is_not_told(tmp_path):
    write(tmp_path, "there.score", BASE)
    for target in ("../there.score", "../not_there.score"):
        located_import_error(write(tmp_path, "proj/p.score", f'import "{target}"\n'),
                             "outside the model's directory")
