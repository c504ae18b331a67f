"""Fixtures for tests/s3: `bucket`, `tag` (of a bucket), `template`, `dr_bucket`, `replication_role`, `account`."""

from __future__ import annotations

import pytest

from checks.areas.s3 import views as v
from checks.core.config import Env
from checks.core.params import over
from checks.core.snapshot import Snapshot
from checks.plugin.run import env_of


@pytest.fixture
def bucket(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.Bucket:
    return v.Bucket(snapshot, env, request.param)


@pytest.fixture
def dr_bucket(snapshot: Snapshot, env: Env) -> v.Bucket:
    found = v.dr_bucket(snapshot, env)
    if found is None:
        pytest.skip(f"env {env.name} has no S3 replication (S3-05 applies to PROD)")
    return found


@pytest.fixture
def replication_role(snapshot: Snapshot, env: Env) -> v.ReplicationRole:
    found = v.replication_role(snapshot, env)
    if found is None:
        pytest.skip(f"env {env.name} does not replicate (S3-05 applies to PROD)")
    return found


@pytest.fixture
def template(request: pytest.FixtureRequest, snapshot: Snapshot, env: Env) -> v.Template:
    return v.Bucket(snapshot, env, env.s3.bucket).template(request.param)


@pytest.fixture
def account(snapshot: Snapshot, env: Env) -> v.Account:
    return v.Account(snapshot, env, env.account)


def buckets(env: Env) -> list[str]:
    return [env.s3.bucket]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    env = env_of(metafunc.config)
    if "bucket" in names and "table" not in names:
        if "tag" in names:
            over(metafunc, ("bucket", "tag"), [(b, t) for b in buckets(env) for t in env.bucket_tags()],
                 f"env {env.name} expects no bucket tags")
        else:
            metafunc.parametrize("bucket", buckets(env), indirect=True, ids=str)
    if "template" in names:
        over(metafunc, ("template",), list(env.s3.templates), f"env {env.name} expects no templates (s3.templates)")
