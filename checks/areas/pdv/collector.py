"""Post-deployment collector: canaries (actions), leftovers, metrics, state and the other bundle.

Canaries write, so they run here, once, in the collection phase; tests/pdv only read what
is recorded. Every write goes through `aws.write` (guarded and recorded) and needs a permit
(`aws.permits`) for its exact key: granted for this run's own item only after the table's live
key schema matched environments.toml, and for an earlier run's leftover only after the suite's
own marker (item attribute / object metadata naming the canary id) was read on it. Each canary
leaves one record of its own (service "canary") with every step's outcome and timing. The
delete runs in a `finally`. Every HEAD and DELETE of an object names the exact version it is
about: the one this run created, or a leftover's version whose own metadata carries the marker;
`null` (written while versioning was off) is such a version, never "the current object". Leftovers
are found on every run by keyed, bounded reads (a Query of the canary partition, a listing
of the canary folder), never by a Scan of an app table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from checks.areas.pdv import reads as rq
from checks.core.arns import bucket_region
from checks.core.aws import Aws, error_of
from checks.core.collect import Context
from checks.core.snapshot import Observation, iso, jsonable, now

GSI_WAIT_SECONDS = 10.0   # a GSI is eventually consistent: poll a query this long for the canary
POLL_MAX_INTERVAL = 2.0


def collect(ctx: Context) -> None:
    env, aws = ctx.env, ctx.aws
    run_id = rq.run_id(ctx.snapshot)
    for table in env.tables:
        ctx.spawn(_table, ctx, table, run_id)
    ctx.spawn(_objects, ctx, run_id)
    ctx.spawn(_metrics, ctx)
    # PDV-07: the state object (the CI/CD collector reads the same: one request) and the live lists.
    specs = [rq.live_tables(env), rq.live_buckets(env)]
    if env.terraform is not None:
        specs.insert(0, rq.state_object(env))
    for spec in specs:
        ctx.spawn(aws.read, spec)
    if ctx.options.compare_with:
        ctx.spawn(_other_bundle, ctx, Path(ctx.options.compare_with))


# --------------------------------------------------------------------------- helpers

def _write(aws: Aws, service: str, operation: str, region: str, **params: Any) -> dict[str, Any]:
    """A canary write (recorded by the guarded layer) as a step result."""
    started = time.perf_counter()
    try:
        response = aws.write(service, operation, region, **params)
        out: dict[str, Any] = {"ok": True, "response": jsonable(response)}
    except Exception as exc:  # noqa: BLE001
        out = {"ok": False, "error": error_of(exc)}
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def _step(name: str, obs: Observation, **extra: Any) -> dict[str, Any]:
    out = {"step": name, "ok": obs.ok, "seconds": round(obs.elapsed_ms / 1000, 3), **extra}
    if obs.error:
        out["error"] = obs.error
    return out


def _record(ctx: Context, operation: str, region: str, params: dict[str, Any], record: dict[str, Any]) -> None:
    ctx.snapshot.add(Observation(rq.CANARY, region, operation, params, iso(now()), response=jsonable(record)))


def _interval(n: int) -> float:
    return min(POLL_MAX_INTERVAL, 0.1 * (2 ** min(n, 6)))


# --------------------------------------------------------------------------- PDV-03 DynamoDB

def _table(ctx: Context, table: str, run_id: str) -> None:
    env, aws = ctx.env, ctx.aws
    pk_name, sk_name = rq.key_names(env)
    record: dict[str, Any] = {"enabled": aws.canary, "run_id": run_id, "pk": rq.canary_pk(run_id),
                              "steps": [], "removed": []}
    try:
        described = aws.read(rq.describe(table))
        found = aws.read(rq.leftover_items(env, table))
        if not aws.canary:
            return
        if not described.ok:
            record["steps"].append({"step": "key schema", "ok": False, "error": described.error})
            return
        problem = rq.key_schema_problem(env, (described.response or {}).get("Table", {}))
        if problem:  # no write at all: a PutItem on another key could replace a real item
            record["steps"].append({"step": "key schema", "ok": False,
                                    "error": {"code": "KeySchemaMismatch", "message": problem}})
            return
        names = (pk_name, sk_name)
        for item in (found.response or {}).get("Items", []) if found.ok else []:
            if not rq.is_own_item(env, item) or item[sk_name]["S"] == rq.canary_id(run_id):
                continue
            key = {pk_name: item[pk_name], sk_name: item[sk_name]}
            aws.permits.item("DeleteItem", table, key, names)
            result = _write(aws, "dynamodb", "DeleteItem", env.region, TableName=table, Key=key,
                            ConditionExpression="#m = :m", ExpressionAttributeNames={"#m": rq.CANARY_MARKER},
                            ExpressionAttributeValues={":m": item[rq.CANARY_MARKER]})
            record["removed"].append({"key": jsonable(key), "ok": result["ok"], "error": result.get("error")})
        _ddb_canary(ctx, table, run_id, record, names)
    finally:
        _record(ctx, rq.DDB_CANARY, env.region, {"TableName": table}, record)


def _ddb_canary(ctx: Context, table: str, run_id: str, record: dict[str, Any], names: tuple[str, str]) -> None:
    env, aws = ctx.env, ctx.aws
    region = env.region
    pk_name, sk_name = names
    item = rq.canary_item(env, table, run_id, str(ctx.snapshot.meta.get("collected_at") or iso(now())))
    key = {pk_name: item[pk_name], sk_name: item[sk_name]}
    aws.permits.item("PutItem", table, key, names)
    aws.permits.item("DeleteItem", table, key, names)
    steps = record["steps"]
    started = time.perf_counter()
    put = {"ok": False}
    try:
        # never over an existing item, whatever is there
        put = _write(aws, "dynamodb", "PutItem", region, TableName=table, Item=item,
                     ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": pk_name})
        steps.append({"step": "put", **{k: v for k, v in put.items() if k != "response"}})
        if not put["ok"]:
            return
        got = aws.read(rq.get_item(table, key))
        steps.append(_step("get", got, found=bool((got.response or {}).get("Item"))))
        for index in rq.gsi_keys(env, table):
            steps.append(_query(ctx, table, index, item))
    except BaseException as exc:  # record the interruption, clean up (finally), then let it go on
        steps.append({"step": "interrupted", "ok": False, "error": error_of(exc)})
        raise
    finally:
        if put["ok"] or "interrupted" in {s["step"] for s in steps}:
            # only the item this run wrote: the marker must still name this run
            deleted = _write(aws, "dynamodb", "DeleteItem", region, TableName=table, Key=key,
                             ConditionExpression="#m = :m", ExpressionAttributeNames={"#m": rq.CANARY_MARKER},
                             ExpressionAttributeValues={":m": item[rq.CANARY_MARKER]})
            gone = aws.probe("dynamodb", "GetItem", region, TableName=table, Key=key, ConsistentRead=True,
                             ProjectionExpression="#pk", ExpressionAttributeNames={"#pk": pk_name})
            cond_failed = (deleted.get("error") or {}).get("code") == "ConditionalCheckFailedException"
            steps.append({"step": "delete", "ok": deleted["ok"] or cond_failed, "error": deleted.get("error"),
                          "seconds": deleted["seconds"],
                          "gone": gone.ok and not (gone.response or {}).get("Item") or cond_failed,
                          "check_error": gone.error})
        else:
            steps.append({"step": "delete", "ok": True, "skipped": "nothing was written", "seconds": 0.0})
        record["seconds"] = round(time.perf_counter() - started, 3)


def _query(ctx: Context, table: str, index: str, item: dict[str, Any]) -> dict[str, Any]:
    env, aws = ctx.env, ctx.aws
    pk_name = rq.key_names(env)[0]
    spec = rq.gsi_query(env, table, index, item)
    deadline = time.monotonic() + GSI_WAIT_SECONDS
    started, attempts = time.perf_counter(), 0
    while True:
        attempts += 1
        obs = aws.probe(spec.service, spec.operation, spec.region, **spec.params)
        found = obs.ok and any(i.get(pk_name) == item[pk_name] and i.get(rq.CANARY_MARKER) == item[rq.CANARY_MARKER]
                               for i in (obs.response or {}).get("Items", []))
        if found or not obs.ok or time.monotonic() >= deadline:
            break
        time.sleep(min(_interval(attempts), 1.0))
    ctx.snapshot.add(obs)
    return {**_step("query", obs, index=index, found=found, attempts=attempts),
            "seconds": round(time.perf_counter() - started, 3)}


# --------------------------------------------------------------------------- PDV-04/05 S3

def _objects(ctx: Context, run_id: str) -> None:
    env, aws = ctx.env, ctx.aws
    bucket, rep = env.s3.bucket, env.s3.replication
    region = bucket_region(env, bucket)
    sides = [(bucket, region)] + ([(rep.destination, env.dr_region)] if rep else [])
    key = rq.canary_key(run_id)
    record: dict[str, Any] = {"enabled": aws.canary, "run_id": run_id, "key": key, "steps": [], "removed": []}
    trip: dict[str, Any] = {"enabled": aws.canary, "run_id": run_id, "key": key}
    try:
        leftovers = [(b, r, found) for b, r in sides for found in _leftover_objects(aws, b, r)]
        if not aws.canary:
            return
        for b, r, (left, versions) in leftovers:
            if left != key:
                record["removed"].append({"bucket": b, **_remove_object(aws, b, r, left, versions)})
        _s3_canary(ctx, key, sides, record, trip)
    finally:
        _record(ctx, rq.S3_CANARY, region, {"Bucket": bucket}, record)
        if rep:
            _record(ctx, rq.ROUND_TRIP, region, {"Bucket": bucket}, trip)


def _leftover_objects(aws: Aws, bucket: str, region: str) -> list[tuple[str, list[str]]]:
    """(key, the exact version ids the suite wrote) of each earlier canary object in the bucket: the key
    has the canary form and that very version's metadata names the canary id. Reads only. A version whose
    HEAD fails, or a key whose versions cannot be listed, is not the suite's (nothing is deleted blind)."""
    listing = aws.read(rq.leftover_listing(bucket, region))
    out = []
    for obj in (listing.response or {}).get("Contents", []) if listing.ok else []:
        key = obj.get("Key")
        if not rq.is_canary_object_key(key):
            continue  # foreign data under the prefix: never touched, never reported
        versions = aws.read(rq.object_versions(bucket, region, key))
        ids = rq.version_ids(versions.response or {}, key) if versions.ok else []
        own = [vid for vid in ids if _is_own_version(aws, bucket, region, key, vid)]
        if own:
            out.append((key, own))
    return out


def _is_own_version(aws: Aws, bucket: str, region: str, key: str, version: str) -> bool:
    head = aws.read(rq.head_object(bucket, region, key, version))
    return head.ok and rq.is_own_object(key, head.response or {})


def _remove_object(aws: Aws, bucket: str, region: str, key: str, versions: list[str]) -> dict[str, Any]:
    """Delete exactly the given versions of one canary key, each by its version id ("null" included), then
    HEAD each of those versions: gone only when none of them is there any more."""
    errors, left = [], []
    for vid in versions:
        aws.permits.obj("DeleteObject", bucket, key, vid)
        result = _write(aws, "s3", "DeleteObject", region, Bucket=bucket, Key=key, VersionId=vid)
        if not result["ok"]:
            errors.append(result["error"])
    for vid in versions:
        head = aws.probe("s3", "HeadObject", region, Bucket=bucket, Key=key, VersionId=vid)
        if not (head.absent or head.code in GONE):
            left.append(vid)
    return {"key": key, "ok": not errors, "error": errors[0] if errors else None, "versions": len(versions),
            "version_ids": list(versions), "gone": bool(versions) and not left}


# a HEAD of a deleted version: 404 (S3 says NoSuchVersion in the body, which a HEAD has not), or 405 for
# a delete marker
GONE = ("NoSuchKey", "NoSuchVersion", "404", "405", "MethodNotAllowed")


def _s3_canary(ctx: Context, key: str, sides: list[tuple[str, str]], record: dict[str, Any],
               trip: dict[str, Any]) -> None:
    env, aws = ctx.env, ctx.aws
    (bucket, region), dr = sides[0], (sides[1] if len(sides) > 1 else None)
    steps = record["steps"]
    body = f"BBWS post-deployment canary {record['run_id']} for {env.name}\n"
    version = None
    started = time.perf_counter()
    aws.permits.obj("PutObject", bucket, key)
    put: dict[str, Any] = {"ok": False}
    try:
        put = _write(aws, "s3", "PutObject", region, Bucket=bucket, Key=key, Body=body.encode(),
                     ContentType="text/plain", Metadata={rq.CANARY_META: rq.canary_id(record["run_id"])},
                     IfNoneMatch="*")
        put_done = time.monotonic()
        steps.append({"step": "put", **{k: v for k, v in put.items() if k != "response"}})
        if not put["ok"]:
            trip.update(status="NOT_PUT", error=put.get("error"))
            return
        # the version this run created; an unversioned bucket's object is its `null` version
        version = str((put.get("response") or {}).get("VersionId") or "null")
        got = aws.read(rq.get_object(bucket, region, key))
        steps.append(_step("get", got, matches=got.ok and (got.response or {}).get("Body") == body))
        if dr is not None:
            trip.update(_round_trip(ctx, bucket, region, dr[0], dr[1], key, put_done))
    except BaseException as exc:
        steps.append({"step": "interrupted", "ok": False, "error": error_of(exc)})
        trip.setdefault("status", "INTERRUPTED")
        trip.setdefault("error", error_of(exc))
        raise
    finally:
        t0 = time.perf_counter()
        if version is not None:
            # the version this run created (a replica keeps the source's version id); never a delete by
            # key alone, which in a versioned bucket would hide whatever is below with a delete marker
            removed = _remove_object(aws, bucket, region, key, [version])
            steps.append({"step": "delete", "ok": removed["ok"], "error": removed["error"], "gone": removed["gone"],
                          "seconds": round(time.perf_counter() - t0, 3)})
            if dr is not None:
                dr_removed = _remove_dr(aws, dr[0], dr[1], key, version)
                trip["cleanup"] = {"source": removed, "dr": dr_removed}
        elif put["ok"] or "interrupted" in {s["step"] for s in steps}:
            # the put's answer (its version id) was lost: nothing names the version, so nothing is deleted
            steps.append({"step": "delete", "ok": False, "gone": False, "seconds": 0.0,
                          "error": {"code": "NoVersionId", "message": f"s3://{bucket}/{key}: the put's version id "
                                    "is unknown, so the object was not deleted (a later run removes it)"}})
        else:
            steps.append({"step": "delete", "ok": True, "skipped": "nothing was written", "seconds": 0.0})
        record["seconds"] = round(time.perf_counter() - started, 3)


def _remove_dr(aws: Aws, bucket: str, region: str, key: str, version: str) -> dict[str, Any]:
    """The replica of this run's version, if it arrived (nothing to delete when it did not)."""
    head = aws.probe("s3", "HeadObject", region, **rq.head_object(bucket, region, key, version).params)
    if head.absent or head.code in GONE or head.code == "400":
        return {"key": key, "ok": True, "error": None, "versions": 0, "gone": True}
    if not rq.is_own_object(key, head.response or {}):
        return {"key": key, "ok": False, "versions": 0, "gone": False,
                "error": {"code": "NotOurs", "message": f"s3://{bucket}/{key} does not carry this run's marker"}}
    return _remove_object(aws, bucket, region, key, [version])


def _round_trip(ctx: Context, bucket: str, region: str, dr_bucket: str, dr_region: str, key: str,
                started: float) -> dict[str, Any]:
    """PDV-05: poll until the source says COMPLETED and the DR bucket holds the object, or time out.

    The seconds are measured from the moment the PutObject returned.
    """
    aws, limit = ctx.aws, ctx.env.pdv.replication_timeout_seconds
    polls, status, dr_obs, src = 0, "", None, None
    while True:
        polls += 1
        src = aws.probe("s3", "HeadObject", region, Bucket=bucket, Key=key)
        status = (src.response or {}).get("ReplicationStatus", "") if src.ok else ""
        if src.ok and status in ("COMPLETED", ""):
            dr_obs = aws.probe("s3", "HeadObject", dr_region, Bucket=dr_bucket, Key=key)
        arrived = status == "COMPLETED" and dr_obs is not None and dr_obs.ok
        # FAILED, or no status at all (no enabled rule covers the key), will not change.
        final = arrived or not src.ok or status in ("FAILED", "")
        if final or time.monotonic() - started >= limit:
            break
        waited = time.monotonic() - started
        pause = 0.25 if waited < 5 else 1.0 if waited < 60 else POLL_MAX_INTERVAL  # fine early, cheap later
        time.sleep(min(pause, max(0.05, limit - waited)))
    elapsed = round(time.monotonic() - started, 3)
    return {"status": status or "NONE", "arrived": arrived, "seconds": elapsed, "timeout_seconds": limit,
            "timed_out": not arrived and not final, "polls": polls,
            "source": {"ok": src.ok, "error": src.error, "ReplicationStatus": status},
            "dr": None if dr_obs is None else {"ok": dr_obs.ok, "error": dr_obs.error,
                                               "ReplicationStatus": (dr_obs.response or {}).get("ReplicationStatus")},
            "dr_bucket": dr_bucket, "dr_region": dr_region}


# --------------------------------------------------------------------------- PDV-06 metrics

def _metrics(ctx: Context) -> None:
    env, aws, snap = ctx.env, ctx.aws, ctx.snapshot
    spec, _ = rq.table_metrics(env, snap)
    aws.read(spec)
    bucket = env.s3.bucket
    region = bucket_region(env, bucket)
    configs = aws.read(rq.bucket_metric_configs(bucket, region))
    filters = [c["Id"] for c in (configs.response or {}).get("MetricsConfigurationList", [])] if configs.ok else []
    if filters:
        spec, _ = rq.bucket_metrics(env, snap, bucket, region, filters)
        aws.read(spec)


# --------------------------------------------------------------------------- PDV-08 the other bundle

def _other_bundle(ctx: Context, path: Path) -> None:
    from checks.areas.pdv import parity

    ctx.snapshot.meta["compare_with"] = str(path)
    obs = Observation("bundle", "", "Load", {"path": str(path)}, iso(now()))
    try:
        obs.response = parity.bundle_side(path)
    except parity.BundleError as exc:
        obs.error = {"code": "BundleError", "message": str(exc)}
    ctx.snapshot.add(obs)
