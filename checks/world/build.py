"""Build the reference deployment of one env inside the moto server.

Plain, unguarded boto3 calls, the way Terraform would make them; moto gaps are filled by
checks.world.patches (extensions) or its backdoors (recovery points).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from checks.core.arns import table_arn
from checks.core.config import CRON, Env
from checks.core.keys import Key
from checks.world.patches import backup as backup_patch
from checks.world.patches import s3replication

if TYPE_CHECKING:
    from checks.world import World

BACKUP_ROLE = "arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"
S3_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def build(world: World) -> None:
    env = world.env
    build_iam(world)
    for table in env.tables:
        build_table(world, table)
    if env.backup is not None:
        build_backup(world)
    build_s3(world)
    if env.terraform is not None:
        build_terraform(world)
    wait_replicated(world)


# --------------------------------------------------------------------------- IAM

def build_iam(world: World) -> None:
    env, iam = world.env, world.client("iam")
    if env.s3.replication:
        iam.create_role(RoleName=env.s3.replication.role, AssumeRolePolicyDocument=json.dumps(S3_TRUST))
        iam.put_role_policy(RoleName=env.s3.replication.role, PolicyName="replication", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                 "Resource": f"arn:aws:s3:::{env.s3.bucket}"},
                {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                               "s3:GetObjectVersionTagging"],
                 "Resource": f"arn:aws:s3:::{env.s3.bucket}/*"},
                {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                 "Resource": f"arn:aws:s3:::{env.s3.replication.destination}/*"}]}))
    for name, role in env.iam.app_roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        statements = []
        if role.table_actions:
            resources = [arn for t in env.tables for arn in (table_arn(env, t), table_arn(env, t) + "/index/*")]
            statements.append({"Sid": "Tables", "Effect": "Allow", "Action": role.table_actions,
                               "Resource": resources})
        if role.bucket_actions:
            statements.append({"Sid": "Templates", "Effect": "Allow", "Action": role.bucket_actions,
                               "Resource": f"arn:aws:s3:::{env.s3.bucket}/*"})
        iam.put_role_policy(RoleName=name, PolicyName="app-access",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))


# --------------------------------------------------------------------------- DynamoDB

def build_table(world: World, table: str, region: str | None = None, replicas: bool = True) -> None:
    env = world.env
    ddb = world.client("dynamodb", region)
    ddb_cfg = env.dynamodb
    hash_key, range_key = Key.parse(ddb_cfg.hash_key), Key.parse(ddb_cfg.range_key)
    attrs = {hash_key.name: hash_key.type, range_key.name: range_key.type}
    gsis = []
    for name, gsi in env.tables[table].gsis.items():
        schema = []
        for text, kind in ((gsi.hash_key, "HASH"), (gsi.range_key, "RANGE")):
            if text:
                key = Key.parse(text)
                attrs[key.name] = key.type
                schema.append({"AttributeName": key.name, "KeyType": kind})
        gsis.append({"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": gsi.projection}})
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeySchema": [{"AttributeName": hash_key.name, "KeyType": "HASH"},
                      {"AttributeName": range_key.name, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()],
        "BillingMode": ddb_cfg.billing_mode,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": ddb_cfg.stream_view_type},
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"} if ddb_cfg.sse == "KMS" else {"Enabled": False},
        "DeletionProtectionEnabled": ddb_cfg.deletion_protection,
        "Tags": tag_list(env.table_tags()),
    }
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    if ddb_cfg.billing_mode == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        for g in gsis:
            g["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    ddb.create_table(**kwargs)
    if ddb_cfg.pitr:
        ddb.update_continuous_backups(TableName=table,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    if replicas and ddb_cfg.replicas:
        ddb.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": r}} for r in ddb_cfg.replicas])


# --------------------------------------------------------------------------- Backup

def selection_name(env: Env) -> str:
    """The selection the world builds: the expected name, or one named for the plan when any name will do."""
    return env.backup.selection or f"{env.backup.plan}-selection"


def build_backup(world: World) -> None:
    env = world.env
    cfg = env.backup
    backup = world.client("backup")
    vault_arn = backup.create_backup_vault(BackupVaultName=cfg.vault)["BackupVaultArn"]
    rule: dict[str, Any] = {
        "RuleName": f"{cfg.frequency}-dynamodb", "TargetBackupVaultName": cfg.vault,
        "ScheduleExpression": CRON[cfg.frequency], "StartWindowMinutes": 60, "CompletionWindowMinutes": 180,
        "Lifecycle": {"DeleteAfterDays": cfg.retention_days},
    }
    if cfg.copy_to_region:
        dr_arn = world.client("backup", cfg.copy_to_region).create_backup_vault(
            BackupVaultName=cfg.copy_vault or cfg.vault)["BackupVaultArn"]
        rule["CopyActions"] = [{"DestinationBackupVaultArn": dr_arn,
                                "Lifecycle": {"DeleteAfterDays": cfg.retention_days}}]
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": cfg.plan, "Rules": [rule]})["BackupPlanId"]
    backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection={
        "SelectionName": selection_name(env), "IamRoleArn": BACKUP_ROLE.format(account=env.account),
        "Resources": [table_arn(env, t) for t in env.tables]})
    created = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    for table in env.tables:
        backup_patch.add_recovery_point(env.account, env.region, cfg.vault, table_arn(env, table), created)
    assert vault_arn


# --------------------------------------------------------------------------- S3

def template_body(key: str) -> bytes:
    title = key.rsplit("/", 1)[-1].removesuffix(".html").replace("_", " ").title()
    return (f"<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n"
            f"<h1>{title}</h1>\n<p>Dear {{{{customer_name}}}},</p>\n"
            f"<p>Reference {{{{reference_id}}}} ({key}) dated {{{{date}}}}.</p>\n"
            f"<p>Amount: {{{{amount}}}}</p>\n<p>Regards,<br>{{{{company_name}}}}</p>\n</body>\n</html>\n").encode()


def bucket_policy(env: Env, bucket: str) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    app_role = next(iter(env.iam.app_roles), f"bbws-app-lambda-{env.name}")
    statements = [s for s in _policy_statements(env, arn, app_role)
                  if s["Sid"] in env.s3.policy_statements or s["Sid"] == "DenyInsecureTransport"]  # S3-06 needs it
    external = external_principals(env)
    if external:
        statements.append({"Sid": "AllowExpectedExternalRead", "Effect": "Allow", "Principal": {"AWS": external},
                           "Action": "s3:GetObject", "Resource": f"{arn}/*"})
    return {"Version": "2012-10-17", "Statement": statements}


def external_principals(env: Env) -> list[str]:
    """The AWS principals s3.external_principals names that a policy can grant (an account id as its root;
    patterns and non-AWS principals are left out)."""
    out = []
    for p in env.s3.external_principals:
        if p.isdigit() and len(p) == 12:
            out.append(f"arn:aws:iam::{p}:root")
        elif p.startswith("arn:") and not any(c in p for c in "*?"):
            out.append(p)
    return out


def _policy_statements(env: Env, arn: str, app_role: str) -> list[dict[str, Any]]:
    accounts = [env.account, *sorted({a.split(":")[4] for a in external_principals(env)} - {env.account})]
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyPublicAccess", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": accounts if len(accounts) > 1 else env.account}}},
        {"Sid": "AllowLambdaReadTemplates", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{env.account}:role/{app_role}"}, "Action": "s3:GetObject",
         "Resource": f"{arn}/*"},
        {"Sid": "AllowTerraformManagement", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{env.account}:root"},
         "Action": "s3:*", "Resource": [arn, f"{arn}/*"]},
    ]


def _create_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def _encrypt(s3: Any, env: Env, bucket: str) -> None:
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": env.s3.encryption},
        "BucketKeyEnabled": env.s3.bucket_key}]})


PAB = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def build_s3(world: World) -> None:
    env = world.env
    cfg = env.s3
    s3 = world.client("s3")
    bucket = cfg.bucket
    if cfg.account_public_access_block:
        world.client("s3control").put_public_access_block(AccountId=env.account, PublicAccessBlockConfiguration=PAB)
    if cfg.logging_bucket:
        _create_bucket(s3, cfg.logging_bucket, env.region)
        _encrypt(s3, env, cfg.logging_bucket)
        s3.put_public_access_block(Bucket=cfg.logging_bucket, PublicAccessBlockConfiguration=PAB)
        s3.put_bucket_policy(Bucket=cfg.logging_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{cfg.logging_bucket}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": env.account}}}]}))
    _create_bucket(s3, bucket, env.region)
    if cfg.versioning:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _encrypt(s3, env, bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PAB)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(env, bucket)))
    if cfg.lifecycle is not None:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
            "ID": cfg.lifecycle.rule, "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": cfg.lifecycle.noncurrent_days}}]})
    if cfg.logging_bucket:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": cfg.logging_bucket, "TargetPrefix": f"{bucket}/"}})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(env.bucket_tags())})
    if cfg.replication:
        rep = cfg.replication
        dr = world.client("s3", env.dr_region)
        _create_bucket(dr, rep.destination, env.dr_region)
        dr.put_bucket_versioning(Bucket=rep.destination, VersioningConfiguration={"Status": "Enabled"})
        _encrypt(dr, env, rep.destination)
        dr.put_public_access_block(Bucket=rep.destination, PublicAccessBlockConfiguration=PAB)
        dr.put_bucket_tagging(Bucket=rep.destination, Tagging={"TagSet": tag_list(env.bucket_tags())})
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{env.account}:role/{rep.role}",
            "Rules": [{
                "ID": rep.rule, "Status": "Enabled", "Priority": 1, "Filter": {},
                "DeleteMarkerReplication": {"Status": "Enabled" if rep.delete_markers else "Disabled"},
                "Destination": {
                    "Bucket": f"arn:aws:s3:::{rep.destination}",
                    "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": rep.time_control_minutes}},
                    "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": rep.time_control_minutes}}},
            }]})
    for key in cfg.templates:
        s3.put_object(Bucket=bucket, Key=key, Body=template_body(key), ContentType="text/html")


def wait_replicated(world: World) -> None:
    """Run the build's replications now (templates COMPLETED, copies in the DR bucket) rather
    than after the world's replication delay, which only later writes (canaries) observe."""
    s3replication.run_pending()


# --------------------------------------------------------------------------- Terraform backend

def _lineage(env: Env) -> str:
    """Stable per env, so identical worlds have identical state bytes and digests."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bbws/{env.name}/{env.terraform.state_key}"))


def state_document(env: Env, lineage: str | None = None, serial: int = 7) -> dict[str, Any]:
    provider = 'provider["registry.terraform.io/hashicorp/aws"]'
    resources: list[dict[str, Any]] = []
    for table in env.tables:
        resources.append({"mode": "managed", "type": "aws_dynamodb_table", "name": table, "provider": provider,
                          "instances": [{"schema_version": 1, "attributes": {
                              "name": table, "arn": table_arn(env, table),
                              "hash_key": Key.parse(env.dynamodb.hash_key).name,
                              "range_key": Key.parse(env.dynamodb.range_key).name,
                              "billing_mode": env.dynamodb.billing_mode}}]})
    resources.append({"mode": "managed", "type": "aws_s3_bucket", "name": "templates", "provider": provider,
                      "instances": [{"schema_version": 0, "attributes": {
                          "bucket": env.s3.bucket, "arn": f"arn:aws:s3:::{env.s3.bucket}"}}]})
    if env.s3.replication:
        dest = env.s3.replication.destination
        resources.append({"mode": "managed", "type": "aws_s3_bucket", "name": "templates_dr",
                          "provider": provider + ".dr",
                          "instances": [{"schema_version": 0, "attributes": {
                              "bucket": dest, "arn": f"arn:aws:s3:::{dest}"}}]})
    return {"version": 4, "terraform_version": "1.6.6", "serial": serial, "lineage": lineage or _lineage(env),
            "outputs": {}, "resources": resources}


def create_lock_table(world: World, hash_key: str = "LockID") -> None:
    ddb = world.client("dynamodb")
    ddb.create_table(TableName=world.env.terraform.lock_table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}])


def lock_key(world: World) -> str:
    """The lock table's live hash key (LockID, or LockId after the CICD-02 fault): every later write uses it."""
    table = world.client("dynamodb").describe_table(TableName=world.env.terraform.lock_table)["Table"]
    return next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH")


def put_state(world: World, document: dict[str, Any]) -> str:
    """Write the state object and its -md5 digest item; returns the digest."""
    tf = world.env.terraform
    body = json.dumps(document, indent=2).encode()
    world.client("s3").put_object(Bucket=tf.state_bucket, Key=tf.state_key, Body=body,
                                  ContentType="application/json")
    digest = hashlib.md5(body).hexdigest()
    world.client("dynamodb").put_item(TableName=tf.lock_table, Item={
        lock_key(world): {"S": f"{tf.state_bucket}/{tf.state_key}-md5"}, "Digest": {"S": digest}})
    return digest


def build_terraform(world: World) -> None:
    env = world.env
    tf = env.terraform
    s3 = world.client("s3")
    _create_bucket(s3, tf.state_bucket, env.region)
    s3.put_bucket_versioning(Bucket=tf.state_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=tf.state_bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    s3.put_public_access_block(Bucket=tf.state_bucket, PublicAccessBlockConfiguration=PAB)
    create_lock_table(world)
    put_state(world, state_document(env))
