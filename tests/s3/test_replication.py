"""S3-05 Replication failed (PROD-shaped envs only)."""

import pytest

from checks.areas.s3.views import filter_prefix

pytestmark = [pytest.mark.s3, pytest.mark.issue("S3-05")]


def _on(flag):
    return "Enabled" if flag else "Disabled"


def _spec(env):
    if env.s3.replication is None:
        pytest.skip(f"env {env.name} does not replicate (S3-05 applies to PROD)")
    return env.s3.replication


@pytest.mark.smoke
def test_replication_rule(bucket):
    want = _spec(bucket.env)
    config = bucket.replication
    assert config is not None, f"bucket {bucket.name} has no replication configuration"
    rule = next((r for r in config.get("Rules", []) if r.get("ID") == want.rule), None)
    assert rule is not None, f"bucket {bucket.name} has no replication rule {want.rule}"
    dest = rule.get("Destination", {})
    prefix = filter_prefix(rule)
    left_out = [k for k in bucket.env.s3.templates if not k.startswith(prefix)]
    problems = [p for ok, p in [
        (rule.get("Status") == "Enabled", f"rule {want.rule} is {rule.get('Status')}, expected Enabled"),
        (dest.get("Bucket") == f"arn:aws:s3:::{want.destination}",
         f"destination is {dest.get('Bucket')}, expected arn:aws:s3:::{want.destination}"),
        (config.get("Role", "").endswith(f"/{want.role}"), f"role is {config.get('Role')}, expected {want.role}"),
        (rule.get("DeleteMarkerReplication", {}).get("Status", "Disabled") == _on(want.delete_markers),
         f"delete marker replication is {rule.get('DeleteMarkerReplication', {}).get('Status', 'Disabled')}, "
         f"expected {_on(want.delete_markers)} (s3.replication.delete_markers)"),
        (dest.get("ReplicationTime", {}).get("Status") == "Enabled" and
         dest.get("ReplicationTime", {}).get("Time", {}).get("Minutes") == want.time_control_minutes,
         f"replication time control is not {want.time_control_minutes} minutes"),
        (bucket.versioning == "Enabled", f"source versioning is {bucket.versioning}"),
        (not left_out, f"filter prefix {prefix!r} leaves out {len(left_out)} of {len(bucket.env.s3.templates)} "
                       f"templates (s3.templates): {', '.join(left_out[:3])}{', ...' if len(left_out) > 3 else ''}"),
    ] if not ok]
    assert not problems, f"bucket {bucket.name} replication: " + "; ".join(problems)


@pytest.mark.smoke
def test_dr_bucket(dr_bucket):
    assert dr_bucket.exists, f"DR bucket {dr_bucket.name} does not exist"
    assert dr_bucket.location == dr_bucket.env.dr_region, (
        f"DR bucket {dr_bucket.name} is in {dr_bucket.location}, expected {dr_bucket.env.dr_region}")
    assert dr_bucket.versioning == "Enabled", f"DR bucket {dr_bucket.name} versioning is {dr_bucket.versioning}"


@pytest.mark.smoke
def test_replication_role(replication_role):
    assert replication_role.exists, f"replication role {replication_role.name} does not exist"


@pytest.mark.extended
def test_template_replicated(template, dr_bucket):
    assert template.replication_status != "FAILED", (
        f"s3://{template.bucket.name}/{template.key} ReplicationStatus is FAILED")
    assert template.key in dr_bucket.keys, f"{template.key} is not in DR bucket {dr_bucket.name}"
