"""DDB-05 Incorrect tags, DDB-06 Access denied."""

import pytest

pytestmark = [pytest.mark.smoke]


@pytest.mark.dynamodb
@pytest.mark.issue("DDB-05")
def test_table_tag(table, tag):
    expected = table.env.table_tags()[tag]
    actual = table.tags.get(tag)
    assert actual == expected, (
        f"table {table.name} tag {tag} is {'missing' if actual is None else repr(actual)}, expected {expected!r}")


@pytest.mark.issue("DDB-06")
def test_reads_allowed(scope):
    denied = scope.denied
    assert not denied, f"{len(denied)} read(s) denied for {scope.name}: " + "; ".join(
        f"{o.label} on {o.resource()} in {o.region}: {o.code}" for o in denied)


@pytest.mark.dynamodb
@pytest.mark.issue("DDB-06")
def test_app_role_permissions(app_role):
    denied = app_role.denied()
    assert not denied, f"role {app_role.name} cannot: " + "; ".join(f"{a} on {r} ({d})" for a, r, d in denied)
