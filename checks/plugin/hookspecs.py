"""Hooks the suite offers to other plugins (self-tests use them to break the world)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from checks.core.aws import Aws
    from checks.world import World


@pytest.hookspec()
def pytest_bbws_world_ready(world: World) -> None:
    """The embedded world is built (faults included); a plugin may change it further."""


@pytest.hookspec()
def pytest_bbws_aws_ready(aws: Aws) -> None:
    """The guarded AWS layer exists and nothing has been read yet (e.g. add client hooks)."""
