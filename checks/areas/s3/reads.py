"""Every read S3-01..06 make: the bucket list, each bucket's configuration, objects, the account block."""

from __future__ import annotations

from checks.core.area import operations
from checks.core.read import Read, pages, read

# Every call this area makes (the read allowlist, the IAM policy and the README derive from these).
READS = operations(
    "s3:ListBuckets", "s3:HeadBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketEncryption",
    "s3:GetPublicAccessBlock", "s3:GetBucketPolicy", "s3:GetBucketLifecycleConfiguration", "s3:GetBucketLogging",
    "s3:GetBucketReplication", "s3:GetBucketTagging", "s3:ListObjectsV2", "s3:GetObject",
    "s3control:GetPublicAccessBlock", "iam:GetRole")

BUCKET_CONFIG = ("GetBucketLocation", "GetBucketVersioning", "GetBucketEncryption", "GetPublicAccessBlock",
                 "GetBucketPolicy", "GetBucketLifecycleConfiguration", "GetBucketLogging",
                 "GetBucketReplication", "GetBucketTagging")
DR_CONFIG = ("GetBucketLocation", "GetBucketVersioning")


def list_buckets() -> Read:
    return pages("s3", "ListBuckets")


def account_public_access_block(account: str) -> Read:
    return read("s3control", "GetPublicAccessBlock", AccountId=account)


def head_bucket(bucket: str, region: str | None = None) -> Read:
    return read("s3", "HeadBucket", region, Bucket=bucket)


def bucket_config(operation: str, bucket: str, region: str | None = None) -> Read:
    return read("s3", operation, region, Bucket=bucket)


def list_objects(bucket: str, region: str | None = None) -> Read:
    return pages("s3", "ListObjectsV2", region, Bucket=bucket)


def get_object(bucket: str, key: str, region: str | None = None) -> Read:
    return read("s3", "GetObject", region, Bucket=bucket, Key=key)
