"""Before deploy: the bucket environments.toml expects and its aws_s3_bucket_* resources.

S3-01 bucket, S3-02 public access block / policy / logging, S3-03 versioning / lifecycle,
S3-05 replication, S3-06 encryption / TLS-only policy, DDB-05 tags.
"""

import pytest

from checks.areas.static import s3_rules as rules
from checks.areas.static.findings import report

pytestmark = [pytest.mark.static, pytest.mark.s3]


@pytest.mark.issue("S3-01", reports="bucket-declared")
def test_bucket_declared(bucket_tf):
    found = bucket_tf.declared()
    assert not found, report(f"aws_s3_bucket {bucket_tf.name}", found)


@pytest.mark.issue("S3-02")
def test_public_access_block_declared(bucket_tf):
    found = bucket_tf.rule(rules.public_access_block, "aws_s3_bucket_public_access_block")
    assert not found, report(f"a public access block with every flag true on {bucket_tf.name}", found)


@pytest.mark.issue("S3-02")
def test_policy_statements_declared(bucket_tf):
    subs, statements = bucket_tf.statements()
    found = rules.policy(bucket_tf.bucket, subs, statements, bucket_tf.env)
    assert not found, report(f"the policy statements {', '.join(bucket_tf.env.s3.policy_statements)}", found)


@pytest.mark.issue("S3-02")
def test_access_logging_declared(bucket_tf):
    if not bucket_tf.env.s3.logging_bucket:
        pytest.skip(f"env {bucket_tf.env.name} does not require access logging")
    found = bucket_tf.rule(rules.logging, "aws_s3_bucket_logging", bucket_tf.env)
    assert not found, report(f"access logs to {bucket_tf.env.s3.logging_bucket}", found)


@pytest.mark.issue("S3-03")
def test_versioning_declared(bucket_tf):
    if not bucket_tf.env.s3.versioning:
        pytest.skip(f"env {bucket_tf.env.name} does not require versioning (s3.versioning = false)")
    found = bucket_tf.rule(rules.versioning, "aws_s3_bucket_versioning")
    assert not found, report(f"versioning Enabled on {bucket_tf.name}", found)


@pytest.mark.issue("S3-03")
def test_lifecycle_declared(bucket_tf):
    if bucket_tf.env.s3.lifecycle is None:
        pytest.skip(bucket_tf.env.absent("s3.lifecycle"))
    found = bucket_tf.rule(rules.lifecycle, "aws_s3_bucket_lifecycle_configuration", bucket_tf.env)
    want = bucket_tf.env.s3.lifecycle
    assert not found, report(f"lifecycle rule {want.rule} expiring noncurrent versions after "
                             f"{want.noncurrent_days} days", found)


@pytest.mark.issue("S3-05")
def test_replication_declared(bucket_tf):
    if bucket_tf.env.s3.replication is None:
        pytest.skip(f"env {bucket_tf.env.name} does not replicate (S3-05 applies to PROD)")
    found = bucket_tf.replication()
    assert not found, report(f"replication to {bucket_tf.env.s3.replication.destination}", found)


@pytest.mark.issue("S3-06")
def test_encryption_declared(bucket_tf):
    found = bucket_tf.rule(rules.encryption, "aws_s3_bucket_server_side_encryption_configuration", bucket_tf.env)
    assert not found, report(f"default encryption {bucket_tf.env.s3.encryption} on {bucket_tf.name}", found)


@pytest.mark.issue("S3-06")
def test_policy_denies_insecure_transport_declared(bucket_tf):
    subs, statements = bucket_tf.statements()
    found = rules.denies_insecure_transport(bucket_tf.bucket, subs, statements)
    assert not found, report("a bucket policy that denies aws:SecureTransport = false", found)


@pytest.mark.issue("DDB-05")
def test_bucket_tags_declared(bucket_tf):
    found = bucket_tf.tags()
    assert not found, report(f"the mandatory tags on {bucket_tf.name} (resource tags or provider default_tags)", found)
