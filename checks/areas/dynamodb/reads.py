"""Every read DDB-01..06 make: tables, continuous backups, tags, AWS Backup, IAM roles and simulation."""

from __future__ import annotations

from checks.core.area import operations
from checks.core.arns import objects_arn, role_arn, table_arn
from checks.core.config import Env
from checks.core.read import Read, get_role, pages, read

# Every call this area makes (the read allowlist, the IAM policy and the README derive from these).
READS = operations(
    "dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups",
    "dynamodb:ListTagsOfResource", "backup:DescribeBackupVault", "backup:ListRecoveryPointsByBackupVault",
    "backup:ListBackupPlans", "backup:GetBackupPlan", "backup:ListBackupSelections", "backup:GetBackupSelection",
    "iam:GetRole", "iam:SimulatePrincipalPolicy")

__all__ = ["get_role"]  # re-exported: the app roles' GetRole


def list_tables(region: str) -> Read:
    return pages("dynamodb", "ListTables", region)


def describe_table(name: str, region: str | None = None) -> Read:
    return read("dynamodb", "DescribeTable", region, TableName=name)


def table(env: Env, name: str) -> Read:
    """DescribeTable of an expected table in the env's primary region."""
    return describe_table(name)


def continuous_backups(env: Env, name: str) -> Read:
    return read("dynamodb", "DescribeContinuousBackups", TableName=name)


def table_tags(env: Env, name: str) -> Read:
    return read("dynamodb", "ListTagsOfResource", ResourceArn=table_arn(env, name))


def backup_vault(vault: str, region: str | None = None) -> Read:
    return read("backup", "DescribeBackupVault", region, BackupVaultName=vault)


def recovery_points(vault: str) -> Read:
    return pages("backup", "ListRecoveryPointsByBackupVault", BackupVaultName=vault)


def backup_plans() -> Read:
    return pages("backup", "ListBackupPlans")


def backup_plan(plan_id: str) -> Read:
    return read("backup", "GetBackupPlan", BackupPlanId=plan_id)


def backup_selections(plan_id: str) -> Read:
    return pages("backup", "ListBackupSelections", BackupPlanId=plan_id)


def backup_selection(plan_id: str, selection_id: str) -> Read:
    return read("backup", "GetBackupSelection", BackupPlanId=plan_id, SelectionId=selection_id)


def simulate_tables(env: Env, role: str, actions: list[str]) -> Read:
    return pages("iam", "SimulatePrincipalPolicy", PolicySourceArn=role_arn(env, role), ActionNames=actions,
                 ResourceArns=[table_arn(env, t) for t in env.tables])


def simulate_bucket(env: Env, role: str, actions: list[str]) -> Read:
    return pages("iam", "SimulatePrincipalPolicy", PolicySourceArn=role_arn(env, role), ActionNames=actions,
                 ResourceArns=[objects_arn(env.s3.bucket)])


# What the collector reads of every expected table in the primary region: add a spec here and it is read.
TABLE_READS = (table, continuous_backups, table_tags)
