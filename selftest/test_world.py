"""The embedded moto world: what it builds, each moto patch (checks.world.patches), each fault."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from checks.core.config import load
from checks.world import FAULTS, World, adapt_client, parse_faults
from checks.world.patches import denygate, iam, s3policy, s3replication
from checks.world.patches.policy import conditions_met

ENV = load()["local"]
ACCT, REGION, DR = ENV.account, ENV.region, ENV.dr_region
BUCKET, DR_BUCKET = ENV.s3.bucket, ENV.s3.replication.destination
TF = ENV.terraform


@pytest.fixture(scope="module")
def world() -> Any:
    w = World(ENV, replication_delay=0.2)
    w.start()
    print(f"World.start() took {w.start_seconds:.2f}s")
    yield w
    w.stop()


def code_of(exc: botocore.exceptions.ClientError) -> str:
    return exc.response["Error"]["Code"]


def suite_client(world: World, service: str, region: str = REGION) -> Any:
    """A client configured the way checks/core/aws.py configures the suite's own clients."""
    kwargs: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 1}}
    adapt_client(service, kwargs)
    client = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing").client(
        service, region_name=region, endpoint_url=world.endpoint_url, config=botocore.config.Config(**kwargs))
    if service == "s3control":  # the AWS layer's custom-endpoint fix (checks.core.aws.strip_account_host)
        from checks.core.aws import strip_account_host
        strip_account_host(client, world.endpoint_url)
    return client


# --------------------------------------------------------------------------- the built world

def test_start_is_local(world: World) -> None:
    assert world.endpoint_url.startswith("http://127.0.0.1:")
    assert world.start_seconds > 0


def test_tables(world: World) -> None:
    ddb = world.client("dynamodb")
    for name, spec in ENV.tables.items():
        t = ddb.describe_table(TableName=name)["Table"]
        assert [(k["AttributeName"], k["KeyType"]) for k in t["KeySchema"]] == [("PK", "HASH"), ("SK", "RANGE")]
        assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert t["SSEDescription"]["Status"] == "ENABLED" and t["SSEDescription"]["SSEType"] == "KMS"
        assert t["DeletionProtectionEnabled"] is True
        assert t["Replicas"] == [{"RegionName": DR, "ReplicaStatus": "ACTIVE"}]
        assert {g["IndexName"] for g in t["GlobalSecondaryIndexes"]} == set(spec.gsis)
        assert all(g["Projection"]["ProjectionType"] == "ALL" and g["IndexStatus"] == "ACTIVE"
                   for g in t["GlobalSecondaryIndexes"])
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=t["TableArn"])["Tags"]}
        assert tags == ENV.table_tags()
        replica = world.client("dynamodb", DR).describe_table(TableName=name)["Table"]
        assert replica["Replicas"] == [{"RegionName": REGION, "ReplicaStatus": "ACTIVE"}]


def test_backup(world: World) -> None:
    backup = world.client("backup")
    plans = backup.list_backup_plans()["BackupPlansList"]
    assert [p["BackupPlanName"] for p in plans] == [ENV.backup.plan]
    rule = backup.get_backup_plan(BackupPlanId=plans[0]["BackupPlanId"])["BackupPlan"]["Rules"][0]
    assert rule["ScheduleExpression"] == "cron(0 * * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == 90
    assert rule["CopyActions"][0]["DestinationBackupVaultArn"].startswith(f"arn:aws:backup:{DR}:{ACCT}:backup-vault:")
    world.client("backup", DR).describe_backup_vault(BackupVaultName=ENV.backup.copy_vault or ENV.backup.vault)
    sels = backup.list_backup_selections(BackupPlanId=plans[0]["BackupPlanId"])["BackupSelectionsList"]
    assert [(s["SelectionName"], s["BackupPlanId"]) for s in sels] == [(ENV.backup.selection, plans[0]["BackupPlanId"])]
    assert sels[0]["IamRoleArn"].endswith(":role/service-role/AWSBackupDefaultServiceRole")
    sel = backup.get_backup_selection(BackupPlanId=plans[0]["BackupPlanId"], SelectionId=sels[0]["SelectionId"])
    assert sorted(sel["BackupSelection"]["Resources"]) == sorted(
        f"arn:aws:dynamodb:{REGION}:{ACCT}:table/{t}" for t in ENV.tables)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=ENV.backup.vault)["RecoveryPoints"]
    assert sorted(p["ResourceArn"].rsplit("/", 1)[-1] for p in points) == sorted(ENV.tables)
    for p in points:
        assert p["Status"] == "COMPLETED" and p["ResourceType"] == "DynamoDB"
        age = dt.datetime.now(dt.UTC) - p["CreationDate"]
        assert dt.timedelta(minutes=15) < age < dt.timedelta(minutes=25)


def test_backup_selection_not_found(world: World) -> None:
    backup = world.client("backup")
    plan_id = backup.list_backup_plans()["BackupPlansList"][0]["BackupPlanId"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId="nope")
    assert code_of(exc.value) == "ResourceNotFoundException"


def test_bucket(world: World) -> None:
    s3 = world.client("s3")
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    enc = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc == {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
    pab = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert [st["Sid"] for st in policy["Statement"]] == ENV.s3.policy_statements
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rule = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]
    assert (rule["ID"], rule["Status"], rule["NoncurrentVersionExpiration"]["NoncurrentDays"]) == (
        "delete-old-versions", "Enabled", 90)
    assert s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]["TargetBucket"] == ENV.s3.logging_bucket
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags == ENV.bucket_tags()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == sorted(ENV.s3.templates)
    bodies = set()
    for key in ENV.s3.templates:
        obj = s3.get_object(Bucket=BUCKET, Key=key)  # the Bool SecureTransport deny does not block reads
        body = obj["Body"].read()
        assert obj["ContentType"] == "text/html" and body.startswith(b"<!DOCTYPE html>")
        assert b"{{customer_name}}" in body
        bodies.add(body)
    assert len(bodies) == 12


def test_replication_config_and_templates_replicated(world: World) -> None:
    s3 = world.client("s3")
    config = s3.get_bucket_replication(Bucket=BUCKET)["ReplicationConfiguration"]
    assert config["Role"] == f"arn:aws:iam::{ACCT}:role/{ENV.s3.replication.role}"
    (rule,) = config["Rules"]
    assert rule["ID"] == ENV.s3.replication.rule and rule["Status"] == "Enabled" and rule["Priority"] == 1
    assert rule["Filter"] == {} and rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["Destination"]["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    dr = world.client("s3", DR)
    assert dr.get_bucket_location(Bucket=DR_BUCKET)["LocationConstraint"] == DR
    assert dr.get_bucket_versioning(Bucket=DR_BUCKET)["Status"] == "Enabled"
    for key in ENV.s3.templates:
        assert s3.head_object(Bucket=BUCKET, Key=key)["ReplicationStatus"] == "COMPLETED"
        assert dr.head_object(Bucket=DR_BUCKET, Key=key)["ReplicationStatus"] == "REPLICA"


def test_replication_pending_then_completed(world: World) -> None:
    s3, dr = world.client("s3"), world.client("s3", DR)
    s3replication.set_delay(3600)  # PENDING until run_pending, however slow the machine
    try:
        s3.put_object(Bucket=BUCKET, Key="selftest/new.html", Body=b"<html></html>", ContentType="text/html")
        assert s3.head_object(Bucket=BUCKET, Key="selftest/new.html")["ReplicationStatus"] == "PENDING"
        with pytest.raises(botocore.exceptions.ClientError):
            dr.head_object(Bucket=DR_BUCKET, Key="selftest/new.html")
        assert s3replication.pending() == 1
        s3replication.run_pending()
        assert s3replication.pending() == 0
    finally:
        s3replication.set_delay(world.replication_delay)
    assert s3.get_object(Bucket=BUCKET, Key="selftest/new.html")["ReplicationStatus"] == "COMPLETED"
    copy = dr.get_object(Bucket=DR_BUCKET, Key="selftest/new.html")
    assert copy["ReplicationStatus"] == "REPLICA" and copy["Body"].read() == b"<html></html>"
    s3.copy_object(Bucket=BUCKET, Key="selftest/copy.html", CopySource={"Bucket": BUCKET, "Key": "selftest/new.html"})
    world.wait_replication()
    assert dr.head_object(Bucket=DR_BUCKET, Key="selftest/copy.html")["ReplicationStatus"] == "REPLICA"
    s3.delete_object(Bucket=BUCKET, Key="selftest/copy.html")  # a delete marker, replicated
    world.wait_replication()
    markers = dr.list_object_versions(Bucket=DR_BUCKET, Prefix="selftest/copy.html").get("DeleteMarkers", [])
    assert [m["IsLatest"] for m in markers] == [True]


def test_account_public_access_block_through_adapt_client(world: World) -> None:
    s3control = suite_client(world, "s3control")
    pab = s3control.get_public_access_block(AccountId=ACCT)["PublicAccessBlockConfiguration"]
    assert pab == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                   "RestrictPublicBuckets": True}
    assert suite_client(world, "s3").get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def test_adapt_client_touches_only_s3_and_s3control() -> None:
    for service in ("dynamodb", "backup", "iam", "sts", "cloudwatch"):
        kwargs = {"retries": {"mode": "standard"}}
        adapt_client(service, kwargs)
        assert kwargs == {"retries": {"mode": "standard"}}
    kwargs = {}
    adapt_client("s3", kwargs)
    assert kwargs == {"s3": {"addressing_style": "path"}}


def test_iam_roles_and_simulation(world: World) -> None:
    iam = world.client("iam")
    iam.get_role(RoleName=ENV.s3.replication.role)
    (app_role,) = ENV.iam.app_roles
    arn = iam.get_role(RoleName=app_role)["Role"]["Arn"]
    table = f"arn:aws:dynamodb:{REGION}:{ACCT}:table/products"
    got = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteTable"],
        ResourceArns=[table, table + "/index/ActiveIndex"])["EvaluationResults"]
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in got}
    assert decisions[("dynamodb:GetItem", table)] == "allowed"
    assert decisions[("dynamodb:Query", table + "/index/ActiveIndex")] == "allowed"
    assert decisions[("dynamodb:DeleteTable", table)] == "implicitDeny"
    got = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:PutObject"],
                                        ResourceArns=[f"arn:aws:s3:::{BUCKET}/receipts/x.html"])["EvaluationResults"]
    assert [r["EvalDecision"] for r in got] == ["allowed", "implicitDeny"]


def test_simulate_explicit_deny_wins() -> None:
    docs = [{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            {"Statement": [{"Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::b/*"}]}]
    assert iam.simulate(docs, "s3:DeleteObject", "arn:aws:s3:::b/k") == "explicitDeny"
    assert iam.simulate(docs, "s3:GetObject", "arn:aws:s3:::b/k") == "allowed"


def test_bucket_policy_conditions() -> None:
    ok = {"aws:SecureTransport": "true", "aws:PrincipalAccount": ACCT}
    assert not conditions_met({"Bool": {"aws:SecureTransport": "false"}}, ok)
    assert conditions_met({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"})
    assert not conditions_met({"StringNotEquals": {"aws:PrincipalAccount": ACCT}}, ok)
    assert conditions_met({"StringNotEquals": {"aws:PrincipalAccount": "111111111111"}}, ok)
    policy = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                             "Condition": {"Bool": {"aws:SecureTransport": False}}}]}
    assert s3policy.evaluate_bucket_policy(policy, "s3:GetObject", "arn:aws:s3:::b/k", ACCT) == "NEUTRAL"
    policy["Statement"][0].pop("Condition")
    assert s3policy.evaluate_bucket_policy(policy, "s3:GetObject", "arn:aws:s3:::b/k", ACCT) == "DENIED"


def test_terraform_backend(world: World) -> None:
    s3, ddb = world.client("s3"), world.client("dynamodb")
    assert s3.get_bucket_versioning(Bucket=TF.state_bucket)["Status"] == "Enabled"
    body = s3.get_object(Bucket=TF.state_bucket, Key=TF.state_key)["Body"].read()
    state = json.loads(body)
    assert state["version"] == 4 and state["terraform_version"] == "1.6.6"
    names = [(r["type"], r["name"]) for r in state["resources"]]
    assert names == [("aws_dynamodb_table", t) for t in ENV.tables] + [
        ("aws_s3_bucket", "templates"), ("aws_s3_bucket", "templates_dr")]
    assert state["resources"][-1]["provider"].endswith(".dr")
    lock = ddb.describe_table(TableName=TF.lock_table)["Table"]
    assert lock["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    items = ddb.scan(TableName=TF.lock_table)["Items"]
    assert items == [{"LockID": {"S": f"{TF.state_bucket}/{TF.state_key}-md5"},
                      "Digest": {"S": hashlib.md5(body).hexdigest()}}]


def test_no_throttling_by_default(world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    got = world.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="ThrottledRequests", StartTime=now - dt.timedelta(hours=1),
        EndTime=now, Period=3600, Statistics=["Sum"], Dimensions=[{"Name": "TableName", "Value": "tenants"}])
    assert got["Datapoints"] == []


# --------------------------------------------------------------------------- deny()

@pytest.mark.parametrize("service,operation,call,code", [
    ("dynamodb", "DescribeTable", lambda c: c.describe_table(TableName="tenants"), "AccessDeniedException"),
    ("s3", "GetBucketVersioning", lambda c: c.get_bucket_versioning(Bucket=BUCKET), "AccessDenied"),
    ("s3", "GetObject", lambda c: c.get_object(Bucket=BUCKET, Key=ENV.s3.templates[0]), "AccessDenied"),
    ("s3", "ListObjectsV2", lambda c: c.list_objects_v2(Bucket=BUCKET), "AccessDenied"),
    ("s3control", "GetPublicAccessBlock", lambda c: c.get_public_access_block(AccountId=ACCT), "AccessDenied"),
    ("backup", "ListBackupPlans", lambda c: c.list_backup_plans(), "AccessDeniedException"),
    ("iam", "GetRole", lambda c: c.get_role(RoleName=ENV.s3.replication.role), "AccessDeniedException"),
    ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity(), "AccessDeniedException"),
    ("cloudwatch", "ListMetrics", lambda c: c.list_metrics(), "AccessDeniedException"),
])
def test_deny(world: World, service: str, operation: str, call: Any, code: str) -> None:
    client = suite_client(world, service)
    call(client)
    world.deny(service, operation)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call(client)
        assert code_of(exc.value) == code
    finally:
        denygate.clear_denies()
    call(client)


def test_deny_one_resource_and_head(world: World) -> None:
    ddb, s3 = world.client("dynamodb"), world.client("s3")
    world.deny("dynamodb", "DescribeContinuousBackups", '"products"')
    world.deny("s3", "HeadObject")
    try:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            ddb.describe_continuous_backups(TableName="products")
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert code_of(exc.value) == "AccessDeniedException"
        assert "dynamodb:DescribeContinuousBackups on resource: arn:aws:dynamodb:" in str(exc.value)
        ddb.describe_continuous_backups(TableName="tenants")
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.head_object(Bucket=BUCKET, Key=ENV.s3.templates[0])
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        s3.get_object(Bucket=BUCKET, Key=ENV.s3.templates[0])
    finally:
        denygate.clear_denies()


# --------------------------------------------------------------------------- fresh worlds
# (below here each test starts its own World; starting one resets moto, so the module `world`
# fixture must not be used after this point)

def test_replication_fails_without_role() -> None:
    with World(ENV, replication_delay=0.05) as w:
        w.client("iam").delete_role_policy(RoleName=ENV.s3.replication.role, PolicyName="replication")
        w.client("iam").delete_role(RoleName=ENV.s3.replication.role)
        w.client("s3").put_object(Bucket=BUCKET, Key="selftest/x.html", Body=b"x")
        w.wait_replication()
        assert w.client("s3").head_object(Bucket=BUCKET, Key="selftest/x.html")["ReplicationStatus"] == "FAILED"


def test_replication_fails_when_destination_unversioned() -> None:
    with World(ENV, replication_delay=0.05) as w:
        w.client("s3", DR).put_bucket_versioning(Bucket=DR_BUCKET, VersioningConfiguration={"Status": "Suspended"})
        w.client("s3").put_object(Bucket=BUCKET, Key="selftest/y.html", Body=b"y")
        w.wait_replication()
        assert w.client("s3").head_object(Bucket=BUCKET, Key="selftest/y.html")["ReplicationStatus"] == "FAILED"


# --------------------------------------------------------------------------- faults
# (what each fault changes is judged with its checks, in one run: selftest/test_faults.py, selftest/world_diff.py)

def test_faults_default_resources() -> None:
    assert FAULTS["DDB-03"].default_resource(ENV) == "tenants"
    assert FAULTS["S3-02"].default_resource(ENV) == BUCKET
    assert FAULTS["S3-04"].default_resource(ENV) == ENV.s3.templates[0]
    assert FAULTS["CICD-05"].default_resource(ENV) is None
    assert FAULTS["DDB-03"].resources(ENV) == list(ENV.tables)


def test_parse_faults() -> None:
    assert parse_faults("DDB-03,S3-02", ENV) == [("DDB-03", "tenants"), ("S3-02", BUCKET)]
    assert parse_faults("DDB-03:products, S3-04:receipts/payment_failed.html", ENV) == [
        ("DDB-03", "products"), ("S3-04", "receipts/payment_failed.html")]
    assert parse_faults("", ENV) == []
    assert parse_faults("s3-02.EXTERNAL,DDB-04.vault", ENV) == [("S3-02.external", BUCKET),
                                                                ("DDB-04.vault", ENV.backup.plan)]
    with pytest.raises(ValueError, match=r"unknown fault 'DDB-99'; valid ids: DDB-01, .*PDV-07") as exc:
        parse_faults("DDB-99", ENV)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match=r"unknown resource 'orders' for fault DDB-03; valid: tenants, products"):
        parse_faults("DDB-03:orders", ENV)
    with pytest.raises(ValueError, match="takes no resource"):
        parse_faults("CICD-05:x", ENV)


def test_worlds_do_not_share_state() -> None:
    with World(ENV, faults=[("DDB-03", "tenants")], replication_delay=0.05) as w:
        w.client("s3").put_object(Bucket=BUCKET, Key="selftest/leak.html", Body=b"x")
    with World(ENV, replication_delay=0.05) as w:
        ddb = w.client("dynamodb")
        pitr = ddb.describe_continuous_backups(TableName="tenants")["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        with pytest.raises(botocore.exceptions.ClientError):
            w.client("s3").head_object(Bucket=BUCKET, Key="selftest/leak.html")


def test_start_timing() -> None:
    started = time.perf_counter()
    with World(ENV) as w:
        elapsed = time.perf_counter() - started
        assert 0 < w.start_seconds <= elapsed  # the world's own timer covers start(), inside this span
    print(f"World.start() {elapsed:.2f}s")


def test_object_versions_while_versioning_is_off_behave_as_in_s3(world: World) -> None:
    """patches/s3versions: HeadObject of versionId=null in a never-versioned bucket; in a suspended bucket a
    versioned HeadObject works and a versioned DeleteObject removes that one version only."""
    s3 = suite_client(world, "s3")
    plain, paused = "bbws-selftest-unversioned", "bbws-selftest-suspended"
    for b in (plain, paused):
        s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=plain, Key="k", Body=b"x")
    assert s3.head_object(Bucket=plain, Key="k", VersionId="null")["ContentLength"] == 1
    s3.put_bucket_versioning(Bucket=paused, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=paused, Key="k", Body=b"first")  # version null
    s3.put_bucket_versioning(Bucket=paused, VersioningConfiguration={"Status": "Enabled"})
    second = s3.put_object(Bucket=paused, Key="k", Body=b"second")["VersionId"]
    s3.put_bucket_versioning(Bucket=paused, VersioningConfiguration={"Status": "Suspended"})
    assert s3.head_object(Bucket=paused, Key="k", VersionId=second)["ContentLength"] == 6
    s3.delete_object(Bucket=paused, Key="k", VersionId=second)
    left = [v["VersionId"] for v in s3.list_object_versions(Bucket=paused).get("Versions", [])]
    assert left == ["null"] and s3.get_object(Bucket=paused, Key="k")["Body"].read() == b"first"
