"""The check areas, found as the packages here. Each has the same layout:

    __init__.py  AREA, its declaration (checks.core.area.Area): label, id prefixes, markers, reads, faults
    reads.py     the read specs (checks.core.read.Read) its collector sends and its views look up, and READS
    collector.py `collect(ctx)`: every read of the area, once, into the snapshot
    views.py     pure reads of the snapshot for its tests
    fixtures.py  the pytest fixtures and parametrization that hand the views to tests/<area>
    faults.py    (optional) the runbook faults the embedded world can inject, each with what it must fail

A new area is a new folder here (and tests/<area>/): everything that lists areas is derived from AREA.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from functools import cache
from importlib import import_module
from pathlib import PurePosixPath
from typing import Any

from checks.core.area import Area, Operation
from checks.core.read import CORE_READS


@cache
def declared() -> dict[str, Area]:
    """Every area's declaration, in the report's order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        area = getattr(import_module(f"{__name__}.{info.name}"), "AREA", None)
        if not isinstance(area, Area) or area.name != info.name:
            raise TypeError(f"checks/areas/{info.name}/__init__.py must declare AREA = Area(name={info.name!r}, ...)")
        found.append(area)
    return {a.name: a for a in sorted(found, key=lambda a: (a.order, a.name))}


def names() -> tuple[str, ...]:
    return tuple(declared())


def collectors() -> list[Callable[[Any], None]]:
    return [import_module(f"{__name__}.{name}.collector").collect for name in declared()]


def collectors_of(selected: list[str]) -> list[Callable[[Any], None]]:
    return [import_module(f"{__name__}.{name}.collector").collect for name in selected]


def fixture_plugins() -> list[str]:
    return [f"{__name__}.{name}.fixtures" for name in declared()]


def markers() -> dict[str, str]:
    """The markers the areas introduce, with their help text."""
    return {m: text for area in declared().values() for m, text in area.markers.items()}


def reads(canary: bool = False) -> frozenset[Operation]:
    """What the areas call: without canaries (a clean run's reads), or with their canary-only reads too."""
    out: set[Operation] = set()
    for area in declared().values():
        out |= area.reads | (area.canary_reads if canary else frozenset())
    return frozenset(out)


def allowlist() -> frozenset[Operation]:
    """The read-only guard's allowlist: the account guard's own read and every area's, canaries' included.
    An operation is allowed because an area declares it, never because of its name."""
    return CORE_READS | reads(canary=True)


def area_of(path: str) -> str:
    """The area of a test, from its path or node id: the folder under tests/ ("" outside any area)."""
    parts = PurePosixPath(str(path).split("::", 1)[0].replace("\\", "/")).parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "tests" and parts[i + 1] in declared():
            return parts[i + 1]
    return ""


def area_of_check(check_id: str) -> str:
    """The area whose id prefix a catalog id has ("" when none)."""
    prefix = check_id.split("-", 1)[0]
    return next((a.name for a in declared().values() if prefix in a.prefixes), "")


def label(name: str) -> str:
    area = declared().get(name)
    return area.label if area else "other"
