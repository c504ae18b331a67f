"""DynamoDB views: tables, their indexes, PITR, tags and replicas; AWS Backup; the app roles' permissions."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any

from checks.areas.dynamodb import reads
from checks.core.arns import role_arn, table_arn
from checks.core.config import Gsi
from checks.core.keys import expected_keys, key_schema
from checks.core.outcome import Unverifiable, read
from checks.core.schedules import runs_at
from checks.core.tags import tag_arg
from checks.core.view import View, plan_missing, setting, table_missing


class Table(View):
    """One expected DynamoDB table in the env's primary region."""

    @property
    def arn(self) -> str:
        return table_arn(self.env, self.name, self.region)

    def context(self) -> dict[str, Any]:
        return {**super().context(), "table": self.name, "table_arn": self.arn, "arn": self.arn,
                "expected_tags": tag_arg(self.env.table_tags())}

    @cached_property
    def description(self) -> dict[str, Any] | None:
        """DescribeTable's Table, or None when the table does not exist here."""
        data = read(self.seen(reads.describe_table(self.name)), f"table {self.name}", absent_ok=True)
        return None if data is None else data.get("Table", {})

    @property
    def table(self) -> dict[str, Any]:
        if self.description is None:
            raise table_missing(self.name, self.region)
        return self.description

    @property
    def exists(self) -> bool:
        return self.description is not None

    def found_in(self) -> list[str]:
        """Other configured regions whose table list holds this name."""
        found = []
        for region in self.env.regions:
            if region == self.region:
                continue
            listing = read(self.seen(reads.list_tables(region)), f"the table list in {region}")
            if self.name in listing.get("TableNames", []):
                found.append(region)
        return found

    @property
    def status(self) -> str:
        return self.table.get("TableStatus", "")

    @setting
    def key_schema(self) -> dict[str, str]:
        return key_schema(self.table.get("KeySchema", []), self.table.get("AttributeDefinitions", []))

    def expected_keys(self) -> dict[str, str]:
        d = self.env.dynamodb
        return expected_keys(d.hash_key, d.range_key)

    @setting
    def gsis(self) -> dict[str, dict[str, Any]]:
        return {g["IndexName"]: g for g in self.table.get("GlobalSecondaryIndexes", [])}

    def gsi(self, name: str) -> GsiView:
        return GsiView(self, name)

    @setting
    def pitr_status(self) -> str:
        obs = self.seen(reads.continuous_backups(self.env, self.name))
        data = read(obs, f"PITR of {self.name}", absent_ok=True)
        if data is None:
            raise table_missing(self.name, self.region)
        desc = data.get("ContinuousBackupsDescription", {})
        return desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")

    @property
    def tags(self) -> dict[str, str]:
        obs = self.seen(reads.table_tags(self.env, self.name))
        data = read(obs, f"tags of {self.name}", absent_ok=True)
        if data is None:
            raise table_missing(self.name, self.region)
        return {t["Key"]: t["Value"] for t in data.get("Tags", [])}

    @setting
    def replicas(self) -> dict[str, str]:
        return {r["RegionName"]: r.get("ReplicaStatus", "") for r in self.table.get("Replicas", [])}

    def replica(self, region: str) -> Table:
        return Table(self.snapshot, self.env, self.name, region)

    @setting
    def billing_mode(self) -> str:
        return self.table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")

    @setting
    def stream_view_type(self) -> str:
        spec = self.table.get("StreamSpecification", {})
        return spec.get("StreamViewType", "") if spec.get("StreamEnabled") else "disabled"

    @setting
    def deletion_protection(self) -> bool:
        return bool(self.table.get("DeletionProtectionEnabled", False))

    @property
    def sse_kind(self) -> str:
        """The encryption at rest as environments.toml spells it: KMS, DEFAULT (AWS owned key), or the SSEType."""
        sse = self.table.get("SSEDescription") or {}
        if not sse or sse.get("Status", "ENABLED") not in ("ENABLED", "ENABLING", "UPDATING"):
            return "DEFAULT"
        return sse.get("SSEType", "DEFAULT")

    @setting
    def sse_type(self) -> str:
        sse = self.table.get("SSEDescription") or {}
        return sse.get("SSEType", "DEFAULT (AWS owned key)") if sse.get("Status", "ENABLED") == "ENABLED" else ""


class GsiView:
    def __init__(self, table: Table, name: str):
        self.table, self.name = table, name
        self.expected: Gsi = table.env.tables[table.name].gsis[name]

    def context(self) -> dict[str, Any]:
        return {**self.table.context(), "index": self.name}

    @property
    def actual(self) -> dict[str, Any] | None:
        return self.table.gsis.get(self.name)

    def problems(self) -> list[str]:
        """Each way the index differs from the design, one message each."""
        g = self.actual
        if g is None:
            return [f"index {self.name} is missing (found: {', '.join(self.table.gsis) or 'none'})"]
        out = []
        if g.get("IndexStatus") != "ACTIVE":
            out.append(f"index {self.name} is {g.get('IndexStatus')}, expected ACTIVE")
        if g.get("Backfilling"):
            out.append(f"index {self.name} is still backfilling")
        keys = key_schema(g.get("KeySchema", []), self.table.table.get("AttributeDefinitions", []))
        want = expected_keys(self.expected.hash_key, self.expected.range_key)
        if keys != want:
            out.append(f"index {self.name} keys are {_fmt_keys(keys)}, expected {_fmt_keys(want)}")
        projection = g.get("Projection", {}).get("ProjectionType")
        if projection != self.expected.projection:
            out.append(f"index {self.name} projection is {projection}, expected {self.expected.projection}")
        return out


def _fmt_keys(keys: dict[str, str]) -> str:
    return ", ".join(f"{t} {k}" for t, k in sorted(keys.items())) or "none"


class Backup(View):
    """The env's backup vault, plan, selections and recovery points."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.judged_vault: tuple[str, str] | None = None  # (vault, region) a check looked up last: its resource
        self.fix = ""  # a concrete fix for what a check found (wins over the catalog's text)

    def context(self) -> dict[str, Any]:
        b = self.env.backup
        ctx = {**super().context(), "vault": b.vault, "plan": b.plan, "selection": b.selection or b.plan,
               "fix": self.fix}
        if self.judged_vault is not None:
            ctx.update(vault=self.judged_vault[0], resource=self.judged_vault[0], region=self.judged_vault[1])
        try:
            ctx["plan_id"] = self.plan_id
        except Unverifiable:
            pass  # the remediation then shows <plan_id>
        return ctx

    def vault_exists(self, vault: str, region: str | None = None) -> bool:
        obs = self.seen(reads.backup_vault(vault, region))
        self.judged_vault = (vault, region or self.region)
        return read(obs, f"backup vault {vault} in {region or self.region}", absent_ok=True) is not None

    @property
    def copies(self) -> list[tuple[str, str, str]]:
        """(region, vault, ARN) of every copy action of the plan's rules."""
        return copy_targets(self.plan, with_arn=True)

    @property
    def plan_id(self) -> str | None:
        listing = read(self.seen(reads.backup_plans()), "the backup plan list")
        for p in listing.get("BackupPlansList", []):
            if p.get("BackupPlanName") == self.env.backup.plan:
                return p["BackupPlanId"]
        return None

    @property
    def plan(self) -> dict[str, Any]:
        if self.plan_id is None:
            raise plan_missing(self.env.backup.plan)
        got = read(self.seen(reads.backup_plan(self.plan_id)), f"plan {self.env.backup.plan}")
        return got.get("BackupPlan", {})

    @property
    def rules(self) -> list[dict[str, Any]]:
        return self.plan.get("Rules", [])

    def rules_kept(self, frequency: str, days: int) -> list[dict[str, Any]]:
        """The plan's rules of this frequency whose recovery points are kept this many days."""
        return [r for r in self.rules if runs_at(r.get("ScheduleExpression"), frequency)
                and r.get("Lifecycle", {}).get("DeleteAfterDays") == days]

    def target_vaults(self, rules: list[dict[str, Any]]) -> list[str]:
        """The vaults these rules back up to; when none is backup.vault, the fix points them at it."""
        vaults = [str(r.get("TargetBackupVaultName")) for r in rules]
        want = self.env.backup.vault
        if want not in vaults:
            where = f"--backup-plan-id {self.plan_id} --region {self.region}"
            self.fix = (f"aws backup get-backup-plan {where} --query BackupPlan > plan.json; set the rule's "
                        f"TargetBackupVaultName to {want} in plan.json (drop RuleId); aws backup update-backup-plan "
                        f"{where} --backup-plan file://plan.json (in Terraform: target_vault_name = {want} in the "
                        f"aws_backup_plan's rule)")
        return vaults

    @property
    def selections(self) -> list[dict[str, Any]]:
        if self.plan_id is None:
            raise plan_missing(self.env.backup.plan)
        listing = read(self.seen(reads.backup_selections(self.plan_id)), "backup selections")
        out = []
        for s in listing.get("BackupSelectionsList", []):
            spec = reads.backup_selection(self.plan_id, s["SelectionId"])
            got = read(self.seen(spec), f"selection {s.get('SelectionName')}")
            out.append(got.get("BackupSelection", {}))
        return out

    def recovery_points(self, resource_arn: str) -> list[dict[str, Any]]:
        obs = self.seen(reads.recovery_points(self.env.backup.vault))
        data = read(obs, f"recovery points in {self.env.backup.vault}", absent_ok=True) or {}
        return [p for p in data.get("RecoveryPoints", []) if p.get("ResourceArn") == resource_arn]


def copy_targets(plan: dict[str, Any], with_arn: bool = False) -> list[Any]:
    """(region, vault name) each copy action of a GetBackupPlan `BackupPlan` names, from its vault ARN
    (arn:aws:backup:<region>:<account>:backup-vault:<name>)."""
    out = []
    for rule in plan.get("Rules", []):
        for action in rule.get("CopyActions", []):
            arn = action.get("DestinationBackupVaultArn", "")
            parts = arn.split(":")
            region, name = (parts[3], parts[6]) if len(parts) >= 7 and parts[5] == "backup-vault" else ("", "")
            out.append((region, name, arn) if with_arn else (region, name))
    return out


def covers(selection: dict[str, Any], arn: str, tags: dict[str, str]) -> bool:
    """Does a backup selection include this resource, by ARN (wildcards allowed) or by tag?"""
    if any(fnmatchcase(arn, pattern) for pattern in selection.get("Resources", [])):
        excluded = any(fnmatchcase(arn, p) for p in selection.get("NotResources", []))
        return not excluded
    for cond in selection.get("ListOfTags", []):
        if cond.get("ConditionType", "STRINGEQUALS") == "STRINGEQUALS" and \
                tags.get(cond.get("ConditionKey", "")) == cond.get("ConditionValue"):
            return True
    for cond in (selection.get("Conditions") or {}).get("StringEquals", []):
        key = cond.get("ConditionKey", "").removeprefix("aws:ResourceTag/")
        if tags.get(key) == cond.get("ConditionValue"):
            return True
    return False


class AppRole(View):
    """An application role's permissions, by IAM policy simulation."""

    @property
    def arn(self) -> str:
        return role_arn(self.env, self.name)

    def context(self) -> dict[str, Any]:
        return {**super().context(), "principal_arn": self.arn, "role": self.name}

    def denied(self) -> list[tuple[str, str, str]]:
        """(action, resource, decision) for every simulated action that is not allowed."""
        need = self.env.iam.app_roles[self.name]
        out = []
        role = read(self.seen(reads.get_role(self.name)), f"IAM role {self.name}", absent_ok=True)
        if role is None:
            return [("*", self.arn, "the role does not exist")]
        specs = ((need.table_actions, reads.simulate_tables), (need.bucket_actions, reads.simulate_bucket))
        for actions, spec in specs:
            if not actions:
                continue
            data = read(self.seen(spec(self.env, self.name, actions)), f"the permissions of {self.name}")
            for r in data.get("EvaluationResults", []):
                if r.get("EvalDecision") != "allowed":
                    out.append((r.get("EvalActionName", "?"), r.get("EvalResourceName", "*"),
                                r.get("EvalDecision", "?")))
        return out
