"""Plan JSON (`terraform show -json`): parse, errored, deletes/replaces of stateful resources (CICD-02)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.terraform import STATEFUL

UNPARSABLE = "bbws_unparsable_plan"  # what the collector keeps of a plan file that does not parse (no content)


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    actions: tuple[str, ...]
    action_reason: str

    @property
    def kind(self) -> str:
        return "replace" if "create" in self.actions and "delete" in self.actions else "delete"


def parse(path: str, text: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The plan, or None with a finding for text that is not a plan JSON."""
    try:
        plan = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        return None, [Finding("CICD-02", "plan-json", path, f"is not valid JSON: {exc}")]
    if isinstance(plan, dict) and UNPARSABLE in plan:  # the collector kept only its digest and size
        return None, [Finding("CICD-02", "plan-json", path, f"is not a plan JSON: {plan[UNPARSABLE]} "
                              f"({plan.get('bytes')} bytes, sha256 {plan.get('sha256')}; its content is not kept)")]
    problems = []
    if not isinstance(plan, dict):
        return None, [Finding("CICD-02", "plan-json", path, f"is not a plan: the top level is a {type(plan).__name__}")]
    if "format_version" not in plan:
        problems.append("no format_version (is this `terraform show -json <planfile>` output?)")
    rc = plan.get("resource_changes", [])
    if not isinstance(rc, list):
        problems.append("resource_changes is not a list")
    else:
        for i, c in enumerate(rc):
            actions = c.get("change", {}).get("actions") if isinstance(c, dict) and isinstance(c.get("change"), dict) \
                else None
            if not isinstance(actions, list) or not isinstance(c.get("address"), str):
                problems.append(f"resource_changes[{i}] has no address or change.actions list")
                break
    if problems:
        return None, [Finding("CICD-02", "plan-json", path, f"is not a valid plan JSON: {p}") for p in problems]
    return plan, []


def errored(path: str, plan: dict[str, Any]) -> list[Finding]:
    out = []
    if plan.get("errored") is True:
        out.append(Finding("CICD-02", "plan-errored", path, "the plan errored (\"errored\": true): terraform plan "
                           "failed part-way and the plan is incomplete"))
    if plan.get("complete") is False and plan.get("applyable") is not False:
        out.append(Finding("CICD-02", "plan-errored", path, "the plan is incomplete (\"complete\": false)"))
    return out


def destructive(plan: dict[str, Any], types: tuple[str, ...] = STATEFUL) -> list[Change]:
    """Every delete or replace (any action list with "delete") of a resource of these types."""
    out = []
    for c in plan.get("resource_changes", []):
        actions = tuple(c.get("change", {}).get("actions", []))
        if "delete" in actions and c.get("type") in types and c.get("mode", "managed") == "managed":
            out.append(Change(c["address"], c.get("type", ""), actions, str(c.get("action_reason", "") or "")))
    return out


def stateful_destroys(path: str, plan: dict[str, Any], allow: list[str]) -> list[Finding]:
    out = []
    for ch in destructive(plan):
        if ch.address in allow or ch.address.split("[")[0] in allow:
            continue
        reason = f" (action_reason {ch.action_reason})" if ch.action_reason else ""
        out.append(Finding("CICD-02", "plan-destroy", path, f"{ch.address} would be {ch.kind}d: actions "
                           f"{list(ch.actions)}{reason}; add it to terraform.allow_destroy only if that is intended",
                           ch.address))
    return out
