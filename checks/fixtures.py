"""Fixtures that give the DynamoDB and S3 tests their resource views, one per expected resource.

A test asks for `table`, `bucket`, `template`, `gsi`, `tag`, `app_role` or `scope` and is
parametrized over what environments.toml expects, so ids read `test_pitr_enabled[tenants]`.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import views
from .collect import Options
from .config import Env
from .plugin import env_of, run_of, snapshot_of
from .snapshot import Snapshot


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
def table(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.Table:
    return views.Table(snapshot, env, request.param)


@pytest.fixture
def gsi(request: pytest.FixtureRequest, table: views.Table) -> views.GsiView:
    return table.gsi(request.param)


@pytest.fixture
def bucket(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.Bucket:
    return views.Bucket(snapshot, env, request.param)


@pytest.fixture
def dr_bucket(snapshot: Snapshot, env: Env) -> views.Bucket:
    found = views.dr_bucket(snapshot, env)
    if found is None:
        pytest.skip(f"env {env.name} has no S3 replication (S3-05 applies to PROD)")
    return found


@pytest.fixture
def template(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.Template:
    return views.Bucket(snapshot, env, env.s3.bucket).template(request.param)


@pytest.fixture
def backup(snapshot: Snapshot, env: Env) -> views.Backup:
    return views.Backup(snapshot, env, env.backup.plan)


@pytest.fixture
def account(snapshot: Snapshot, env: Env) -> views.Account:
    return views.Account(snapshot, env, env.account)


@pytest.fixture
def app_role(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.AppRole:
    return views.AppRole(snapshot, env, request.param)


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def scope(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> views.Reads:
    return views.Reads(snapshot, env, request.param, scopes(env))


def scopes(env: Env) -> list[str]:
    """The resources DDB-06 reports denied reads under; 'account' takes the rest."""
    rep = env.s3.replication
    return [*env.tables, env.s3.bucket, *([rep.destination] if rep else []), "account"]


def buckets(env: Env) -> list[str]:
    return [env.s3.bucket]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    if not names & {"table", "bucket", "template", "app_role", "scope"}:
        return
    env = env_of(metafunc.config)
    owner, owners = ("table", list(env.tables)) if "table" in names else ("bucket", buckets(env))
    if "gsi" in names:
        pairs = [(t, g) for t in env.tables for g in env.tables[t].gsis]
        _pairs(metafunc, ("table", "gsi"), pairs)
    elif "tag" in names:
        tags = env.table_tags() if owner == "table" else env.bucket_tags()
        _pairs(metafunc, (owner, "tag"), [(o, t) for o in owners for t in tags])
    elif owner in names:
        metafunc.parametrize(owner, owners, indirect=True, ids=str)
    if "template" in names:
        metafunc.parametrize("template", env.s3.templates, indirect=True, ids=str)
    if "app_role" in names:
        metafunc.parametrize("app_role", list(env.iam.app_roles), indirect=True, ids=str)
    if "scope" in names:
        metafunc.parametrize("scope", scopes(env), indirect=True, ids=str)


def _pairs(metafunc: pytest.Metafunc, argnames: tuple[str, str], pairs: list[tuple[Any, Any]]) -> None:
    metafunc.parametrize(argnames, pairs, indirect=True, ids=[f"{a}-{b}" for a, b in pairs])
