"""Fixtures for tests/static: `table_tf`, `gsi_tf`, `backup_tf`, `bucket_tf`, `versions_tf`.

Parametrized over what environments.toml expects, so ids read `test_pitr_declared[tenants]`.
Without an infra repo they skip with what to set.
"""

from __future__ import annotations

import pytest

from checks.areas.static import views as v
from checks.core.config import Env
from checks.core.params import pairs
from checks.core.snapshot import Snapshot
from checks.plugin.run import env_of


def _view(cls: type[v.StaticView], snapshot: Snapshot, env: Env, name: str) -> v.StaticView:
    if v.repo_texts(snapshot) is None:
        pytest.skip(v.NO_INFRA)
    why = v.unbound(snapshot, env) if cls is not v.VersionsTf else ""  # VersionsTf: per rule
    if why:
        pytest.skip(why)
    return cls(snapshot, env, name)


@pytest.fixture
def table_tf(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.TableTf:
    return _view(v.TableTf, snapshot, env, request.param)


@pytest.fixture
def gsi_tf(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def backup_tf(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.BackupTf:
    if env.backup is None:
        pytest.skip(env.absent("backup"))
    return _view(v.BackupTf, snapshot, env, request.param)


@pytest.fixture
def bucket_tf(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.BucketTf:
    return _view(v.BucketTf, snapshot, env, request.param)


@pytest.fixture
def versions_tf(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.VersionsTf:
    if env.terraform is None:
        pytest.skip(env.absent("terraform"))
    return _view(v.VersionsTf, snapshot, env, request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    env = env_of(metafunc.config)
    if "table_tf" in names:
        if "gsi_tf" in names:
            pairs(metafunc, ("table_tf", "gsi_tf"), [(t, g) for t in env.tables for g in env.tables[t].gsis])
        else:
            metafunc.parametrize("table_tf", list(env.tables), indirect=True, ids=str)
    if "backup_tf" in names:
        metafunc.parametrize("backup_tf", [env.backup.plan if env.backup else "backup"], indirect=True, ids=str)
    if "bucket_tf" in names:
        metafunc.parametrize("bucket_tf", [env.s3.bucket], indirect=True, ids=str)
    if "versions_tf" in names:
        metafunc.parametrize("versions_tf", ["terraform"], indirect=True, ids=str)
