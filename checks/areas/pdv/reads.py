"""The exact requests PDV reads, built in one place so the collector and the views agree.

A view looks an observation up by its parameters; building them here from the env and the
snapshot's metadata means a replay finds the same observation the live run recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from checks.core.aws import CANARY_ITEM_PREFIX, CANARY_OBJECT_PREFIX
from checks.core.config import Env, Key
from checks.core.read import Read, read
from checks.core.snapshot import Snapshot, iso, parse_time

CANARY = "canary"                   # service of the collector's own step records
DDB_CANARY = "DynamoDBCanary"       # one per table
S3_CANARY = "S3Canary"              # one per bucket
ROUND_TRIP = "ReplicationRoundTrip"  # PDV-05, one per replicating bucket
SK_VALUE = "METADATA"


def run_id(snapshot: Snapshot) -> str:
    """The run id that names this run's canaries (the collector and the views must agree)."""
    return str(snapshot.meta.get("run_id") or "run")


def canary_pk(run_id: str) -> str:
    return f"{CANARY_ITEM_PREFIX}{run_id}"


def canary_key(run_id: str) -> str:
    return f"{CANARY_OBJECT_PREFIX}{run_id}.txt"


def key_names(env: Env) -> tuple[str, str]:
    return Key.parse(env.dynamodb.hash_key).name, Key.parse(env.dynamodb.range_key).name


def leftover_scan(env: Env) -> dict[str, Any]:
    """Scan (a read) for canary items: PK begins with HEALTHCHECK#, keys only."""
    pk, sk = key_names(env)
    return {"FilterExpression": "begins_with(#pk, :p)", "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {"#pk": pk, "#sk": sk},
            "ExpressionAttributeValues": {":p": {"S": CANARY_ITEM_PREFIX}}}


def leftover_listing() -> dict[str, Any]:
    return {"Prefix": CANARY_OBJECT_PREFIX}


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
        return {"S": f"healthcheck+{run_id.lower()}@example.invalid"}
    if "date" in lower or lower.startswith(("from", "to", "until")) or lower.endswith(("at", "time")):
        return {"S": at}
    return {"S": canary_pk(run_id)}


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
    """The canary item: the table keys, a value for every GSI key attribute, and a marker."""
    pk, sk = key_names(env)
    item: dict[str, Any] = {pk: {"S": canary_pk(run_id)}, sk: {"S": SK_VALUE}}
    for keys in gsi_keys(env, table).values():
        for name, typ in keys.values():
            item.setdefault(name, _value(name, typ, run_id, at))
    item.setdefault("healthcheck", {"S": run_id})
    return item


def gsi_query(env: Env, table: str, index: str, item: dict[str, Any]) -> dict[str, Any]:
    """Query `index` for the canary item's own key values."""
    keys = gsi_keys(env, table)[index]
    names, values, cond = {}, {}, []
    for kind, tag in (("HASH", "h"), ("RANGE", "r")):
        if kind in keys:
            attr = keys[kind][0]
            names[f"#{tag}"] = attr
            values[f":{tag}"] = item[attr]
            cond.append(f"#{tag} = :{tag}")
    return {"TableName": table, "IndexName": index, "KeyConditionExpression": " AND ".join(cond),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


# --------------------------------------------------------------------------- PDV-06 metrics

TABLE_METRICS = ("ThrottledRequests", "SystemErrors")


def window(env: Env, snapshot: Snapshot) -> tuple[str, str]:
    """(start, end) of the metrics window: N minutes ending when collection started."""
    end = parse_time(snapshot.meta.get("collected_at")) or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(minutes=env.pdv.metrics_window_minutes)
    return iso(start), iso(end)


def _period(env: Env) -> int:
    return max(60, env.pdv.metrics_window_minutes * 60)


def table_metrics(env: Env, snapshot: Snapshot) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
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
    return {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}, ids


def bucket_metrics(env: Env, snapshot: Snapshot, bucket: str,
                   filters: list[str]) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
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
    return {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}, ids


def bucket_metric_configs(bucket: str, region: str | None = None) -> Read:
    return read("s3", "ListBucketMetricsConfigurations", region, Bucket=bucket)
