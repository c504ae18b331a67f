"""The read-only guard and the recorder (issue 2; the exhaustive model sweep is in test_guard_models)."""

from __future__ import annotations

import boto3
import pytest

from checks import areas
from checks.areas.dynamodb.collector import collect as collect_tables
from checks.areas.s3.collector import collect as collect_buckets
from checks.core import config
from checks.core.aws import Aws
from checks.core.collect import Context, collect_all
from checks.core.guard import WriteRefused, check
from checks.core.snapshot import Snapshot
from checks.world import World, adapt_client

AWS_COLLECTORS = [collect_tables, collect_buckets]

ENV = config.load()["local"]


@pytest.fixture(scope="module")
def world():
    w = World(ENV).start()
    yield w
    w.stop()


def aws_for(world: World, canary: bool = False) -> tuple[Aws, list[str]]:
    sent: list[str] = []
    aws = Aws(ENV, Snapshot(), allowed=areas.allowlist(), endpoint_url=world.endpoint_url, canary=canary,
              adapt=adapt_client, session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=ENV.region))
    aws.client_hooks.append(lambda c: c.meta.events.register("before-send", lambda request, **_: sent.append(
        request.url)))
    return aws, sent


WRITES = [
    ("dynamodb", "put_item", {"TableName": "tenants", "Item": {"PK": {"S": "x"}, "SK": {"S": "y"}}}),
    ("dynamodb", "delete_table", {"TableName": "tenants"}),
    ("dynamodb", "update_continuous_backups", {"TableName": "tenants", "PointInTimeRecoverySpecification": {
        "PointInTimeRecoveryEnabled": False}}),
    ("s3", "put_object", {"Bucket": ENV.s3.bucket, "Key": "receipts/payment_received.html", "Body": b"x"}),
    ("s3", "delete_bucket", {"Bucket": ENV.s3.bucket}),
    ("s3", "put_bucket_versioning", {"Bucket": ENV.s3.bucket, "VersioningConfiguration": {"Status": "Suspended"}}),
    ("iam", "delete_role", {"RoleName": "bbws-app-lambda-local"}),
    ("backup", "delete_backup_vault", {"BackupVaultName": ENV.backup.vault}),
]


@pytest.mark.parametrize("service,method,params", WRITES, ids=[f"{s}.{m}" for s, m, _ in WRITES])
def test_guard_refuses_writes_before_sending(world, service, method, params):
    aws, sent = aws_for(world)
    with pytest.raises(WriteRefused, match="only reads are allowed"):
        getattr(aws.client(service), method)(**params)
    assert sent == []
    # and the world is untouched
    assert world.client("dynamodb").describe_table(TableName="tenants")["Table"]["TableStatus"] == "ACTIVE"


def test_recorded_write_attempt_is_an_observation_not_a_crash(world):
    aws, sent = aws_for(world)
    obs = aws.call("dynamodb", "DeleteTable", TableName="tenants")
    assert obs.code == "WriteRefused" and sent == []


def test_canary_writes_only_on_permitted_keys_and_only_when_opted_in(world):
    cid = "bbws~20260101T000000Z-0a1b2c"
    item = {"PK": {"S": "HEALTHCHECK#bbws-canary"}, "SK": {"S": cid}}
    key = f"healthcheck/bbws-canary/{cid}.txt"
    aws, sent = aws_for(world, canary=False)
    with pytest.raises(WriteRefused, match="--canary"):
        aws.client("dynamodb").put_item(TableName="tenants", Item=item)
    assert sent == []
    aws, sent = aws_for(world, canary=True)
    # the right form, but not granted: refused (a grant follows reading the table's key schema)
    with pytest.raises(WriteRefused, match="whose key was read"):
        aws.client("dynamodb").put_item(TableName="tenants", Item=item)
    with pytest.raises(WriteRefused, match="not granted"):
        aws.client("s3").put_object(Bucket=ENV.s3.bucket, Key=key, Body=b"ok")
    aws.permits.item("PutItem", "tenants", item, ("PK", "SK"))
    aws.permits.item("DeleteItem", "tenants", item, ("PK", "SK"))
    aws.permits.obj("PutObject", ENV.s3.bucket, key)
    with pytest.raises(WriteRefused, match="not granted"):
        aws.client("s3").delete_object(Bucket=ENV.s3.bucket, Key=key, VersionId="null")
    with pytest.raises(WriteRefused, match="canary id sort key"):
        aws.client("dynamodb").put_item(TableName="tenants", Item={"PK": {"S": "HEALTHCHECK#uptime"},
                                                                   "SK": {"S": "METADATA"}})
    with pytest.raises(WriteRefused, match="not granted"):
        aws.client("dynamodb").put_item(TableName="tenants", Item={**item, "SK": {"S": cid[:-1] + "d"}})
    with pytest.raises(WriteRefused, match="exactly the table's key"):
        aws.client("dynamodb").delete_item(TableName="tenants", Key={"PK": item["PK"]})
    with pytest.raises(WriteRefused):
        aws.client("s3").put_object(Bucket=ENV.s3.bucket, Key="healthcheck/index.html", Body=b"x")
    with pytest.raises(WriteRefused):
        aws.client("dynamodb").delete_table(TableName="tenants")
    with pytest.raises(WriteRefused, match="only the Terraform lock table"):
        aws.client("dynamodb").scan(TableName="tenants", Limit=1)
    assert sent == []
    aws.client("dynamodb").put_item(TableName="tenants", Item=item)
    aws.client("dynamodb").delete_item(TableName="tenants", Key=item)
    version = aws.client("s3").put_object(Bucket=ENV.s3.bucket, Key=key, Body=b"ok")["VersionId"]
    aws.permits.obj("DeleteObject", ENV.s3.bucket, key, version)
    with pytest.raises(WriteRefused, match="must name the exact version"):  # by key alone: never
        aws.client("s3").delete_object(Bucket=ENV.s3.bucket, Key=key)
    assert len(sent) == 3
    aws.client("s3").delete_object(Bucket=ENV.s3.bucket, Key=key, VersionId=version)
    assert len(sent) == 4


def test_guard_allows_every_read_the_collectors_use(world):

    aws, sent = aws_for(world)
    snap = collect_all(Context(ENV, aws, aws.snapshot), AWS_COLLECTORS)
    assert len(snap) > 40
    assert [o.label for o in snap if o.code == "WriteRefused"] == []
    assert all(check(o.service, o.operation, o.params, canary=False, allowed=areas.allowlist()) is None for o in snap)


def test_each_call_is_collected_once(world):

    aws, sent = aws_for(world)
    ctx = Context(ENV, aws, aws.snapshot)
    snap = collect_all(ctx, AWS_COLLECTORS * 2)  # two collectors asking for the same reads
    assert aws.calls.duplicates() == 0
    assert len(sent) == len(snap) == snap.meta["api_calls"]
    keys = [o.key for o in snap]
    assert len(keys) == len(set(keys))


def test_sessions_share_one_model_loader(monkeypatch):
    """Each service model is parsed once per process, however many sessions (runs, worlds) there are."""
    import botocore.loaders

    from checks.core.aws import new_session

    parsed: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def load_file(loader, path):
        parsed.append(path)
        return original(loader, path)
    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", load_file)
    for _ in range(3):
        new_session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1").client("kinesis")
    models = [p for p in parsed if p.endswith("kinesis/2013-12-02/service-2")]
    assert len(models) <= 1, models  # 0 when an earlier test in this process parsed it already
    first = new_session(region_name="eu-west-1")._session.get_component("data_loader")
    assert new_session(region_name="eu-west-1")._session.get_component("data_loader") is first
    assert len(first.search_paths) == len(set(first.search_paths)), first.search_paths
