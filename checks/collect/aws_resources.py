"""Reads of the deployed tables, buckets, backups and roles (DynamoDB, S3, Backup, IAM)."""

from __future__ import annotations

from pathlib import Path

from ..config import Env
from . import Context


def table_arn(env: Env, name: str, region: str | None = None) -> str:
    return f"arn:aws:dynamodb:{region or env.region}:{env.account}:table/{name}"


def role_arn(env: Env, name: str) -> str:
    return f"arn:aws:iam::{env.account}:role/{name}"


def bucket_region(env: Env, bucket: str) -> str:
    rep = env.s3.replication
    return env.dr_region if rep and bucket == rep.destination else env.region


def collect(ctx: Context) -> None:
    env, aws = ctx.env, ctx.aws
    for region in env.regions:
        ctx.spawn(aws.paginate, "dynamodb", "ListTables", region)
    for name in env.tables:
        ctx.spawn(aws.call, "dynamodb", "DescribeTable", None, TableName=name)
        ctx.spawn(aws.call, "dynamodb", "DescribeContinuousBackups", None, TableName=name)
        ctx.spawn(aws.call, "dynamodb", "ListTagsOfResource", None, ResourceArn=table_arn(env, name))
        for region in env.dynamodb.replicas:
            ctx.spawn(aws.call, "dynamodb", "DescribeTable", region, TableName=name)
    ctx.spawn(_backup, ctx)
    ctx.spawn(aws.paginate, "s3", "ListBuckets", None)
    ctx.spawn(aws.call, "s3control", "GetPublicAccessBlock", None, AccountId=env.account)
    ctx.spawn(_bucket, ctx, env.s3.bucket)
    if env.s3.replication:
        ctx.spawn(_dr_bucket, ctx, env.s3.replication.destination)
        ctx.spawn(aws.call, "iam", "GetRole", None, RoleName=env.s3.replication.role)
    for role, need in env.iam.app_roles.items():
        ctx.spawn(aws.call, "iam", "GetRole", None, RoleName=role)
        if need.table_actions:
            ctx.spawn(aws.paginate, "iam", "SimulatePrincipalPolicy", None, PolicySourceArn=role_arn(env, role),
                      ActionNames=need.table_actions, ResourceArns=[table_arn(env, t) for t in env.tables])
        if need.bucket_actions:
            ctx.spawn(aws.paginate, "iam", "SimulatePrincipalPolicy", None, PolicySourceArn=role_arn(env, role),
                      ActionNames=need.bucket_actions, ResourceArns=[f"arn:aws:s3:::{env.s3.bucket}/*"])


def _backup(ctx: Context) -> None:
    aws, b = ctx.aws, ctx.env.backup
    ctx.spawn(aws.call, "backup", "DescribeBackupVault", None, BackupVaultName=b.vault)
    ctx.spawn(aws.paginate, "backup", "ListRecoveryPointsByBackupVault", None, BackupVaultName=b.vault)
    if b.copy_to_region:
        ctx.spawn(aws.call, "backup", "DescribeBackupVault", b.copy_to_region, BackupVaultName=b.vault)
    plans = aws.paginate("backup", "ListBackupPlans")
    for plan in (plans.response or {}).get("BackupPlansList", []) if plans.ok else []:
        if plan.get("BackupPlanName") == b.plan:
            ctx.spawn(aws.call, "backup", "GetBackupPlan", None, BackupPlanId=plan["BackupPlanId"])
            ctx.spawn(_selections, ctx, plan["BackupPlanId"])


def _selections(ctx: Context, plan_id: str) -> None:
    listing = ctx.aws.paginate("backup", "ListBackupSelections", BackupPlanId=plan_id)
    for sel in (listing.response or {}).get("BackupSelectionsList", []) if listing.ok else []:
        ctx.spawn(ctx.aws.call, "backup", "GetBackupSelection", None, BackupPlanId=plan_id,
                  SelectionId=sel["SelectionId"])


BUCKET_READS = ("GetBucketLocation", "GetBucketVersioning", "GetBucketEncryption", "GetPublicAccessBlock",
                "GetBucketPolicy", "GetBucketLifecycleConfiguration", "GetBucketLogging",
                "GetBucketReplication", "GetBucketTagging")


def inventory_bucket(ctx: Context, bucket: str, region: str | None = None) -> None:
    """The configuration reads of one bucket (any number of buckets: bench/ inventories use it)."""
    aws = ctx.aws
    ctx.spawn(aws.call, "s3", "HeadBucket", region, Bucket=bucket)
    for op in BUCKET_READS:
        ctx.spawn(aws.call, "s3", op, region, Bucket=bucket)
    ctx.spawn(aws.paginate, "s3", "ListObjectsV2", region, Bucket=bucket)


def _bucket(ctx: Context, bucket: str) -> None:
    env, aws = ctx.env, ctx.aws
    inventory_bucket(ctx, bucket)
    for key in env.s3.templates:
        ctx.spawn(aws.call, "s3", "GetObject", None, Bucket=bucket, Key=key)
    if env.s3.template_manifest:
        root = Path(env.source).parent
        ctx.file(root / env.s3.template_manifest, root)


def _dr_bucket(ctx: Context, bucket: str) -> None:
    aws, region = ctx.aws, ctx.env.dr_region
    for op in ("HeadBucket", "GetBucketLocation", "GetBucketVersioning"):
        ctx.spawn(aws.call, "s3", op, region, Bucket=bucket)
    ctx.spawn(aws.paginate, "s3", "ListObjectsV2", region, Bucket=bucket)
