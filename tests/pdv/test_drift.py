"""PDV-07 drift: expected (environments.toml), Terraform state and live agree, every direction."""

import pytest

pytestmark = [pytest.mark.pdv, pytest.mark.smoke, pytest.mark.issue("PDV-07")]


@pytest.mark.dynamodb
def test_no_drift(table_drift):
    assert not table_drift.problem(), table_drift.problem()


@pytest.mark.s3
def test_no_drift_bucket(bucket_drift):
    assert not bucket_drift.problem(), bucket_drift.problem()


@pytest.mark.s3
def test_no_drift_dr_bucket(dr_bucket_drift):
    assert not dr_bucket_drift.problem(), dr_bucket_drift.problem()


def test_nothing_unexpected(inventory):
    found = inventory.unexpected()
    assert not found, "; ".join(found)
