"""S3-01 Bucket not created, S3-02 Public access not blocked, S3-03 Versioning, S3-06 Encryption."""

import pytest

pytestmark = [pytest.mark.s3, pytest.mark.smoke]

FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@pytest.mark.issue("S3-01", reports="bucket")
def test_bucket_exists(bucket):
    assert bucket.exists, f"bucket {bucket.name} does not exist (head-bucket: not found)"
    assert bucket.location == bucket.region, f"bucket {bucket.name} is in {bucket.location}, expected {bucket.region}"
    assert bucket.owned, f"bucket {bucket.name} exists but is not owned by account {bucket.env.account}"


@pytest.mark.issue("S3-02")
def test_bucket_public_access_block(bucket):
    off = [f for f in FLAGS if not bucket.public_access_block.get(f)]
    assert not off, f"bucket {bucket.name} public access block flags not true: {', '.join(off)}"


@pytest.mark.issue("S3-02")
def test_account_public_access_block(account):
    if not account.env.s3.account_public_access_block:
        pytest.skip(f"env {account.env.name} does not require the account-level block "
                    "(s3.account_public_access_block = false)")
    pab = account.public_access_block
    off = [f for f in FLAGS if not (pab or {}).get(f)]
    assert pab is not None, f"account {account.env.account} has no account-level public access block"
    assert not off, f"account {account.env.account} public access block flags not true: {', '.join(off)}"


@pytest.mark.issue("S3-02")
def test_bucket_policy_not_public(bucket):
    public = [s.get("Sid", "(no Sid)") for s in bucket.statements
              if s.get("Effect") == "Allow" and _anyone(s.get("Principal")) and not s.get("Condition")]
    assert not public, f"bucket {bucket.name} policy allows '*' without a condition: {', '.join(public)}"
    missing = sorted(set(bucket.env.s3.policy_statements) - {s.get("Sid") for s in bucket.statements})
    assert not missing, f"bucket {bucket.name} policy lacks statements: {', '.join(missing)}"


@pytest.mark.issue("S3-02")
def test_bucket_policy_external_principals(bucket):
    found = bucket.external_grants()
    assert not found, (f"bucket {bucket.name} policy allows principals outside account {bucket.env.account} "
                       f"that s3.external_principals does not list: {'; '.join(map(str, found))}")


@pytest.mark.issue("S3-02")
def test_access_logging(bucket):
    target = bucket.env.s3.logging_bucket
    if not target:
        pytest.skip(f"env {bucket.env.name} does not require access logging")
    actual = bucket.logging.get("TargetBucket")
    assert actual == target, f"bucket {bucket.name} logs to {actual or 'nowhere'}, expected {target}"


@pytest.mark.issue("S3-03")
def test_versioning_enabled(bucket):
    if bucket.env.s3.versioning:
        assert bucket.versioning == "Enabled", (
            f"bucket {bucket.name} versioning is {bucket.versioning}, expected Enabled (s3.versioning)")
    else:
        assert bucket.versioning != "Enabled", (
            f"bucket {bucket.name} versioning is Enabled, expected off (s3.versioning = false)")


@pytest.mark.issue("S3-03")
def test_lifecycle_rule(bucket):
    want = bucket.env.s3.lifecycle
    if want is None:
        pytest.skip(bucket.env.absent("s3.lifecycle"))
    rules = {r.get("ID"): r for r in bucket.lifecycle_rules}
    rule = rules.get(want.rule)
    assert rule is not None, f"bucket {bucket.name} has no lifecycle rule {want.rule} (found: {list(rules) or 'none'})"
    days = rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
    assert rule.get("Status") == "Enabled" and days == want.noncurrent_days, (
        f"lifecycle rule {want.rule} is {rule.get('Status')} with noncurrent expiry {days} days, "
        f"expected Enabled with {want.noncurrent_days}")


@pytest.mark.issue("S3-06")
def test_default_encryption(bucket):
    rules = bucket.encryption_rules
    want = bucket.env.s3
    found = [(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"), bool(r.get("BucketKeyEnabled")))
             for r in rules]
    assert (want.encryption, want.bucket_key) in found, (
        f"bucket {bucket.name} default encryption is {found or 'not configured'}, "
        f"expected {want.encryption} with bucket key {'on' if want.bucket_key else 'off'}")


@pytest.mark.issue("S3-06")
def test_policy_denies_insecure_transport(bucket):
    assert bucket.tls_denies, f"bucket {bucket.name} policy has no Deny on aws:SecureTransport = false"
    gaps = bucket.tls_gaps()
    assert not gaps, f"bucket {bucket.name} policy's Deny on aws:SecureTransport = false {'; '.join(gaps)}"


@pytest.mark.issue("DDB-05")
def test_bucket_tag(bucket, tag):
    expected = bucket.env.bucket_tags()[tag]
    actual = bucket.tags.get(tag)
    assert actual == expected, (
        f"bucket {bucket.name} tag {tag} is {'missing' if actual is None else repr(actual)}, expected {expected!r}")


def _anyone(principal):
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    return "*" in (values if isinstance(values, list) else [values])
