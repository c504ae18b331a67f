"""Fixtures for tests/dynamodb: `table`, `gsi`, `tag` (of a table), `backup`, `app_role` and `scope`.

Parametrized over what environments.toml expects, so ids read `test_pitr_enabled[tenants]`.
"""

from __future__ import annotations

import pytest

from checks.areas.dynamodb import access
from checks.areas.dynamodb import views as v
from checks.core.config import Env
from checks.core.params import over
from checks.core.snapshot import Snapshot
from checks.plugin.run import env_of


@pytest.fixture
def table(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.Table:
    return v.Table(snapshot, env, request.param)


@pytest.fixture
def gsi(request: pytest.FixtureRequest, table: v.Table) -> v.GsiView:
    return table.gsi(request.param)


@pytest.fixture
def backup(snapshot: Snapshot, env: Env) -> v.Backup:
    if env.backup is None:
        pytest.skip(env.absent("backup"))
    return v.Backup(snapshot, env, env.backup.plan)


@pytest.fixture
def app_role(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.AppRole:
    return v.AppRole(snapshot, env, request.param)


@pytest.fixture
def scope(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> access.Reads:
    return access.Reads(snapshot, env, request.param, access.scopes(env))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    env = env_of(metafunc.config)
    if "table" in names:
        no_tables = f"env {env.name} expects no tables (dynamodb.tables is empty)"
        if "gsi" in names:
            over(metafunc, ("table", "gsi"), [(t, g) for t in env.tables for g in env.tables[t].gsis],
                 f"env {env.name} expects no global secondary indexes")
        elif "tag" in names:
            over(metafunc, ("table", "tag"), [(t, tag) for t in env.tables for tag in env.table_tags()],
                 f"env {env.name} expects no table tags" if env.tables else no_tables)
        else:
            over(metafunc, ("table",), list(env.tables), no_tables)
    if "app_role" in names:
        over(metafunc, ("app_role",), list(env.iam.app_roles),
             f"env {env.name} has no app roles to check (iam.app_roles is empty)")
    if "scope" in names:
        over(metafunc, ("scope",), access.scopes(env), "no scopes")
