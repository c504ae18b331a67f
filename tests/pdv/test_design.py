"""PDV-02 design settings: billing mode, streams, deletion protection (PROD)."""

import pytest

pytestmark = [pytest.mark.pdv, pytest.mark.dynamodb, pytest.mark.smoke, pytest.mark.issue("PDV-02")]


def test_billing_mode(design):
    want, found = design.env.dynamodb.billing_mode, design.table.billing_mode
    assert found == want, f"table {design.name} billing mode is {found}, expected {want}"


def test_stream(design):
    want, found = design.env.dynamodb.stream_view_type, design.table.stream_view_type
    assert found == want, f"table {design.name} stream is {found}, expected {want}"


def test_deletion_protection(design):
    if not design.env.dynamodb.deletion_protection:
        pytest.skip(f"env {design.env.name} does not require deletion protection (PROD does)")
    assert design.table.deletion_protection, f"table {design.name} deletion protection is off, expected on"
