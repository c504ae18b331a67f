"""Every AWS read CICD-02..06 make: the state bucket and object, the lock table, the managed resources.

The infra repo files, actionlint and the GitHub API are not AWS reads; the collector records them itself.
"""

from __future__ import annotations

from checks.core.area import operations
from checks.core.read import Read, caller_identity, lock_items, read

# Every AWS call this area makes (the read allowlist, the IAM policy and the README derive from these).
READS = operations(
    "sts:GetCallerIdentity", "s3:HeadBucket", "s3:GetBucketVersioning", "s3:GetBucketEncryption", "s3:GetObject",
    "dynamodb:DescribeTable", "dynamodb:Scan")

__all__ = ["caller_identity", "describe_table", "head_bucket", "lock_items", "state_bucket_config",
           "state_object"]
STATE_BUCKET_CONFIG = ("HeadBucket", "GetBucketVersioning", "GetBucketEncryption")


def state_bucket_config(operation: str, bucket: str) -> Read:
    return read("s3", operation, Bucket=bucket)


def state_object(bucket: str, key: str) -> Read:
    """The state object (key) or its S3 lock object (key + ".tflock")."""
    return read("s3", "GetObject", Bucket=bucket, Key=key)


def describe_table(name: str, region: str | None = None) -> Read:
    return read("dynamodb", "DescribeTable", region, TableName=name)


def head_bucket(bucket: str) -> Read:
    return read("s3", "HeadBucket", Bucket=bucket)
