"""Fixtures for tests/pdv. Each wraps the `table` or `bucket` view (so the test is parametrized
over the env's resources by the dynamodb and s3 fixtures) and adds what the runbook text needs
({fix}, {pk}, {key}, {metric}, {address}).

Registered by the plugin (`import_plugin("checks.areas.pdv.fixtures")`).
"""

from __future__ import annotations

import pytest

from checks.areas.dynamodb import views as ddb
from checks.areas.pdv import parity as pdv_parity
from checks.areas.pdv import views as pv
from checks.areas.s3 import views as s3
from checks.core.config import Env
from checks.core.snapshot import Snapshot


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PDV-07 compares with the Terraform state: an env without [terraform] skips it with the reason."""
    from checks.plugin.run import env_of

    reason = env_of(config).absent("terraform")
    for item in items if reason else []:
        marker = item.get_closest_marker("issue")
        if marker is not None and marker.args[0] == "PDV-07":
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def design(table: ddb.Table) -> pv.Design:
    return pv.Design(table)


@pytest.fixture
def table_canary(table: ddb.Table) -> pv.TableCanary:
    return pv.TableCanary(table)


@pytest.fixture
def bucket_canary(bucket: s3.Bucket) -> pv.BucketCanary:
    return pv.BucketCanary(bucket)


@pytest.fixture
def round_trip(bucket: s3.Bucket) -> pv.RoundTrip:
    if bucket.env.s3.replication is None:
        pytest.skip(f"env {bucket.env.name} does not replicate (the round trip applies to PROD-shaped envs)")
    return pv.RoundTrip(bucket)


@pytest.fixture
def table_metrics(table: ddb.Table) -> pv.TableMetrics:
    return pv.TableMetrics(table)


@pytest.fixture
def bucket_metrics(bucket: s3.Bucket) -> pv.BucketMetrics:
    return pv.BucketMetrics(bucket)


@pytest.fixture
def table_drift(table: ddb.Table) -> pv.Drift:
    return pv.Drift(table, "table")


@pytest.fixture
def bucket_drift(bucket: s3.Bucket) -> pv.Drift:
    return pv.Drift(bucket, "bucket")


@pytest.fixture
def dr_bucket_drift(dr_bucket: s3.Bucket) -> pv.Drift:
    return pv.Drift(dr_bucket, "bucket")


@pytest.fixture
def inventory(snapshot: Snapshot, env: Env) -> pv.Inventory:
    return pv.Inventory(snapshot, env)


@pytest.fixture
def parity(snapshot: Snapshot, env: Env) -> pv.Parity:
    found = pv.Parity(snapshot, env)
    if not found.given:
        pytest.skip("no bundle to compare with: pass --compare-with <bundle dir> (e.g. the SIT bundle when "
                    f"promoting to PROD), or run `{pdv_parity.COMMAND}`")
    return found
