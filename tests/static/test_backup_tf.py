"""Before deploy: DDB-04, the AWS Backup vault, plan, DR copy and selection as aws_backup_* resources."""

import pytest

from checks.areas.static.findings import report

pytestmark = [pytest.mark.static, pytest.mark.dynamodb, pytest.mark.issue("DDB-04")]


def _tables(backup_tf):
    if not backup_tf.env.tables:
        pytest.skip(f"env {backup_tf.env.name} expects no tables to back up")


def test_backup_vault_declared(backup_tf):
    _tables(backup_tf)
    found = backup_tf.vault()
    assert not found, report(f"aws_backup_vault {backup_tf.env.backup.vault}", found)


@pytest.mark.issue("DDB-04", reports="plan-declared")
def test_backup_plan_declared(backup_tf):
    _tables(backup_tf)
    found = backup_tf.plan_rules()
    want = backup_tf.env.backup
    assert not found, report(f"aws_backup_plan {want.plan} with a {want.frequency} rule kept {want.retention_days} "
                             "days", found)


def test_backup_copy_declared(backup_tf):
    region = backup_tf.env.backup.copy_to_region
    if not region:
        pytest.skip(f"env {backup_tf.env.name} has no DR copy")
    found = backup_tf.copy()
    assert not found, report(f"a copy_action to a vault in {region}", found)


def test_backup_selection_declared(backup_tf, table_tf):
    found = backup_tf.selection_covers(table_tf)
    assert not found, report(f"an aws_backup_selection of {backup_tf.env.backup.plan} covering {table_tf.name}",
                             found)
