"""Reads of the deployed tables, their backups and the app roles (DynamoDB, Backup, IAM)."""

from __future__ import annotations

from checks.areas.dynamodb import reads as r
from checks.areas.dynamodb.views import copy_targets
from checks.core.collect import Context


def collect(ctx: Context) -> None:
    env, aws = ctx.env, ctx.aws
    for region in env.regions:
        ctx.spawn(aws.read, r.list_tables(region))
    for name in env.tables:
        for spec in r.TABLE_READS:
            ctx.spawn(aws.read, spec(env, name))
        for region in env.dynamodb.replicas:
            ctx.spawn(aws.read, r.describe_table(name, region))
    if env.backup is not None:
        ctx.spawn(_backup, ctx)
    for role, need in env.iam.app_roles.items():
        ctx.spawn(aws.read, r.get_role(role))
        if need.table_actions:
            ctx.spawn(aws.read, r.simulate_tables(env, role, need.table_actions))
        if need.bucket_actions:
            ctx.spawn(aws.read, r.simulate_bucket(env, role, need.bucket_actions))


def _backup(ctx: Context) -> None:
    aws, b = ctx.aws, ctx.env.backup
    ctx.spawn(aws.read, r.backup_vault(b.vault))
    ctx.spawn(aws.read, r.recovery_points(b.vault))
    if b.copy_to_region and b.copy_vault:
        ctx.spawn(aws.read, r.backup_vault(b.copy_vault, b.copy_to_region))
    plans = aws.read(r.backup_plans())
    for plan in (plans.response or {}).get("BackupPlansList", []) if plans.ok else []:
        if plan.get("BackupPlanName") == b.plan:
            ctx.spawn(_plan, ctx, plan["BackupPlanId"])
            ctx.spawn(_selections, ctx, plan["BackupPlanId"])


def _plan(ctx: Context, plan_id: str) -> None:
    """The plan, then each vault its copy actions name (in the DR region, by the name the plan gives)."""
    b = ctx.env.backup
    got = ctx.aws.read(r.backup_plan(plan_id))
    if not got.ok:
        return
    for region, vault in sorted(set(copy_targets((got.response or {}).get("BackupPlan", {})))):
        if region and vault and (region, vault) != (b.copy_to_region, b.copy_vault):
            ctx.spawn(ctx.aws.read, r.backup_vault(vault, region))


def _selections(ctx: Context, plan_id: str) -> None:
    listing = ctx.aws.read(r.backup_selections(plan_id))
    for sel in (listing.response or {}).get("BackupSelectionsList", []) if listing.ok else []:
        ctx.spawn(ctx.aws.read, r.backup_selection(plan_id, sel["SelectionId"]))
