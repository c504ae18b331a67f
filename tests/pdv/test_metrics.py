"""PDV-06 no throttling or system errors in the metrics window (NO-GO in the promotion runbook)."""

import pytest

pytestmark = [pytest.mark.pdv, pytest.mark.smoke, pytest.mark.issue("PDV-06")]


@pytest.mark.dynamodb
def test_no_throttling(table_metrics):
    bad = {m: v for m, v in table_metrics.sums.items() if v > 0}
    minutes = table_metrics.env.pdv.metrics_window_minutes
    assert not bad, (f"table {table_metrics.name} had " + ", ".join(f"{m} {v:g}" for m, v in bad.items())
                     + f" in the last {minutes} minutes, expected 0")


@pytest.mark.s3
def test_no_5xx_errors(bucket_metrics):
    if not bucket_metrics.filters:
        pytest.skip(f"bucket {bucket_metrics.name} has no request metrics configuration (no 5xxErrors metric)")
    bad = {f: v for f, v in bucket_metrics.sums.items() if v > 0}
    minutes = bucket_metrics.env.pdv.metrics_window_minutes
    assert not bad, (f"bucket {bucket_metrics.name} had " + ", ".join(f"5xxErrors {v:g} (filter {f})"
                                                                      for f, v in bad.items())
                     + f" in the last {minutes} minutes, expected 0")
