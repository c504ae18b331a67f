"""PDV-01..08: each validation fails on its fault, passes clean, and cleans up after itself."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse

from checks import areas
from checks.areas.pdv import collector as pdv_sources
from checks.areas.pdv import parity
from checks.core.aws import Aws
from checks.core.collect import Context, collect_all
from checks.core.config import load
from checks.core.guard import CANARY_META, WriteRefused
from checks.core.snapshot import Snapshot
from checks.world import World, adapt_client
from checks.world.patches import s3replication

REPO = Path(__file__).resolve().parent.parent
ENV = load()["local"]
BUCKET, DR_BUCKET = ENV.s3.bucket, ENV.s3.replication.destination
PDV = ("tests/pdv",)
CANARY_TESTS = {*(f"test_dynamodb_canary[{t}]" for t in ENV.tables), f"test_s3_canary[{BUCKET}]",
                f"test_replication_round_trip[{BUCKET}]"}


class WorldWatch:
    """A plugin: changes the world when it is ready, and reads what canaries left in it at the end."""

    def __init__(self, on_ready: Any = None, on_aws: Any = None):
        self.on_ready, self.on_aws = on_ready, on_aws
        self.world: World | None = None
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.objects: dict[str, list[str]] = {}

    def pytest_bbws_world_ready(self, world: World) -> None:
        self.world = world
        if self.on_ready:
            self.on_ready(world)

    def pytest_bbws_aws_ready(self, aws: Aws) -> None:
        if self.on_aws:
            self.on_aws(aws)

    def pytest_sessionfinish(self) -> None:
        if self.world is not None:
            self.items, self.objects = canaries_in(self.world)


def canaries_in(world: World) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    """Every HEALTHCHECK# item per table and healthcheck/ object per bucket in the world."""
    s3replication.run_pending()  # whatever is still pending lands now, not after a wait
    ddb = world.client("dynamodb")
    items = {t: [i for i in ddb.scan(TableName=t)["Items"] if i["PK"]["S"].startswith("HEALTHCHECK#")]
             for t in ENV.tables}
    objects = {}
    for bucket, region in ((BUCKET, ENV.region), (DR_BUCKET, ENV.dr_region)):
        found = world.client("s3", region).list_objects_v2(Bucket=bucket, Prefix="healthcheck/")
        objects[bucket] = [o["Key"] for o in found.get("Contents", [])]
    return ({t: v for t, v in items.items() if v}, {b: v for b, v in objects.items() if v})


def snapshot_of(result: Any) -> dict[str, Any]:
    return json.loads((result.bundle / "snapshot.json").read_text())


def record(result: Any, operation: str) -> dict[str, Any]:
    obs = [o for o in snapshot_of(result)["observations"] if o["service"] == "canary" and o["operation"] == operation]
    return obs[0]["response"]


def env_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- clean world

def test_clean_world_passes_with_canaries(suite: Any) -> None:
    watch = WorldWatch()
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert not r.failed and not r.errors, (r.failed, r.errors)
    assert CANARY_TESTS <= r.passed
    assert {f"test_no_leftover_canary_items[{t}]" for t in ENV.tables} <= r.passed
    assert watch.items == {} and watch.objects == {}, "the canaries left something behind"
    trip = record(r, "ReplicationRoundTrip")
    assert trip["status"] == "COMPLETED" and trip["arrived"]
    print(f"replication round trip: COMPLETED in {trip['seconds']}s ({trip['polls']} polls, world delay 0.5s)")
    replayed = suite.run("--replay", str(r.bundle), tests=PDV)
    assert replayed.outcomes == r.outcomes


def test_without_canary_nothing_is_written(suite: Any) -> None:
    watch = WorldWatch()
    r = suite.run(tests=PDV, plugins=[watch])
    assert not r.failed and not r.errors
    assert CANARY_TESTS <= r.skipped
    assert {f"test_no_leftover_canary_items[{t}]" for t in ENV.tables} <= r.passed  # leftovers: always
    writes = [o for o in snapshot_of(r)["observations"] if o["operation"] in
              ("PutItem", "DeleteItem", "PutObject", "DeleteObject")]
    assert writes == []
    assert watch.items == {} and watch.objects == {}


# --------------------------------------------------------------------------- one fault, exactly its tests

@pytest.mark.parametrize(("fault", "expected"), [
    ("PDV-02:tenants", {"test_billing_mode[tenants]"}),
    ("PDV-06:products", {"test_no_throttling[products]"}),
    ("PDV-07:campaigns", {"test_no_drift[campaigns]"}),
    ("S3-05", {f"test_replication_round_trip[{BUCKET}]"}),
])
def test_fault_fails_exactly(suite: Any, fault: str, expected: set[str]) -> None:
    r = suite.run("--canary", faults=fault, tests=PDV)
    assert r.failed == expected and not r.errors, (r.failed, r.errors)
    for test in expected:
        assert r.records[test]["check"] in ("PDV-02", "PDV-05", "PDV-06", "PDV-07")
        assert r.records[test]["remediation"] and not re.search(r"<[a-z_]+>", r.records[test]["remediation"])


def test_pdv02_message_and_fix(suite: Any) -> None:
    r = suite.run(faults="PDV-02:tenants", tests=PDV)
    rec = r.records["test_billing_mode[tenants]"]
    assert rec["message"] == "table tenants billing mode is PROVISIONED, expected PAY_PER_REQUEST"
    assert rec["remediation"].endswith("--billing-mode PAY_PER_REQUEST")


def test_pdv07_says_which_of_three_lacks_what(suite: Any) -> None:
    r = suite.run(faults="PDV-07:campaigns", tests=PDV)
    msg = r.records["test_no_drift[campaigns]"]["message"]
    assert "expected and live but missing from Terraform state" in msg
    assert "terraform import aws_dynamodb_table.campaigns campaigns" in msg


def test_pdv03_gsi_query_fails(suite: Any) -> None:
    watch = WorldWatch(on_ready=lambda w: w.deny("dynamodb", "Query", '"EmailIndex"'))
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert r.failed == {"test_dynamodb_canary[tenants]"} and not r.errors
    assert "query on EmailIndex failed (AccessDeniedException" in r.records["test_dynamodb_canary[tenants]"]["message"]
    assert watch.items == {}, "the delete must run after a failed step"


def test_pdv04_get_fails(suite: Any) -> None:
    watch = WorldWatch(on_ready=lambda w: w.deny("s3", "GetObject", "healthcheck/"))
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert r.failed == {f"test_s3_canary[{BUCKET}]"} and not r.errors
    assert watch.objects == {}


def test_pdv06_bucket_5xx_when_request_metrics_exist(suite: Any) -> None:
    # moto has no bucket metrics configurations: answer the suite's ListBucketMetricsConfigurations.
    def request_metrics(aws: Aws) -> None:
        def answer(**_: Any) -> Any:
            return (AWSResponse("http://moto", 200, {}, None), {"MetricsConfigurationList": [{"Id": "EntireBucket"}]})

        aws.client_hooks.append(lambda client: client.meta.events.register(
            "before-call.s3.ListBucketMetricsConfigurations", answer))

    def errors_5xx(world: World) -> None:
        world.client("cloudwatch").put_metric_data(Namespace="AWS/S3", MetricData=[{
            "MetricName": "5xxErrors", "Value": 2, "Unit": "Count",
            "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2),
            "Dimensions": [{"Name": "BucketName", "Value": BUCKET}, {"Name": "FilterId", "Value": "EntireBucket"}]}])

    r = suite.run(tests=PDV, plugins=[WorldWatch(on_ready=errors_5xx, on_aws=request_metrics)])
    assert r.failed == {f"test_no_5xx_errors[{BUCKET}]"} and not r.errors
    assert "5xxErrors 2 (filter EntireBucket)" in r.records[f"test_no_5xx_errors[{BUCKET}]"]["message"]


# --------------------------------------------------------------------------- PDV-05 round trip

def _delete_role(world: World) -> None:
    iam = world.client("iam")
    iam.delete_role_policy(RoleName=ENV.s3.replication.role, PolicyName="replication")
    iam.delete_role(RoleName=ENV.s3.replication.role)


def test_round_trip_fails_when_replication_role_is_gone(suite: Any) -> None:
    watch = WorldWatch(on_ready=_delete_role)
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert r.failed == {f"test_replication_round_trip[{BUCKET}]"}
    assert "ReplicationStatus FAILED" in r.records[f"test_replication_round_trip[{BUCKET}]"]["message"]
    assert watch.objects == {}


def test_round_trip_times_out(suite: Any, tmp_path: Path) -> None:
    text = (REPO / "environments.toml").read_text().replace(
        "pdv = { replication_timeout_seconds = 20 }", "pdv = { replication_timeout_seconds = 1 }")
    path = env_file(tmp_path, "environments.toml", text)

    def slow(world: World) -> None:
        s3replication.set_delay(3600)  # never within the run, however slow the machine (reset cancels it)

    watch = WorldWatch(on_ready=slow)
    r = suite.run("--canary", "--environments", str(path), tests=PDV, plugins=[watch])
    assert r.failed == {f"test_replication_round_trip[{BUCKET}]"}
    msg = r.records[f"test_replication_round_trip[{BUCKET}]"]["message"]
    assert "PENDING" in msg and "timed out" in msg and "limit 1s" in msg


@pytest.mark.parametrize("delay", [0.5, 2.0])
def test_round_trip_measures_the_delay(suite: Any, delay: float) -> None:
    def set_delay(world: World) -> None:
        s3replication.set_delay(delay)

    r = suite.run("--canary", tests=PDV, plugins=[WorldWatch(on_ready=set_delay)])
    assert f"test_replication_round_trip[{BUCKET}]" in r.passed
    trip = record(r, "ReplicationRoundTrip")
    print(f"world replication delay {delay}s: round trip COMPLETED in {trip['seconds']}s ({trip['polls']} polls)")
    # not before the delay: the world's timer starts inside PutObject, after the round trip's clock
    # (no upper bound: how much later depends on the machine)
    assert trip["seconds"] >= delay * 0.9 and trip["polls"] >= 1


# --------------------------------------------------------------------------- cleanup is proven

def _deny_ddb_delete(world: World) -> None:
    world.deny("dynamodb", "DeleteItem", '"tenants"')


def _fail_s3_deletes(aws: Aws) -> None:
    def refuse(**_: Any) -> None:
        raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "simulated"}},
                                              "DeleteObject")

    aws.client_hooks.append(lambda client: client.meta.events.register("before-call.s3.DeleteObject", refuse))


def test_interrupted_canary_is_reported_and_removed_by_the_next_run(suite: Any) -> None:
    # Run 1: the deletes fail (as if the run died between put and delete).
    first = WorldWatch(on_ready=_deny_ddb_delete, on_aws=_fail_s3_deletes)
    r1 = suite.run("--canary", tests=PDV, plugins=[first])
    assert r1.failed == {"test_dynamodb_canary[tenants]", f"test_s3_canary[{BUCKET}]",
                         f"test_replication_round_trip[{BUCKET}]"}
    assert list(first.items) == ["tenants"] and set(first.objects) == {BUCKET, DR_BUCKET}
    for test in r1.failed:
        assert not re.search(r"<[a-z_]+>", r1.records[test]["remediation"]), r1.records[test]["remediation"]
    item, key = first.items["tenants"][0], first.objects[BUCKET][0]

    # Run 2 sees what run 1 left (each run has a fresh world: carry the leftovers over).
    def leave(world: World) -> None:
        world.client("dynamodb").put_item(TableName="tenants", Item=item)
        # the object as run 1 left it: its metadata names its canary id (the suite's marker)
        world.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"left over",
                                      Metadata={CANARY_META: key.rsplit("/", 1)[1].removesuffix(".txt")})
        s3replication.run_pending()

    without = suite.run(tests=PDV, plugins=[WorldWatch(on_ready=leave)])
    assert without.failed == {"test_no_leftover_canary_items[tenants]", f"test_no_leftover_canary_objects[{BUCKET}]"}
    assert "(still there)" in without.records["test_no_leftover_canary_items[tenants]"]["message"]

    second = WorldWatch(on_ready=leave)
    r2 = suite.run("--canary", tests=PDV, plugins=[second])
    assert r2.failed == {"test_no_leftover_canary_items[tenants]", f"test_no_leftover_canary_objects[{BUCKET}]"}
    msg = r2.records["test_no_leftover_canary_items[tenants]"]["message"]
    assert item["PK"]["S"] in msg and "(removed by this run)" in msg
    msg = r2.records[f"test_no_leftover_canary_objects[{BUCKET}]"]["message"]
    assert f"s3://{BUCKET}/{key} (removed by this run)" in msg and f"s3://{DR_BUCKET}/{key} (removed" in msg
    assert CANARY_TESTS <= r2.passed
    assert second.items == {} and second.objects == {}, "run 2 removed the leftovers and its own canaries"


def test_a_crash_between_put_and_delete_still_deletes(suite: Any) -> None:
    crashed: set[str] = set()

    def crash_on_get(aws: Aws) -> None:
        def boom(params: dict[str, Any], **_: Any) -> None:
            if params.get("TableName") not in crashed:  # the first GetItem of each table only
                crashed.add(params.get("TableName"))
                raise RuntimeError("simulated crash between put and delete")

        aws.client_hooks.append(
            lambda client: client.meta.events.register("before-parameter-build.dynamodb.GetItem", boom))

    watch = WorldWatch(on_aws=crash_on_get)
    r = suite.run("--canary", tests=PDV, plugins=[watch])
    assert {f"test_dynamodb_canary[{t}]" for t in ENV.tables} <= r.failed
    message = r.records["test_dynamodb_canary[tenants]"]["message"]
    assert "RuntimeError: simulated crash between put and delete" in message
    assert watch.items == {}, "every canary item was deleted despite the crash"


# --------------------------------------------------------------------------- the guard

@pytest.fixture(scope="module")
def world() -> Any:
    w = World(ENV).start()
    yield w
    w.stop()


def _aws(world: World, canary: bool) -> Aws:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=ENV.region)
    return Aws(ENV, Snapshot({"run_id": "guardtest"}), allowed=areas.allowlist(), endpoint_url=world.endpoint_url,
               canary=canary, adapt=adapt_client, session=session)


def test_guard_refuses_every_canary_write_without_opt_in(world: World) -> None:
    aws = _aws(world, canary=False)
    writes = [("dynamodb", "PutItem", {"TableName": "tenants", "Item": {"PK": {"S": "HEALTHCHECK#x"},
                                                                         "SK": {"S": "METADATA"}}}),
              ("dynamodb", "DeleteItem", {"TableName": "tenants", "Key": {"PK": {"S": "HEALTHCHECK#x"},
                                                                           "SK": {"S": "METADATA"}}}),
              ("s3", "PutObject", {"Bucket": BUCKET, "Key": "healthcheck/x.txt", "Body": b"x"}),
              ("s3", "DeleteObject", {"Bucket": BUCKET, "Key": "healthcheck/x.txt"})]
    for service, op, params in writes:
        with pytest.raises(WriteRefused, match="canary writes need --canary"):
            aws.write(service, op, **params)
    assert aws.calls.sent == 0, "no request reached the server"
    assert {o.code for o in aws.snapshot} == {"WriteRefused"}


def test_guard_refuses_a_collector_that_tries_to_write_without_opt_in(world: World) -> None:
    aws = _aws(world, canary=False)
    for service in ("dynamodb", "s3"):
        for region in ENV.regions:
            aws.client(service, region)  # guarded without canary
    aws.canary = True  # a collector bug: it believes canaries are on
    snap = collect_all(Context(ENV, aws, aws.snapshot), [pdv_sources.collect])
    writes = [o for o in snap if o.operation in ("PutItem", "DeleteItem", "PutObject", "DeleteObject")]
    assert writes and {o.code for o in writes} == {"WriteRefused"}
    assert canaries_in(world) == ({}, {}), "nothing was written"


def test_guard_refuses_non_canary_keys_even_with_opt_in(world: World) -> None:
    aws = _aws(world, canary=True)
    with pytest.raises(WriteRefused, match="must target this run's HEALTHCHECK#bbws-canary item"):
        aws.write("dynamodb", "PutItem", TableName="tenants", Item={"PK": {"S": "TENANT#1"}, "SK": {"S": "METADATA"}})
    with pytest.raises(WriteRefused, match="must target"):
        aws.write("s3", "PutObject", Bucket=BUCKET, Key="receipts/payment_received.html", Body=b"x")
    with pytest.raises(WriteRefused, match="only reads"):
        aws.write("dynamodb", "UpdateItem", TableName="tenants", Key={"PK": {"S": "HEALTHCHECK#x"},
                                                                       "SK": {"S": "METADATA"}})
    assert aws.calls.sent == 0


# --------------------------------------------------------------------------- PDV-01

def test_pdv01_account_guard_stops_the_run(suite: Any) -> None:
    # The suite's credentials belong to another account than env local's (moto answers every
    # request of the suite's clients, GetCallerIdentity included, as account 111122223333).
    def other_account(aws: Aws) -> None:
        def header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = "111122223333"

        aws.client_hooks.append(lambda client: client.meta.events.register("before-sign", header))

    r = suite.run(tests=PDV, plugins=[WorldWatch(on_aws=other_account)])
    assert r.ret == 4
    assert r.outcomes == {}, "no check ran"
    out = " ".join(r.stdout.split())
    assert "credentials are for account 111122223333" in out and "env 'local' is account 123456789012" in out
    assert "No check was run" in out


# --------------------------------------------------------------------------- PDV-08

SIT_SHAPED = """
[envs.localsit]
account = "123456789012"
region = "af-south-1"
embedded = true
s3 = { logging_bucket = "bbws-logs-{env}", lifecycle = { noncurrent_days = 60 } }
"""


def test_pdv08_parity(suite: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    envs = env_file(tmp_path, "environments.toml", (REPO / "environments.toml").read_text() + SIT_SHAPED)
    sit = suite.run("--environments", str(envs), env="localsit", tests=PDV)
    assert not sit.failed and not sit.errors and "test_parity" in sit.skipped

    clean = suite.run("--compare-with", str(sit.bundle), tests=PDV)
    assert clean.outcomes["test_parity"] == "passed", clean.records["test_parity"]["message"]

    broken = suite.run("--compare-with", str(sit.bundle), faults="DDB-03:tenants", tests=PDV)
    assert broken.failed == {"test_parity"}
    msg = broken.records["test_parity"]["message"]
    assert "1 undeclared difference(s) between localsit and local" in msg
    assert "tables.tenants.pitr: localsit ENABLED, local DISABLED" in msg
    assert "localsit -> local" in broken.records["test_parity"]["remediation"]
    replayed = suite.run("--replay", str(broken.bundle), tests=PDV)
    assert replayed.outcomes == broken.outcomes

    capsys.readouterr()
    assert parity.main([str(sit.bundle), str(clean.bundle)]) == 0
    out = capsys.readouterr().out
    assert "declared   tables.tenants.deletion_protection: localsit false, local true" in out
    assert "declared   bucket.lifecycle[delete-old-versions].noncurrent_days: localsit 60, local 90" in out
    assert "UNDECLARED" not in out
    assert parity.main([str(sit.bundle), str(broken.bundle)]) == 1
    assert "UNDECLARED tables.tenants.pitr: localsit ENABLED, local DISABLED" in capsys.readouterr().out

    (clean.bundle / "snapshot.json").write_text("{}")
    assert parity.main([str(sit.bundle), str(clean.bundle)]) == 2
    assert "snapshot.json has been modified" in capsys.readouterr().err


def test_is_declared() -> None:
    specific = ENV.env_specific
    assert parity.is_declared("tables.tenants.tags.Environment", specific)
    assert parity.is_declared("bucket.lifecycle[delete-old-versions].noncurrent_days", specific)
    assert parity.is_declared("bucket.replication", specific)
    assert not parity.is_declared("tables.tenants.pitr", specific)
    assert not parity.is_declared("bucket.lifecycle[delete-old-versions].status", specific)
