"""S3 runbook faults for the embedded world (drills and self-tests; they drive moto)."""

from __future__ import annotations

import json
from typing import Any

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
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{bucket}/*"})
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
    s3 = world.client("s3")
    config = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    for rule in config["Rules"]:
        rule["Status"] = "Disabled"
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
