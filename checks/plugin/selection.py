"""The suite's own selection options: `--severity P0,P1` keeps the checks whose catalog severity is listed
(a partial selection, recorded in the Run), and `--list-checks` prints the catalog instead of running."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from checks import areas
from checks.core import controls as ctl
from checks.core.catalog import SEVERITIES, Entry, catalog

LIST_CHECKS = pytest.StashKey[bool]()
NOT_MARKERS = {"issue", "parametrize", "usefixtures", "filterwarnings", "skip", "skipif", "xfail"}


def parse_severity(value: str | None) -> tuple[str, ...]:
    """"P0,P1" -> ("P0", "P1"); a name that is not a severity is a usage error."""
    if not value:
        return ()
    names = [v.strip().upper() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in SEVERITIES]
    if bad or not names:
        raise pytest.UsageError(f"--severity {value!r}: {', '.join(map(repr, bad)) or 'nothing given'} is not "
                                f"a severity; choose from {', '.join(SEVERITIES)} (e.g. --severity P0,P1)")
    return tuple(dict.fromkeys(names))


def severity_of(item: pytest.Item) -> str:
    """The catalog severity of a test item ("" outside the catalog)."""
    marker = item.get_closest_marker("issue")
    e = catalog().get(marker.args[0]) if marker is not None and marker.args else None
    return e.severity_for(item.name) if e is not None else ""


def by_severity(config: pytest.Config, items: list[pytest.Item], severities: tuple[str, ...]) -> int:
    """Deselect the items whose catalog severity is not listed; how many were deselected."""
    if not severities:
        return 0
    keep, drop = [], []
    for item in items:
        (keep if severity_of(item) in severities else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    return len(drop)


# ----- --list-checks -----

def tests_by_check(items: Iterable[pytest.Item]) -> dict[str, dict[str, Any]]:
    """{check id: {"tests": {name: severity}, "static": [names], "markers": set}} of the collected items."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        marker = item.get_closest_marker("issue")
        if marker is None or not marker.args:
            continue
        name = getattr(item, "originalname", item.name.split("[")[0])
        got = out.setdefault(marker.args[0], {"tests": {}, "static": [], "markers": set()})
        if areas.area_of(item.nodeid) == "static":
            got["static"] += [] if name in got["static"] else [name]
        else:
            got["tests"][name] = severity_of(item)
        got["markers"].update(m.name for m in item.iter_markers() if m.name not in NOT_MARKERS)
    return out


def controls_line(refs: Iterable[str]) -> str:
    groups: dict[str, list[str]] = {}
    for ref in refs:
        framework, control = ctl.split(ref)
        fw = ctl.frameworks().get(framework)
        groups.setdefault(fw.short if fw else framework, []).append(control)
    return "; ".join(f"{name} {', '.join(ids)}" for name, ids in groups.items()) or "none mapped"


def entry_lines(e: Entry, found: dict[str, Any]) -> list[str]:
    area = areas.label(areas.area_of_check(e.id)) if areas.area_of_check(e.id) else "–"
    tests = ", ".join(f"{t} ({s})" if s and s != e.severity else t for t, s in found["tests"].items())
    every = controls_line(ctl.expand(e.controls)) if e.controls or not e.test_controls else "by test:"
    return [f"{e.id:<8} {e.severity}  {area:<9} {e.title}",
            f"    markers:  {', '.join(sorted(found['markers'])) or '–'}",
            f"    tests:    {tests or 'none collected'}",
            f"    static:   {', '.join(found['static']) or '–'}",
            f"    controls: {every}" + (" (every test)" if e.controls and e.test_controls else ""),
            *(f"      {test}: {controls_line(ctl.expand(refs))}" for test, refs in e.test_controls.items())]


def listing(items: Iterable[pytest.Item], severities: tuple[str, ...] = ()) -> list[str]:
    """The catalog, one block per check id: severity, area, title, markers, tests, static counterparts and
    controls; with --severity only the ids that have a listed severity."""
    found = tests_by_check(items)
    empty = {"tests": {}, "static": [], "markers": set()}
    out = []
    for cid, e in catalog().items():
        got = found.get(cid, empty)
        if severities and e.severity not in severities and not got["tests"] and not got["static"]:
            continue
        out += entry_lines(e, got)
    out += ["", "controls: catalog.toml's [control] tables, each with the page it is sourced from; frameworks:"]
    out += [f"    {f.short:<15} {f.title} ({f.source})" for f in ctl.frameworks().values()]
    return out
