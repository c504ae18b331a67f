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
    for path in [*PACKAGE.glob("areas/*/views.py"), *PACKAGE.glob("core/view.py")]:
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
