"""Fault injectors: each breaks exactly one thing in a built world.

`FAULTS[id].inject(world, resource)`; `parse_faults("DDB-03:products,S3-02", env)` turns a
command-line spec into [(id, resource)], defaulting each resource.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from checks.core.arns import table_arn
from checks.core.config import Env
from checks.world import build
from checks.world.patches import backup as backup_patch
from checks.world.patches import dynamodb as dynamodb_patch

if TYPE_CHECKING:
    from checks.world import World


@dataclass(frozen=True)
class Fault:
    id: str
    description: str
    kind: str  # table | bucket | template | none
    _inject: Callable[[World, str | None], None]

    def resources(self, env: Env) -> list[str]:
        if self.kind == "table":
            return list(env.tables)
        if self.kind == "bucket":
            return [env.s3.bucket]
        if self.kind == "template":
            return list(env.s3.templates)
        return []

    def default_resource(self, env: Env) -> str | None:
        found = self.resources(env)
        return found[0] if found else None

    def inject(self, world: World, resource: str | None = None) -> None:
        resource = resource or self.default_resource(world.env)
        valid = self.resources(world.env)
        if valid and resource not in valid:
            raise ValueError(f"{self.id}: unknown resource {resource!r}; valid: {', '.join(valid)}")
        self._inject(world, resource)


FAULTS: dict[str, Fault] = {}


def fault(fid: str, kind: str, description: str) -> Callable[[Callable[[World, Any], None]], Callable]:
    def register(fn: Callable[[World, Any], None]) -> Callable:
        FAULTS[fid] = Fault(fid, description, kind, fn)
        return fn

    return register


# --------------------------------------------------------------------------- DynamoDB

@fault("DDB-01", "table", "the table is deleted in the primary region (it still exists in the DR region)")
def _ddb01(world: World, table: str) -> None:
    env = world.env
    other = env.dr_region or ("eu-west-1" if env.region != "eu-west-1" else "us-east-1")
    if table not in world.client("dynamodb", other).list_tables()["TableNames"]:
        build.build_table(world, table, region=other, replicas=False)
    ddb = world.client("dynamodb")
    ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=table)


@fault("DDB-02", "table", "the table's ActiveIndex is CREATING and backfilling")
def _ddb02(world: World, table: str) -> None:
    dynamodb_patch.set_index_status(world.env.account, world.env.region, table, "ActiveIndex", "CREATING", True)


@fault("DDB-03", "table", "point-in-time recovery is disabled on the table")
def _ddb03(world: World, table: str) -> None:
    world.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})


@fault("DDB-04", "table", "the table is missing from the backup selection")
def _ddb04(world: World, table: str) -> None:
    arn = table_arn(world.env, table)
    for sel in backup_patch.selections(world.env.account, world.env.region).values():
        if sel["BackupSelection"]["SelectionName"] == build.selection_name(world.env):
            sel["BackupSelection"]["Resources"] = [r for r in sel["BackupSelection"]["Resources"] if r != arn]


@fault("DDB-05", "table", "the table's Environment tag is removed")
def _ddb05(world: World, table: str) -> None:
    world.client("dynamodb").untag_resource(ResourceArn=table_arn(world.env, table), TagKeys=["Environment"])


@fault("DDB-06", "table", "DescribeContinuousBackups on the table is denied (AccessDeniedException)")
def _ddb06(world: World, table: str) -> None:
    world.deny("dynamodb", "DescribeContinuousBackups", f'"{table}"', region=world.env.region)


# --------------------------------------------------------------------------- S3

@fault("S3-01", "bucket", "the templates bucket is deleted")
def _s301(world: World, bucket: str) -> None:
    s3 = world.client("s3")
    s3.delete_bucket_replication(Bucket=bucket)
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in pages:
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)


@fault("S3-02", "bucket", "the bucket is public: public-access-block relaxed and a PublicRead statement")
def _s302(world: World, bucket: str) -> None:
    s3 = world.client("s3")
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        **pab, "RestrictPublicBuckets": False, "BlockPublicPolicy": False})
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{bucket}/*"})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


@fault("S3-03", "bucket", "bucket versioning is suspended")
def _s303(world: World, bucket: str) -> None:
    world.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


@fault("S3-04", "template", "the template object is permanently removed from the source bucket")
def _s304(world: World, key: str) -> None:
    s3 = world.client("s3")
    bucket = world.env.s3.bucket
    found = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for v in found.get("Versions", []) + found.get("DeleteMarkers", []):
        if v["Key"] == key:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])


@fault("S3-05", "bucket", "the replication rule is disabled")
def _s305(world: World, bucket: str) -> None:
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


@fault("S3-06", "bucket", "the bucket's default encryption is deleted")
def _s306(world: World, bucket: str) -> None:
    world.client("s3").delete_bucket_encryption(Bucket=bucket)


# --------------------------------------------------------------------------- Terraform backend

@fault("CICD-02", "none", "the lock table's hash key is LockId instead of LockID")
def _cicd02(world: World, _: None) -> None:
    tf = world.env.terraform
    ddb = world.client("dynamodb")
    items = ddb.scan(TableName=tf.lock_table)["Items"]
    ddb.delete_table(TableName=tf.lock_table)
    build.create_lock_table(world, hash_key="LockId")
    for item in items:
        item["LockId"] = item.pop("LockID")
        ddb.put_item(TableName=tf.lock_table, Item=item)


@fault("CICD-03", "none", "the state digest item holds a wrong md5")
def _cicd03(world: World, _: None) -> None:
    tf = world.env.terraform
    world.client("dynamodb").update_item(
        TableName=tf.lock_table, Key={build.lock_key(world): {"S": f"{tf.state_bucket}/{tf.state_key}-md5"}},
        UpdateExpression="SET Digest = :d", ExpressionAttributeValues={":d": {"S": hashlib.md5(b"stale").hexdigest()}})


@fault("CICD-05", "none", "a stale state lock (2 hours old) is held")
def _cicd05(world: World, _: None) -> None:
    tf = world.env.terraform
    path = f"{tf.state_bucket}/{tf.state_key}"
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(timespec="microseconds")
    info = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "", "Who": "runner@github-actions",
            "Version": "1.6.6", "Created": created.replace("+00:00", "Z"), "Path": path}
    world.client("dynamodb").put_item(TableName=tf.lock_table, Item={
        build.lock_key(world): {"S": path}, "Info": {"S": json.dumps(info)}})


# --------------------------------------------------------------------------- post-deployment

@fault("PDV-02", "table", "the table's billing mode is PROVISIONED (5/5)")
def _pdv02(world: World, table: str) -> None:
    ddb = world.client("dynamodb")
    indexes = ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    updates = [{"Update": {"IndexName": g["IndexName"],
                           "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}}
               for g in indexes]
    kwargs: dict[str, Any] = {}
    if updates:
        kwargs["GlobalSecondaryIndexUpdates"] = updates
    ddb.update_table(TableName=table, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, **kwargs)


@fault("PDV-06", "table", "the table has ThrottledRequests (3) within the metrics window")
def _pdv06(world: World, table: str) -> None:
    world.client("cloudwatch").put_metric_data(Namespace="AWS/DynamoDB", MetricData=[{
        "MetricName": "ThrottledRequests", "Dimensions": [{"Name": "TableName", "Value": table}], "Value": 3,
        "Unit": "Count", "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)}])


@fault("PDV-07", "table", "the table is missing from the Terraform state")
def _pdv07(world: World, table: str) -> None:
    tf = world.env.terraform
    body = world.client("s3").get_object(Bucket=tf.state_bucket, Key=tf.state_key)["Body"].read()
    doc = json.loads(body)
    doc["resources"] = [r for r in doc["resources"]
                        if not (r["type"] == "aws_dynamodb_table" and r["name"] == table)]
    doc["serial"] += 1
    build.put_state(world, doc)


def parse_faults(spec: str, env: Env) -> list[tuple[str, str | None]]:
    """'DDB-03,S3-04:receipts/payment_failed.html' -> [(id, resource)]; ValueError on anything unknown."""
    out: list[tuple[str, str | None]] = []
    parts = [p.strip() for p in (spec or "").split(",")]
    if spec and not all(parts):
        raise ValueError(f"{spec!r} has an empty entry; give comma-separated fault ids, e.g. DDB-03,S3-02 "
                         f"(valid ids: {', '.join(FAULTS)})")
    for part in filter(None, parts):
        fid, _, resource = part.partition(":")
        fid = fid.strip().upper()
        if fid not in FAULTS:
            raise ValueError(f"unknown fault {fid!r}; valid ids: {', '.join(FAULTS)}")
        f = FAULTS[fid]
        valid = f.resources(env)
        resource = resource.strip() or None
        if resource is None:
            resource = f.default_resource(env)
        elif not valid:
            raise ValueError(f"fault {fid} takes no resource, got {resource!r}")
        elif resource not in valid:
            raise ValueError(f"unknown resource {resource!r} for fault {fid}; valid: {', '.join(valid)}")
        out.append((fid, resource))
    return out
