"""PDV-05 replication round trip (PROD-shaped envs): a canary object reaches the DR bucket in time."""

import pytest

pytestmark = [pytest.mark.pdv, pytest.mark.s3, pytest.mark.canary, pytest.mark.issue("PDV-05")]


def test_replication_round_trip(round_trip):
    r = round_trip.record
    where = f"s3://{round_trip.name}/{r.get('key')} -> s3://{r.get('dr_bucket')}"
    assert r.get("status") not in ("NOT_PUT", "INTERRUPTED"), (
        f"{where}: the round trip did not run: {r.get('status')} ({r.get('error')})")
    assert r.get("arrived"), (
        f"{where}: ReplicationStatus {r.get('status')} after {r.get('seconds')}s "
        + ("(timed out, " if r.get("timed_out") else "(")
        + f"limit {r.get('timeout_seconds')}s), DR copy {'present' if (r.get('dr') or {}).get('ok') else 'absent'}")
    assert r["seconds"] <= r["timeout_seconds"], (
        f"{where}: COMPLETED after {r['seconds']}s, over the limit of {r['timeout_seconds']}s")
    left = [f"{side} ({(c or {}).get('error')})" for side, c in (r.get("cleanup") or {}).items()
            if not (c or {}).get("ok") or not (c or {}).get("gone")]
    assert not left, f"{where}: COMPLETED in {r['seconds']}s, but the canary was not removed from: {', '.join(left)}"
