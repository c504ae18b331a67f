"""S3 runbook faults for the embedded world (drills and self-tests; they drive moto)."""

from __future__ import annotations

import json
from typing import Any

from checks.core.arns import bucket_arn, objects_arn
from checks.world.faults import fault

BUCKET_READS = ("s3:HeadBucket", "s3:ListBuckets", "s3:GetBucketLocation", "s3:GetBucketVersioning",
                "s3:GetBucketEncryption", "s3:GetPublicAccessBlock", "s3:GetBucketPolicy", "s3:GetBucketReplication",
                "s3:GetBucketLogging", "s3:GetBucketTagging", "s3:GetBucketLifecycleConfiguration",
                "s3:ListObjectsV2", "s3:GetObject", "s3:ListBucketMetricsConfigurations")


@fault("S3-01", "bucket", "the templates bucket is deleted",
       fails={"test_bucket_exists[{r}]": "S3-01", "test_no_drift_bucket[{r}]": "PDV-07",
              "test_resource_managed[{r}]": "CICD-03", "test_state_resources_live[{state_key}]": "CICD-03"},
       removes="bucket", changes=BUCKET_READS)
def bucket_deleted(world: Any, bucket: str) -> None:
    s3 = world.client("s3")
    s3.delete_bucket_replication(Bucket=bucket)
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in pages:
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)


@fault("S3-02", "bucket", "the bucket is public: public-access-block relaxed and a PublicRead statement",
       fails={"test_bucket_public_access_block[{r}]": "S3-02", "test_bucket_policy_not_public[{r}]": "S3-02"},
       needs="bucket", changes=("s3:GetPublicAccessBlock", "s3:GetBucketPolicy"))
def bucket_public(world: Any, bucket: str) -> None:
    s3 = world.client("s3")
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        **pab, "RestrictPublicBuckets": False, "BlockPublicPolicy": False})
    _edit_policy(world, bucket, lambda statements: statements + [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": objects_arn(bucket)}])


@fault("S3-02.external", "bucket", "the bucket policy allows another account (210987654321) to read and list",
       fails={"test_bucket_policy_external_principals[{r}]": "S3-02"}, needs="bucket", changes=("s3:GetBucketPolicy",))
def external_grant(world: Any, bucket: str) -> None:
    arn = bucket_arn(bucket)
    _edit_policy(world, bucket, lambda statements: statements + [{
        "Sid": "PartnerRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [arn, f"{arn}/*"]}])


def _edit_policy(world: Any, bucket: str, change: Any) -> None:
    s3 = world.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"] = change(policy["Statement"])
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


# Replication needs versioning: with it suspended, S3-05's rule check fails too.
@fault("S3-03", "bucket", "bucket versioning is suspended",
       fails={"test_versioning_enabled[{r}]": "S3-03", "test_replication_rule[{r}]": "S3-05"}, needs="bucket",
       changes=("s3:GetBucketVersioning",))
def versioning_suspended(world: Any, bucket: str) -> None:
    world.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


@fault("S3-04", "template", "the template object is permanently removed from the source bucket",
       fails={"test_template[{r}]": "S3-04"}, needs="bucket", changes=("s3:ListObjectsV2", "s3:GetObject"))
def template_removed(world: Any, key: str) -> None:
    s3 = world.client("s3")
    bucket = world.env.s3.bucket
    found = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for v in found.get("Versions", []) + found.get("DeleteMarkers", []):
        if v["Key"] == key:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])


@fault("S3-05", "bucket", "the replication rule is disabled",
       fails={"test_replication_rule[{r}]": "S3-05"}, needs="bucket", changes=("s3:GetBucketReplication",))
def replication_disabled(world: Any, bucket: str) -> None:
    _edit_rules(world, bucket, {"Status": "Disabled"})


@fault("S3-05.filter", "bucket", "the replication rule's filter keeps only the first template's folder",
       fails={"test_replication_rule[{r}]": "S3-05"}, needs="bucket", changes=("s3:GetBucketReplication",))
def replication_filtered(world: Any, bucket: str) -> None:
    keys = world.env.s3.templates
    folder = keys[0].rpartition("/")[0] + "/" if keys else ""
    narrow = folder if folder != "/" and any(not k.startswith(folder) for k in keys) else "archive/"
    _edit_rules(world, bucket, {"Filter": {"Prefix": narrow}})


def _edit_rules(world: Any, bucket: str, change: dict[str, Any]) -> None:
    s3 = world.client("s3")
    config = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    for rule in config["Rules"]:
        rule.update(change)
    # S3 refuses a replication configuration on a bucket whose versioning is not Enabled: with S3-03
    # applied first, enable it for this one call and put the suspension back.
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=config)
    if status != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status or "Suspended"})


@fault("S3-06", "bucket", "the bucket's default encryption is deleted",
       fails={"test_default_encryption[{r}]": "S3-06"}, needs="bucket", changes=("s3:GetBucketEncryption",))
def encryption_deleted(world: Any, bucket: str) -> None:
    world.client("s3").delete_bucket_encryption(Bucket=bucket)


@fault("S3-06.tls", "bucket", "the TLS-only Deny covers the bucket's objects but not the bucket itself",
       fails={"test_policy_denies_insecure_transport[{r}]": "S3-06"}, needs="bucket", changes=("s3:GetBucketPolicy",))
def tls_deny_objects_only(world: Any, bucket: str) -> None:
    _edit_policy(world, bucket, lambda statements: [
        {**s, "Resource": objects_arn(bucket)} if s.get("Sid") == "DenyInsecureTransport" else s
        for s in statements])
