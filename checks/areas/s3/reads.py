"""Every read S3-01..06 make: the bucket list, each bucket's configuration, objects, the account block."""

from __future__ import annotations

from checks.core.read import Read, pages, read

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
