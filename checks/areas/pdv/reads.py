"""The exact requests PDV reads, built in one place so the collector and the views agree.

A view looks an observation up by its parameters; building them here from the env and the
snapshot's metadata means a replay finds the same observation the live run recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from checks.core.area import operations
from checks.core.config import Env
from checks.core.guard import (
    CANARY_MARKER,
    CANARY_META,
    CANARY_OBJECT_DIR,
    CANARY_PK,
    canary_id,
    canary_object_key,
    is_canary_id,
    is_canary_object_key,
)
from checks.core.keys import Key
from checks.core.read import Read, pages, read
from checks.core.snapshot import Snapshot, iso, parse_time

CANARY = "canary"                   # service of the collector's own step records
DDB_CANARY = "DynamoDBCanary"       # one per table
S3_CANARY = "S3Canary"              # one per bucket
ROUND_TRIP = "ReplicationRoundTrip"  # PDV-05, one per replicating bucket
LEFTOVER_LIMIT = 100                # canary items read per table: bounded, and never customer data
__all__ = ["CANARY_META", "is_canary_id", "is_canary_object_key"]
# Every read this area makes (the read allowlist, the IAM policy and the README derive from these); the
# leftover canary look-ups run on every run, the round trip's reads only with --canary.
READS = operations(
    "dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:Query", "s3:ListBuckets", "s3:ListObjectsV2",
    "s3:GetObject", "s3:ListBucketMetricsConfigurations", "cloudwatch:GetMetricData")
CANARY_READS = operations("dynamodb:GetItem", "s3:HeadObject", "s3:ListObjectVersions")


def run_id(snapshot: Snapshot) -> str:
    """The run id that names this run's canaries (the collector and the views must agree)."""
    return str(snapshot.meta.get("run_id") or "run")


def cid(snapshot: Snapshot) -> str:
    """This run's canary id (`bbws~<run id>`): the sort key of its items, the name of its objects."""
    return canary_id(run_id(snapshot))


def canary_pk(run_id: str) -> str:
    """How a canary item is named in messages: its partition and sort key."""
    return f"{CANARY_PK}/{canary_id(run_id)}"


def canary_key(run_id: str) -> str:
    return canary_object_key(canary_id(run_id))


def key_names(env: Env) -> tuple[str, str]:
    return Key.parse(env.dynamodb.hash_key).name, Key.parse(env.dynamodb.range_key).name


def key_schema_problem(env: Env, table: dict[str, Any]) -> str:
    """'' when the live KeySchema (DescribeTable's Table) is the env's expected key, else what differs."""
    kinds = {k.get("KeyType"): k.get("AttributeName") for k in table.get("KeySchema", [])}
    types = {a.get("AttributeName"): a.get("AttributeType") for a in table.get("AttributeDefinitions", [])}
    live = [f"{kinds[kind]}:{types.get(kinds[kind], '?')}" for kind in ("HASH", "RANGE") if kind in kinds]
    expected = [env.dynamodb.hash_key, env.dynamodb.range_key]
    if live != expected:
        return (f"the live key schema is ({', '.join(live) or 'none'}), "
                f"environments.toml expects ({', '.join(expected)})")
    if any(Key.parse(k).type != "S" for k in expected):
        return f"the canary needs string keys; the table's key is ({', '.join(expected)})"
    return ""


def describe(table: str, region: str | None = None) -> Read:
    """The DynamoDB area's DescribeTable (the same request: one observation)."""
    return read("dynamodb", "DescribeTable", region, TableName=table)


def leftover_items(env: Env, table: str) -> Read:
    """A keyed Query of the canary partition: keys and marker only, bounded. Never a Scan."""
    pk, sk = key_names(env)
    return read("dynamodb", "Query", None, TableName=table, KeyConditionExpression="#pk = :p",
                ProjectionExpression="#pk, #sk, #m", ConsistentRead=True, Limit=LEFTOVER_LIMIT,
                ExpressionAttributeNames={"#pk": pk, "#sk": sk, "#m": CANARY_MARKER},
                ExpressionAttributeValues={":p": {"S": CANARY_PK}})


def is_own_item(env: Env, item: dict[str, Any]) -> bool:
    """An item the suite wrote: canary partition, a canary-id sort key, and the marker naming it."""
    pk, sk = key_names(env)
    sort = (item.get(sk) or {}).get("S")
    return (item.get(pk) == {"S": CANARY_PK} and is_canary_id(sort)
            and (item.get(CANARY_MARKER) or {}).get("S") == sort)


def leftover_listing(bucket: str, region: str) -> Read:
    return read("s3", "ListObjectsV2", region, Bucket=bucket, Prefix=CANARY_OBJECT_DIR, MaxKeys=LEFTOVER_LIMIT)


def object_versions(bucket: str, region: str, key: str) -> Read:
    return read("s3", "ListObjectVersions", region, Bucket=bucket, Prefix=key, MaxKeys=LEFTOVER_LIMIT)


def head_object(bucket: str, region: str, key: str, version: str | None = None) -> Read:
    """HEAD of one object; of exactly `version` when given ("null" included: the version written while
    versioning was off is a version like any other, never "the current object")."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version:
        params["VersionId"] = version
    return read("s3", "HeadObject", region, **params)


def version_ids(listing: dict[str, Any], key: str) -> list[str]:
    """The exact version ids a ListObjectVersions answer holds for `key` ("null" included)."""
    return [str(v["VersionId"]) for v in listing.get("Versions", [])
            if v.get("Key") == key and v.get("VersionId")]


def is_own_object(key: str, head: dict[str, Any]) -> bool:
    """An object version the suite wrote: its key has the canary form and its metadata names that id."""
    return is_canary_object_key(key) and (head.get("Metadata") or {}).get(CANARY_META) == key[
        len(CANARY_OBJECT_DIR):-4]


def get_item(table: str, key: dict[str, Any]) -> Read:
    return read("dynamodb", "GetItem", None, TableName=table, Key=key, ConsistentRead=True)


def get_object(bucket: str, region: str, key: str) -> Read:
    return read("s3", "GetObject", region, Bucket=bucket, Key=key)


def state_object(env: Env) -> Read:
    """PDV-07: the Terraform state (the CI/CD collector reads the same: one request)."""
    return read("s3", "GetObject", env.region, Bucket=env.terraform.state_bucket, Key=env.terraform.state_key)


def live_tables(env: Env) -> Read:
    return pages("dynamodb", "ListTables", env.region)


def live_buckets(env: Env) -> Read:
    return pages("s3", "ListBuckets", env.region)


def _value(name: str, typ: str, run_id: str, at: str) -> dict[str, Any]:
    lower = name.lower()
    if typ == "N":
        return {"N": str(int(parse_time(at).timestamp()))}  # type: ignore[union-attr]
    if typ == "B":
        return {"B": run_id.encode()}
    if lower == "active":
        # "false": an application listing active records never sees the canary.
        return {"S": "false"}
    if "email" in lower:
        return {"S": f"healthcheck+{run_id.lower().replace('~', '-')}@example.invalid"}
    if "date" in lower or lower.startswith(("from", "to", "until")) or lower.endswith(("at", "time")):
        return {"S": at}
    return {"S": f"HEALTHCHECK#{canary_id(run_id)}"}


def gsi_keys(env: Env, table: str) -> dict[str, dict[str, tuple[str, str]]]:
    """index -> {"HASH"|"RANGE": (attribute, type)} as environments.toml designs it."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, gsi in env.tables[table].gsis.items():
        keys = {}
        for text, kind in ((gsi.hash_key, "HASH"), (gsi.range_key, "RANGE")):
            if text:
                k = Key.parse(text)
                keys[kind] = (k.name, k.type)
        out[name] = keys
    return out


def canary_item(env: Env, table: str, run_id: str, at: str) -> dict[str, Any]:
    """The canary item: the table keys, a value for every GSI key attribute, and the run's marker."""
    item = canary_item_key(env, run_id)
    for keys in gsi_keys(env, table).values():
        for name, typ in keys.values():
            item.setdefault(name, _value(name, typ, run_id, at))
    item[CANARY_MARKER] = {"S": canary_id(run_id)}
    return item


def canary_item_key(env: Env, run_id: str) -> dict[str, Any]:
    pk, sk = key_names(env)
    return {pk: {"S": CANARY_PK}, sk: {"S": canary_id(run_id)}}


def gsi_query(env: Env, table: str, index: str, item: dict[str, Any]) -> Read:
    """Query `index` for the canary item's own key values."""
    keys = gsi_keys(env, table)[index]
    names, values, cond = {}, {}, []
    for kind, tag in (("HASH", "h"), ("RANGE", "r")):
        if kind in keys:
            attr = keys[kind][0]
            names[f"#{tag}"] = attr
            values[f":{tag}"] = item[attr]
            cond.append(f"#{tag} = :{tag}")
    return read("dynamodb", "Query", None, TableName=table, IndexName=index,
                KeyConditionExpression=" AND ".join(cond), ExpressionAttributeNames=names,
                ExpressionAttributeValues=values)


# --------------------------------------------------------------------------- PDV-06 metrics

TABLE_METRICS = ("ThrottledRequests", "SystemErrors")


def window(env: Env, snapshot: Snapshot) -> tuple[str, str]:
    """(start, end) of the metrics window: N minutes ending when collection started."""
    end = parse_time(snapshot.meta.get("collected_at")) or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(minutes=env.pdv.metrics_window_minutes)
    return iso(start), iso(end)


def _period(env: Env) -> int:
    return max(60, env.pdv.metrics_window_minutes * 60)


def table_metrics(env: Env, snapshot: Snapshot) -> tuple[Read, dict[str, tuple[str, str]]]:
    """GetMetricData params for every table's Sums, and query id -> (table, metric)."""
    start, end = window(env, snapshot)
    queries, ids = [], {}
    for i, (table, metric) in enumerate((t, m) for t in env.tables for m in TABLE_METRICS):
        qid = f"m{i}"
        ids[qid] = (table, metric)
        queries.append({"Id": qid, "Label": f"{table} {metric}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/DynamoDB", "MetricName": metric,
                       "Dimensions": [{"Name": "TableName", "Value": table}]},
            "Period": _period(env), "Stat": "Sum"}})
    return pages("cloudwatch", "GetMetricData", env.region, MetricDataQueries=queries, StartTime=start,
                 EndTime=end), ids


def bucket_metrics(env: Env, snapshot: Snapshot, bucket: str, region: str,
                   filters: list[str]) -> tuple[Read, dict[str, tuple[str, str]]]:
    """GetMetricData params for the bucket's 5xxErrors Sum under each request-metrics filter."""
    start, end = window(env, snapshot)
    queries, ids = [], {}
    for i, fid in enumerate(filters):
        qid = f"m{i}"
        ids[qid] = (fid, "5xxErrors")
        queries.append({"Id": qid, "Label": f"{bucket} {fid} 5xxErrors", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/S3", "MetricName": "5xxErrors",
                       "Dimensions": [{"Name": "BucketName", "Value": bucket}, {"Name": "FilterId", "Value": fid}]},
            "Period": _period(env), "Stat": "Sum"}})
    return pages("cloudwatch", "GetMetricData", region, MetricDataQueries=queries, StartTime=start,
                 EndTime=end), ids


def bucket_metric_configs(bucket: str, region: str | None = None) -> Read:
    return read("s3", "ListBucketMetricsConfigurations", region, Bucket=bucket)
