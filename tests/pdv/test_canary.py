"""PDV-03 DynamoDB canary and PDV-04 S3 canary; leftovers of earlier runs are reported always."""

import pytest

pytestmark = [pytest.mark.pdv]


@pytest.mark.dynamodb
@pytest.mark.canary
@pytest.mark.issue("PDV-03")
def test_dynamodb_canary(table_canary):
    table_canary.require_table()
    failed = table_canary.failed_steps()
    assert not failed, (f"table {table_canary.name} canary {table_canary.pk}: " + "; ".join(failed)
                        + f" (steps: {table_canary.timings()})")


@pytest.mark.dynamodb
@pytest.mark.smoke
@pytest.mark.issue("PDV-03")
def test_no_leftover_canary_items(table_canary):
    found = table_canary.leftovers()
    removed = table_canary.removed()
    what = [f"{pk} ({'removed by this run' if removed.get(pk, {}).get('ok') else 'still there'})" for pk in found]
    assert not found, f"table {table_canary.name} holds canary items left by an earlier run: {', '.join(what)}"


@pytest.mark.s3
@pytest.mark.canary
@pytest.mark.issue("PDV-04")
def test_s3_canary(bucket_canary):
    bucket_canary.bucket.require()
    failed = bucket_canary.failed_steps()
    assert not failed, (f"s3://{bucket_canary.name}/{bucket_canary.key} canary: " + "; ".join(failed)
                        + f" (steps: {bucket_canary.timings()})")


@pytest.mark.s3
@pytest.mark.smoke
@pytest.mark.issue("PDV-04")
def test_no_leftover_canary_objects(bucket_canary):
    found = bucket_canary.leftovers()
    removed = bucket_canary.removed()
    what = [f"s3://{b}/{k} ({'removed by this run' if removed.get((b, k), {}).get('gone') else 'still there'})"
            for b, k in found]
    assert not found, f"canary objects left by an earlier run: {', '.join(what)}"
