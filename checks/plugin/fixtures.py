"""The fixtures every area shares: the env, the snapshot, the run options and a tag name."""

from __future__ import annotations

import pytest

from checks.core.collect import Options
from checks.core.config import Env
from checks.core.snapshot import Snapshot
from checks.plugin.run import env_of, run_of, snapshot_of


@pytest.fixture(scope="session")
def env(pytestconfig: pytest.Config) -> Env:
    return env_of(pytestconfig)


@pytest.fixture(scope="session")
def snapshot(pytestconfig: pytest.Config) -> Snapshot:
    return snapshot_of(pytestconfig)


@pytest.fixture(scope="session")
def run_options(pytestconfig: pytest.Config) -> Options:
    return run_of(pytestconfig).options


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A mandatory tag name; the area's parametrization pairs it with a table or a bucket."""
    return request.param
