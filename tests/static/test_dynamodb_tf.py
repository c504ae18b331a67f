"""Before deploy: the DynamoDB tables environments.toml expects, as the Terraform declares them per env.

DDB-01 table and keys, DDB-02 GSIs, DDB-03 PITR, PDV-02 billing / stream / SSE / deletion protection.
"""

import pytest

from checks.areas.static import rules
from checks.areas.static.findings import report

pytestmark = [pytest.mark.static, pytest.mark.dynamodb]


@pytest.mark.issue("DDB-01", reports="table-declared")
def test_table_declared(table_tf):
    found = table_tf.declared()
    assert not found, report(f"aws_dynamodb_table {table_tf.name} with the expected keys", found)


@pytest.mark.issue("DDB-02")
def test_gsi_declared(table_tf, gsi_tf):
    found = table_tf.rule(rules.gsi, table_tf.name, gsi_tf)
    assert not found, report(f"index {gsi_tf} on {table_tf.name} as environments.toml gives it", found)


@pytest.mark.issue("DDB-03")
def test_pitr_declared(table_tf):
    found = table_tf.rule(rules.pitr)
    assert not found, report(f"point-in-time recovery on {table_tf.name}", found)


@pytest.mark.issue("PDV-02")
def test_billing_mode_declared(table_tf):
    found = table_tf.rule(rules.billing_mode)
    assert not found, report(f"billing mode {table_tf.env.dynamodb.billing_mode} on {table_tf.name}", found)


@pytest.mark.issue("PDV-02")
def test_stream_declared(table_tf):
    found = table_tf.rule(rules.stream)
    assert not found, report(f"stream {table_tf.env.dynamodb.stream_view_type} on {table_tf.name}", found)


@pytest.mark.issue("PDV-02")
def test_sse_declared(table_tf):
    found = table_tf.rule(rules.sse)
    assert not found, report(f"server-side encryption {table_tf.env.dynamodb.sse} on {table_tf.name}", found)


@pytest.mark.issue("PDV-02")
def test_deletion_protection_declared(table_tf):
    if not table_tf.env.dynamodb.deletion_protection:
        pytest.skip(f"env {table_tf.env.name} does not require deletion protection (PROD does)")
    found = table_tf.rule(rules.deletion_protection)
    assert not found, report(f"deletion protection on {table_tf.name}", found)


@pytest.mark.issue("DDB-05")
def test_table_tags_declared(table_tf):
    found = table_tf.tags()
    assert not found, report(f"the mandatory tags on {table_tf.name} (resource tags or provider default_tags)", found)
