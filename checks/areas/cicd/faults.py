"""Terraform backend faults (CICD-02, -03, -05) for the embedded world (drills and self-tests; they drive moto).

A lock table whose key is wrong (CICD-02) hides the digest and the locks the other two break: they need it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from checks.world import build
from checks.world.faults import fault


@fault("CICD-02", "none", "the lock table's hash key is LockId instead of LockID",
       fails={"test_lock_table_key[{lock_table}]": "CICD-02"}, removes="lock-table",
       changes=("dynamodb:DescribeTable", "dynamodb:Scan"))
def lock_key_renamed(world: Any, _: None) -> None:
    tf = world.env.terraform
    ddb = world.client("dynamodb")
    items = ddb.scan(TableName=tf.lock_table)["Items"]
    ddb.delete_table(TableName=tf.lock_table)
    build.create_lock_table(world, hash_key="LockId")
    for item in items:
        item["LockId"] = item.pop("LockID")
        ddb.put_item(TableName=tf.lock_table, Item=item)


@fault("CICD-03", "none", "the state digest item holds a wrong md5",
       fails={"test_state_digest[{state_key}]": "CICD-03"}, needs="lock-table", changes=("dynamodb:Scan",),
       after=("PDV-07",))  # PDV-07 writes a new state and keeps its digest in step
def digest_stale(world: Any, _: None) -> None:
    tf = world.env.terraform
    world.client("dynamodb").update_item(
        TableName=tf.lock_table, Key={build.lock_key(world): {"S": f"{tf.state_bucket}/{tf.state_key}-md5"}},
        UpdateExpression="SET Digest = :d", ExpressionAttributeValues={":d": {"S": hashlib.md5(b"stale").hexdigest()}})


@fault("CICD-05", "none", "a stale state lock (2 hours old) is held",
       fails={"test_lock_not_stale[{lock_table}]": "CICD-05"}, needs="lock-table",
       changes=("dynamodb:Scan", "dynamodb:DescribeTable"))
def lock_stale(world: Any, _: None) -> None:
    tf = world.env.terraform
    path = f"{tf.state_bucket}/{tf.state_key}"
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(timespec="microseconds")
    info = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "", "Who": "runner@github-actions",
            "Version": "1.6.6", "Created": created.replace("+00:00", "Z"), "Path": path}
    world.client("dynamodb").put_item(TableName=tf.lock_table, Item={
        build.lock_key(world): {"S": path}, "Info": {"S": json.dumps(info)}})
