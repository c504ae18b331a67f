"""The layout's rules, checked on the source: no import cycles, views that only read, one layout per area."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from checks import areas

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "checks"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every checks.* module this file imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, known) - {name} for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def package_of(module: str) -> str:
    """A module's package; importing a package's own submodule from its __init__ is not a cycle."""
    return module.rsplit(".", 1)[0]


def test_no_import_cycles():
    edges = graph()
    # A package __init__ that re-exports its own submodules is the normal shape, not a cycle between modules.
    pruned = {m: {d for d in deps if not (d.startswith(m + ".") and modules()[m].name == "__init__.py")}
              for m, deps in edges.items()}
    pruned = {m: {d for d in deps if not (m.startswith(d + ".") and modules()[d].name == "__init__.py")}
              for m, deps in pruned.items()}
    assert cycles(pruned) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("area", areas.names())
def test_area_has_the_common_layout(area):
    folder = PACKAGE / "areas" / area
    missing = [f for f in ("__init__.py", "reads.py", "collector.py", "views.py", "fixtures.py")
               if not (folder / f).is_file()]
    assert missing == [], f"area {area} lacks {missing}"


def test_views_and_tests_never_touch_aws():
    known = set(modules())
    offenders = []
    for path in [*PACKAGE.glob("areas/*/*view*.py"), *PACKAGE.glob("core/view.py")]:  # views.py and its parts
        imported = imports_of(path, known | {"boto3", "botocore"})
        text = path.read_text(encoding="utf-8")
        if {"checks.core.aws", "checks.core.collect"} & imported or "import boto3" in text:
            offenders.append(str(path.relative_to(ROOT)))
    for path in (ROOT / "tests").rglob("*.py"):
        if "boto3" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_core_does_not_depend_on_areas_plugin_or_world():
    edges = graph()
    upward = {m: sorted(d for d in deps if d.startswith(("checks.areas", "checks.plugin", "checks.world",
                                                         "checks.evidence")))
              for m, deps in edges.items() if m.startswith("checks.core")}
    assert {m: d for m, d in upward.items() if d} == {}


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}, "split these by job: one module, one job"


def test_an_area_uses_only_the_public_views_of_another():
    """PDV validates the other areas' resources through their views; anything else two areas share (or a
    private name) belongs in checks/core."""
    names = {p.name for p in (PACKAGE / "areas").iterdir() if (p / "__init__.py").is_file()}
    offenders = []
    for path in sorted(PACKAGE.glob("areas/*/**/*.py")):
        own = path.relative_to(PACKAGE / "areas").parts[0]
        others = names - {own}
        aliases: set[str] = set()  # names bound to another area's views module
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                offenders += [f"{where} import {a.name}" for a in node.names
                              if any(a.name.startswith(f"checks.areas.{o}") for o in others)]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                area = next((o for o in others if node.module.startswith(f"checks.areas.{o}")), None)
                if area is None:
                    continue
                if node.module == f"checks.areas.{area}":
                    bad = [a.name for a in node.names if a.name != "views"]
                    aliases |= {a.asname or a.name for a in node.names if a.name == "views"}
                elif node.module == f"checks.areas.{area}.views":
                    bad = [a.name for a in node.names if a.name.startswith("_")]
                else:
                    bad = [a.name for a in node.names]
                offenders += [f"{where} from {node.module} import {b}" for b in bad]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
