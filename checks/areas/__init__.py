"""The check areas. Each is a package with the same layout:

    reads.py     the read specs (checks.core.read.Read) its collector sends and its views look up
    collector.py `collect(ctx)`: every read of the area, once, into the snapshot
    views.py     pure reads of the snapshot for its tests
    fixtures.py  the pytest fixtures and parametrization that hand the views to tests/<area>

A new area is a new folder here plus its name in AREAS.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

AREAS = ("static", "dynamodb", "s3", "cicd", "pdv")  # static first: its tests also carry their topic's marker


def collectors() -> list[Callable[[Any], None]]:
    return [import_module(f"checks.areas.{name}.collector").collect for name in AREAS]


def fixture_plugins() -> list[str]:
    return [f"checks.areas.{name}.fixtures" for name in AREAS]
