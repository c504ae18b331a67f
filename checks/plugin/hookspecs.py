"""Hooks the suite offers to other plugins (self-tests use them to break the world)."""

from typing import Any


def pytest_bbws_world_ready(world: Any) -> None:
    """The embedded world is built (faults included); a plugin may change it further."""


def pytest_bbws_aws_ready(aws: Any) -> None:
    """The guarded AWS layer exists and nothing has been read yet (e.g. add client hooks)."""
