"""DDB-01 Table not found, DDB-02 GSI creation failed, DDB-03 PITR not enabled."""

import pytest

pytestmark = [pytest.mark.dynamodb, pytest.mark.smoke]


@pytest.mark.issue("DDB-01", reports="table")
def test_table_exists(table):
    elsewhere = "" if table.exists else (
        f"; deployed to {', '.join(table.found_in())}, expected {table.region} (wrong region)"
        if table.found_in() else f"; not found in any configured region ({', '.join(table.env.regions)})")
    assert table.exists, f"table {table.name} does not exist in {table.region}{elsewhere}"
    assert table.status == "ACTIVE", f"table {table.name} is {table.status}, expected ACTIVE"
    assert table.key_schema == table.expected_keys(), (
        f"table {table.name} keys are {table.key_schema}, expected {table.expected_keys()}")


@pytest.mark.issue("DDB-01")
def test_table_replicas(table):
    expected = table.env.dynamodb.replicas
    if not expected:
        pytest.skip(f"env {table.env.name} has no global-table replicas")
    for region in expected:
        assert table.replicas.get(region) == "ACTIVE", (
            f"table {table.name} replica in {region} is {table.replicas.get(region, 'missing')}, expected ACTIVE")
        assert table.replica(region).exists, f"table {table.name} has no replica table in {region}"


@pytest.mark.issue("DDB-02")
def test_gsi(gsi):
    problems = gsi.problems()
    assert not problems, f"table {gsi.table.name}: " + "; ".join(problems)


@pytest.mark.issue("DDB-02")
def test_no_unexpected_gsi(table):
    unexpected = sorted(set(table.gsis) - set(table.env.tables[table.name].gsis))
    assert not unexpected, f"table {table.name} has unexpected indexes: {', '.join(unexpected)}"


@pytest.mark.issue("DDB-03")
def test_pitr_enabled(table):
    want = "ENABLED" if table.env.dynamodb.pitr else "DISABLED"
    assert table.pitr_status == want, (
        f"table {table.name} PointInTimeRecoveryStatus is {table.pitr_status}, expected {want} (dynamodb.pitr)")


@pytest.mark.issue("PDV-02")
def test_table_encryption(design):
    want, found = design.env.dynamodb.sse, design.table.sse_kind
    assert found == want, f"table {design.name} encryption at rest is {found}, expected {want} (dynamodb.sse)"
