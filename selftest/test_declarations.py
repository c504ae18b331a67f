"""What a contributor declares is complete and agrees with itself: the fast check to run after adding a
check, a fault or an area (seconds, no world). Each message says what to add where.

    .venv/bin/pytest selftest/test_declarations.py
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checks import areas, derive
from checks.core.area import Area
from checks.core.catalog import catalog
from checks.world.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
LAYOUT = ("__init__.py", "reads.py", "collector.py", "views.py", "fixtures.py")


def functions_in_tests() -> dict[str, tuple[str, dict[str, str], Path]]:
    """Every test function under tests/: name -> (its catalog id, the issue marker's keywords, file)."""
    out = {}
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_issue = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
                module_issue = next((m for m in ast.walk(node.value) if _issue(m)), None)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marker = next((d for d in node.decorator_list if _issue(d)), module_issue)
                if marker is not None:
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in marker.keywords}
                    out[node.name] = (ast.literal_eval(marker.args[0]), kwargs, path)
    return out


def _issue(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "issue"
            and bool(node.args))


TESTS_BY_NAME = functions_in_tests()


@pytest.mark.parametrize("name", areas.names())
def test_each_area_declares_itself_and_has_the_common_layout(name: str) -> None:
    area = areas.declared()[name]
    assert isinstance(area, Area) and area.label and area.markers, f"checks/areas/{name}/__init__.py: incomplete AREA"
    folder = ROOT / "checks" / "areas" / name
    missing = [f for f in LAYOUT if not (folder / f).is_file()]
    assert missing == [], f"checks/areas/{name} lacks {missing} (see CONTRIBUTING.md, 'Adding an area')"
    assert (TESTS / name).is_dir(), f"area {name} has no tests/{name}/ folder"
    assert area.aws_reads == "none" or area.reads, f"area {name} reads AWS but declares no READS in its reads.py"
    if area.faults:
        assert (ROOT / (area.faults.replace(".", "/") + ".py")).is_file(), f"AREA.faults names no module: {area.faults}"


def test_every_catalog_id_belongs_to_an_area_and_every_test_to_the_catalog() -> None:
    ids = set(catalog())
    orphans = sorted(i for i in ids if not areas.area_of_check(i))
    assert orphans == [], f"catalog ids whose prefix no AREA declares (AREA.prefixes): {orphans}"
    unknown = {n: c for n, (c, _, _) in TESTS_BY_NAME.items() if c not in ids}
    assert unknown == {}, f"tests whose issue id is not in checks/core/catalog.toml: {unknown}"


def test_every_test_is_in_an_area_folder() -> None:
    outside = sorted(str(p.relative_to(ROOT)) for _, _, p in TESTS_BY_NAME.values() if not areas.area_of(str(p)))
    assert outside == [], f"tests outside tests/<area>/: {outside}"


def _missing_by() -> dict[str, list[str]]:
    """Every reporter key a view names (`Missing(..., by="DDB-01/table")`), with where."""
    found: dict[str, list[str]] = {}
    for path in (ROOT / "checks").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Missing":
                for k in node.keywords:
                    if k.arg == "by" and isinstance(k.value, ast.Constant) and k.value.value:
                        found.setdefault(k.value.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "reporter" for t in node.targets) \
                    and isinstance(node.value, ast.Constant) and node.value.value:
                found.setdefault(node.value.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_missing_resource_has_exactly_one_reporter() -> None:
    reporters: dict[str, list[str]] = {}
    for name, (check, kwargs, _) in TESTS_BY_NAME.items():
        if kwargs.get("reports"):
            reporters.setdefault(f"{check}/{kwargs['reports']}", []).append(name)
    named = _missing_by()
    assert not (set(named) - set(reporters)), {
        k: f"named at {named[k]}, but no test declares @pytest.mark.issue({k.split('/')[0]!r}, "
           f"reports={k.split('/', 1)[1]!r})" for k in set(named) - set(reporters)}
    twice = {k: v for k, v in reporters.items() if len(v) > 1}
    assert twice == {}, f"more than one test reports the same absence: {twice}"
    for key in named:
        assert re.fullmatch(r"[A-Z0-9]+-\d+/[a-z-]+", key), f"a reporter key is '<catalog id>/<what>', got {key!r}"


@pytest.mark.parametrize("fid", list(FAULTS))
def test_each_fault_names_tests_that_exist_with_their_ids(fid: str) -> None:
    f = FAULTS[fid]
    for template, check in {**f.fails, **f.errors}.items():
        name = template.split("[", 1)[0]
        assert name in TESTS_BY_NAME, f"fault {fid} names {name}, which no file under tests/ defines"
        assert TESTS_BY_NAME[name][0] == check, f"fault {fid}: {name} is {TESTS_BY_NAME[name][0]}, not {check}"
    assert f.changes, f"fault {fid} declares no `changes` (the reads whose answers it changes)"
    undeclared = f.changes - areas.allowlist()
    assert not undeclared, f"fault {fid} changes reads no area declares: {undeclared}"
    assert f.area in areas.declared(), f"fault {fid} is not declared in an area's faults module"


def test_the_derived_files_are_current() -> None:
    """environments.schema.json, iam/*.json and README's permission list and key table follow the declarations."""
    stale = [str(p.relative_to(ROOT)) for p in derive.stale()]
    assert stale == [], f"{stale} differ from the declarations: run `python -m checks.derive`"


def test_markers_used_in_tests_are_declared() -> None:
    from checks.plugin import MARKERS

    known = {m.split("(")[0] for m in MARKERS} | set(areas.markers()) | {"parametrize", "skip", "skipif", "xfail"}
    used = set()
    for path in TESTS.rglob("*.py"):
        used |= set(re.findall(r"pytest\.mark\.([a-z_0-9]+)", path.read_text(encoding="utf-8")))
    assert used <= known, f"markers no AREA (nor the plugin's MARKERS) declares: {sorted(used - known)}"
