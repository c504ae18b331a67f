"""Issue 10.1-2: a canary touches only its own run's exact keys, and only a table keyed as designed.

Foreign data under the canary prefixes (a monitor's HEALTHCHECK#uptime-monitor item, a load
balancer's healthcheck/index.html probe object, an object in the canary folder without the
suite's marker) is never written, never deleted (no version of it) and never reported; a table
whose live key differs from environments.toml gets an error outcome and no write at all.
"""

from __future__ import annotations

import json
from typing import Any

from checks.core.config import load
from checks.core.guard import CANARY_OBJECT_DIR
from checks.world import World
from checks.world.patches import s3replication

ENV = load()["local"]
BUCKET, DR_BUCKET = ENV.s3.bucket, ENV.s3.replication.destination
PDV = ("tests/pdv",)
MONITOR = {"PK": {"S": "HEALTHCHECK#uptime-monitor"}, "SK": {"S": "METADATA"}, "owner": {"S": "ops"}}
LOOKALIKE = {"PK": {"S": "HEALTHCHECK#bbws-canary"}, "SK": {"S": "bbws~20200101T000000Z-abcdef"}}  # no marker
PROBE = "healthcheck/index.html"
UNMARKED = f"{CANARY_OBJECT_DIR}bbws~20200101T000000Z-abcdef.txt"  # canary form, but not the suite's marker


class Foreign:
    """Plants foreign data when the world is ready; reads it back when the run ends."""

    def __init__(self) -> None:
        self.world: World | None = None
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}

    def pytest_bbws_world_ready(self, world: World) -> None:
        self.world = world
        ddb = world.client("dynamodb")
        ddb.put_item(TableName="tenants", Item=MONITOR)
        ddb.put_item(TableName="tenants", Item=LOOKALIKE)
        for bucket, region in ((BUCKET, ENV.region), (DR_BUCKET, ENV.dr_region)):
            s3 = world.client("s3", region)
            for body in (b"<html>ok</html>", b"<html>ok v2</html>"):
                s3.put_object(Bucket=bucket, Key=PROBE, Body=body)
            s3.put_object(Bucket=bucket, Key=UNMARKED, Body=b"not the suite's")
        s3replication.run_pending()  # the planted objects' replicas land now, not during the run
        self.before = self.read()

    def read(self) -> dict[str, Any]:
        assert self.world is not None
        ddb = self.world.client("dynamodb")
        out: dict[str, Any] = {"items": [ddb.get_item(TableName="tenants", Key={k: i[k] for k in ("PK", "SK")},
                                                      ConsistentRead=True).get("Item") for i in (MONITOR, LOOKALIKE)]}
        for bucket, region in ((BUCKET, ENV.region), (DR_BUCKET, ENV.dr_region)):
            s3 = self.world.client("s3", region)
            for key in (PROBE, UNMARKED):
                versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
                out[f"{bucket}/{key}"] = sorted(v["VersionId"] for v in versions.get("Versions", [])
                                                if v["Key"] == key)
        return out

    def pytest_sessionfinish(self) -> None:
        if self.world is not None:
            self.after = self.read()


def writes(result: Any) -> list[dict[str, Any]]:
    snap = json.loads((result.bundle / "snapshot.json").read_text())
    return [o for o in snap["observations"] if o["operation"] in ("PutItem", "DeleteItem", "PutObject", "DeleteObject")]


def test_foreign_data_under_the_canary_prefixes_is_never_touched_or_reported(suite: Any) -> None:
    foreign = Foreign()
    r = suite.run("--canary", tests=PDV, plugins=[foreign])
    assert not r.failed and not r.errors, (r.failed, r.errors)
    assert f"test_no_leftover_canary_objects[{BUCKET}]" in r.passed
    assert "test_no_leftover_canary_items[tenants]" in r.passed
    assert foreign.after == foreign.before, "foreign items or object versions changed"
    assert all(i is not None for i in foreign.after["items"])
    assert len(foreign.after[f"{BUCKET}/{PROBE}"]) == 2, "both versions of the probe object remain"
    touched = {(o["params"].get("TableName") or o["params"].get("Bucket"),
                json.dumps(o["params"].get("Key") or o["params"].get("Item", {}).get("SK"))) for o in writes(r)}
    run_id = json.loads((r.bundle / "snapshot.json").read_text())["meta"]["run_id"]
    assert all(f"bbws~{run_id}" in key for _, key in touched), f"a write outside this run's keys: {touched}"


def _rekey(world: World) -> None:
    """tenants keyed by `id` instead of PK/SK (and holding a real item)."""
    ddb = world.client("dynamodb")
    ddb.update_table(TableName="tenants", DeletionProtectionEnabled=False)
    ddb.delete_table(TableName="tenants")
    ddb.get_waiter("table_not_exists").wait(TableName="tenants")
    ddb.create_table(TableName="tenants", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    ddb.get_waiter("table_exists").wait(TableName="tenants")
    ddb.put_item(TableName="tenants", Item={"id": {"S": "HEALTHCHECK#bbws-canary"}, "real": {"S": "customer"}})


class Rekeyed(Foreign):
    def pytest_bbws_world_ready(self, world: World) -> None:
        self.world = world
        _rekey(world)

    def read(self) -> dict[str, Any]:
        assert self.world is not None
        return self.world.client("dynamodb").scan(TableName="tenants")["Items"]


def test_table_keyed_differently_gets_an_error_and_no_write(suite: Any) -> None:
    watch = Rekeyed()
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert r.outcomes["test_dynamodb_canary[tenants]"] == "error"
    message = r.records["test_dynamodb_canary[tenants]"]["message"]
    assert "wrote nothing" in message and "the live key schema is (id:S)" in message, message
    assert "expects (PK:S, SK:S)" in message
    assert [o for o in writes(r) if o["params"].get("TableName") == "tenants"] == []
    assert watch.after == [{"id": {"S": "HEALTHCHECK#bbws-canary"}, "real": {"S": "customer"}}]
    # the other tables' canaries ran as usual
    assert "test_dynamodb_canary[products]" in r.passed


# --------------------------------------------------------------------------- issue 23.1: exact versions

LEFT = f"{CANARY_OBJECT_DIR}bbws~20240229T235959Z-00c0ffee.txt"  # an earlier run's key


class Stacked(Foreign):
    """Under an earlier run's canary key: a foreign version written while versioning was off (version id
    `null`), below a newer version that carries the suite's marker. The primary bucket is left with
    versioning suspended (a key-only delete would destroy the null version for good), the DR bucket with
    versioning enabled (a key-only delete would hide it under a delete marker)."""

    def pytest_bbws_world_ready(self, world: World) -> None:
        self.world = world
        for bucket, region, final in ((BUCKET, ENV.region, "Suspended"), (DR_BUCKET, ENV.dr_region, "Enabled")):
            s3 = world.client("s3", region)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
            s3.put_object(Bucket=bucket, Key=LEFT, Body=b"someone else's bytes")
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object(Bucket=bucket, Key=LEFT, Body=b"left over",
                          Metadata={"bbws-canary": LEFT.rsplit("/", 1)[1].removesuffix(".txt")})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": final})
        s3replication.run_pending()
        self.before = self.read()

    def read(self) -> dict[str, Any]:
        """Per bucket: the key's versions as (version id, carries the suite's marker), its delete markers,
        and the bytes of its `null` version."""
        assert self.world is not None
        out: dict[str, Any] = {}
        for bucket, region in ((BUCKET, ENV.region), (DR_BUCKET, ENV.dr_region)):
            s3 = self.world.client("s3", region)
            listing = s3.list_object_versions(Bucket=bucket, Prefix=LEFT)
            versions = sorted((v["VersionId"], "bbws-canary" in s3.head_object(
                Bucket=bucket, Key=LEFT, VersionId=v["VersionId"]).get("Metadata", {}))
                for v in listing.get("Versions", []))
            out[bucket] = {"versions": versions, "markers": len(listing.get("DeleteMarkers", [])), "null": (
                s3.get_object(Bucket=bucket, Key=LEFT, VersionId="null")["Body"].read()
                if ("null", False) in versions else None)}
        return out


def test_a_leftover_delete_names_each_version_and_never_touches_a_foreign_null_version(suite: Any) -> None:
    stacked = Stacked()
    r = suite.run("--canary", tests=PDV, plugins=[stacked])
    assert r.outcomes, r.stdout[-2000:]
    for bucket in (BUCKET, DR_BUCKET):
        before, after = stacked.before[bucket], stacked.after[bucket]
        assert ("null", False) in before["versions"] and any(marked for _, marked in before["versions"])
        # exactly the suite's versions went; the foreign null version is there, on top, with its bytes
        assert after["versions"] == [v for v in before["versions"] if not v[1]], (bucket, after)
        assert after["markers"] == 0 and after["null"] == b"someone else's bytes", (bucket, after)
    deletes = [o["params"] for o in writes(r) if o["operation"] == "DeleteObject"]
    assert deletes and all(p.get("VersionId") for p in deletes), deletes  # never a delete by key alone
    assert not [p for p in deletes if p["Key"] == LEFT and p["VersionId"] == "null"]
    msg = r.records[f"test_no_leftover_canary_objects[{BUCKET}]"]["message"]
    assert f"s3://{BUCKET}/{LEFT} (removed by this run)" in msg, msg  # the suite's own version, and only it
