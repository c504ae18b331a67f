"""The static rules for AWS Backup (DDB-04): the plan's rule and copy action, and the selections covering a table."""

from __future__ import annotations

import re
from typing import Any

from checks.areas.static.findings import Finding
from checks.areas.static.findings import finding as _f
from checks.areas.static.model import Instance, Model
from checks.areas.static.values import Ref, Unresolved
from checks.core.config import CRON, Env
from checks.core.schedules import runs_at


def backup_plan(plan: Instance, env: Env) -> list[Finding]:
    want = env.backup
    rules = plan.blocks("rule")
    seen = []
    for r in rules:
        sched = r.get("schedule", "")
        days = [lc.get("delete_after", None) for lc in r.blocks("lifecycle")]
        seen.append(f"{sched or '(no schedule)'} kept {days[0] if days else '(forever)'} days")
        if runs_at(sched, want.frequency) and want.retention_days in days:
            return []
    return [_f("DDB-04", plan, "rule", f"plan {want.plan} has no {want.frequency} rule kept {want.retention_days} "
               f"days; rules: {', '.join(seen) or 'none'}",
               f'rule {{ rule_name = "{want.frequency}" target_vault_name = aws_backup_vault.<vault>.name '
               f'schedule = "{CRON[want.frequency]}" lifecycle {{ delete_after = {want.retention_days} }} }}')]


def vault_region(model: Model, ref: Any) -> str:
    """The region of the vault a copy action's destination_vault_arn points at (a Ref or a literal ARN)."""
    if isinstance(ref, Ref) and ref.type == "aws_backup_vault":
        for v in model.instances("aws_backup_vault"):
            if v.refers(ref):
                if v.provider is None:
                    raise Unresolved(f"{v.address} has no aws provider configuration")
                region = v.provider.region()
                if isinstance(region, Ref):
                    raise Unresolved(f"the region of {v.address} is {region}")
                return str(region)
        raise Unresolved(f"destination vault {ref} is not declared in this env")
    if isinstance(ref, str) and ref.startswith("arn:"):
        return ref.split(":")[3]
    raise Unresolved(f"destination_vault_arn {ref} cannot be resolved statically")


def backup_copy(plan: Instance, env: Env, model: Model) -> list[Finding]:
    region = env.backup.copy_to_region
    targets = []
    for r in plan.blocks("rule"):
        for c in r.blocks("copy_action"):
            targets.append(vault_region(model, c.get("destination_vault_arn")))
    if region in targets:
        return []
    return [_f("DDB-04", plan, "copy_action", f"plan {env.backup.plan} copies to "
               f"{', '.join(targets) or 'no region'}, expected a vault in {region}",
               f"copy_action {{ destination_vault_arn = aws_backup_vault.<dr vault>.arn lifecycle {{ delete_after = "
               f"{env.backup.retention_days} }} }} in the plan's rule, with the DR vault declared under a provider "
               f"for {region}")]


def selection_covers(sel: Instance, table: Instance, table_tags: dict[str, str]) -> bool:
    resources = sel.get("resources", []) or []
    if isinstance(resources, Ref):
        raise Unresolved(f"{sel.address}.resources is {resources}")
    for r in resources:
        if isinstance(r, Ref) and r.type == "aws_dynamodb_table" and table.refers(r):
            return True
        if isinstance(r, str) and (r == "*" or re.fullmatch(
                r"arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table/" + re.escape(str(table.get("name"))).replace(r"\*", ".*"),
                r.replace("*", ".*")) or r.endswith(":table/*")):
            return True
    for t in sel.blocks("selection_tag"):
        if str(t.get("type", "")).upper() == "STRINGEQUALS" and table_tags.get(t.get("key")) == t.get("value"):
            return True
    for cond in sel.blocks("condition"):
        for eq in cond.blocks("string_equals"):
            key = str(eq.get("key", "")).removeprefix("aws:ResourceTag/")
            if table_tags.get(key) == eq.get("value"):
                return True
    return False
