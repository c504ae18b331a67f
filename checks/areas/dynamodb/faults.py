"""DynamoDB runbook faults for the embedded world (drills and self-tests; they drive moto)."""

from __future__ import annotations

from typing import Any

from checks.core.arns import table_arn
from checks.world import build
from checks.world.faults import fault
from checks.world.patches import backup as backup_patch
from checks.world.patches import dynamodb as dynamodb_patch


@fault("DDB-01", "table", "the table is deleted in the primary region (it still exists in the DR region)",
       fails={"test_table_exists[{r}]": "DDB-01", "test_no_drift[{r}]": "PDV-07",
              "test_resource_managed[{r}]": "CICD-03",
              "test_state_resources_live[{state_key}]": "CICD-03"}, removes="table",
       changes=("dynamodb:DescribeTable", "dynamodb:ListTables", "dynamodb:DescribeContinuousBackups",
                "dynamodb:ListTagsOfResource", "dynamodb:Query"))
def table_deleted(world: Any, table: str) -> None:
    env = world.env
    other = env.dr_region or ("eu-west-1" if env.region != "eu-west-1" else "us-east-1")
    if table not in world.client("dynamodb", other).list_tables()["TableNames"]:
        build.build_table(world, table, region=other, replicas=False)
    ddb = world.client("dynamodb")
    ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=table)


@fault("DDB-02", "table", "the table's ActiveIndex is CREATING and backfilling",
       fails={"test_gsi[{r}-ActiveIndex]": "DDB-02"}, needs="table", changes=("dynamodb:DescribeTable",))
def index_creating(world: Any, table: str) -> None:
    dynamodb_patch.set_index_status(world.env.account, world.env.region, table, "ActiveIndex", "CREATING", True)


@fault("DDB-03", "table", "point-in-time recovery is disabled on the table",
       fails={"test_pitr_enabled[{r}]": "DDB-03"}, needs="table", changes=("dynamodb:DescribeContinuousBackups",))
def pitr_disabled(world: Any, table: str) -> None:
    world.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})


@fault("DDB-04", "table", "the table is missing from the backup selection",
       fails={"test_backup_selection_covers[{r}]": "DDB-04"}, needs="table", changes=("backup:GetBackupSelection",))
def not_backed_up(world: Any, table: str) -> None:
    arn = table_arn(world.env, table)
    for sel in backup_patch.selections(world.env.account, world.env.region).values():
        if sel["BackupSelection"]["SelectionName"] == build.selection_name(world.env):
            sel["BackupSelection"]["Resources"] = [r for r in sel["BackupSelection"]["Resources"] if r != arn]


@fault("DDB-04.vault", "plan", "the plan's backup rule backs up to another vault (a leftover <vault>-old)",
       fails={"test_backup_plan": "DDB-04"}, changes=("backup:GetBackupPlan", "backup:ListBackupPlans"))
def rule_vault_changed(world: Any, plan: str) -> None:
    backup = world.client("backup")
    other = f"{world.env.backup.vault}-old"
    backup.create_backup_vault(BackupVaultName=other)
    plan_id = next(p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]
                   if p["BackupPlanName"] == plan)
    doc = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
    rules = [{**{k: v for k, v in rule.items() if k != "RuleId"}, "TargetBackupVaultName": other}
             for rule in doc["Rules"]]
    backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": plan, "Rules": rules})


@fault("DDB-05", "table", "the table's Environment tag is removed",
       fails={"test_table_tag[{r}-Environment]": "DDB-05"}, needs="table", changes=("dynamodb:ListTagsOfResource",))
def tag_removed(world: Any, table: str) -> None:
    world.client("dynamodb").untag_resource(ResourceArn=table_arn(world.env, table), TagKeys=["Environment"])


# The denied read is an error of the check that needs it (never a pass, never that check's finding),
# and DDB-06's own finding.
@fault("DDB-06", "table", "DescribeContinuousBackups on the table is denied (AccessDeniedException)",
       fails={"test_reads_allowed[{r}]": "DDB-06"}, errors={"test_pitr_enabled[{r}]": "DDB-03"},
       changes=("dynamodb:DescribeContinuousBackups",))
def read_denied(world: Any, table: str) -> None:
    world.deny("dynamodb", "DescribeContinuousBackups", f'"{table}"', region=world.env.region)
