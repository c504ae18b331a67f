"""Parametrization helpers for the areas' fixtures: indirect fixtures over what environments.toml expects."""

from __future__ import annotations

from typing import Any

import pytest


def pairs(metafunc: pytest.Metafunc, argnames: tuple[str, str], values: list[tuple[Any, Any]]) -> None:
    """Parametrize two indirect fixtures together, with ids `a-b`."""
    metafunc.parametrize(argnames, values, indirect=True, ids=[f"{a}-{b}" for a, b in values])


def over(metafunc: pytest.Metafunc, names: tuple[str, ...], values: list, reason: str) -> None:
    """Parametrize indirect fixtures over values; with none, one row that skips with the reason
    (pytest's own empty-parameter row says only `[NOTSET]`)."""
    if not values:
        empty = pytest.param(*(None for _ in names), marks=pytest.mark.skip(reason=reason), id="none")
        metafunc.parametrize(names, [empty], indirect=True)
    elif len(names) == 2:
        pairs(metafunc, names, values)
    else:
        metafunc.parametrize(names[0], values, indirect=True, ids=str)
