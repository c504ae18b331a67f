"""The IAM policies the suite needs, derived from what the areas declare they read (AREA.reads): the
read-only policy, the canary policy, and README's list of permissions (`python -m checks.derive` writes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks import areas
from checks.core.guard import CANARY_OPS, CANARY_PK, iam_action

ROOT = Path(__file__).resolve().parents[1]
READONLY = ROOT / "iam" / "bbws-checks-readonly.json"
CANARY = ROOT / "iam" / "bbws-checks-canary.json"

# Reads granted only on part of a resource: items of the canary partition; the Terraform lock table.
CANARY_PARTITION = frozenset({("dynamodb", "GetItem"), ("dynamodb", "Query")})
LOCK_TABLE_SCAN = frozenset({("dynamodb", "Scan")})
LEADING_KEYS = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CANARY_PK]}}
ANY_TABLE = "arn:aws:dynamodb:*:*:table/*"


def _actions(ops: frozenset[tuple[str, str]] | set[tuple[str, str]]) -> list[str]:
    return sorted({iam_action(s, o) for s, o in ops})


def readonly_policy() -> dict[str, Any]:
    reads = areas.allowlist()
    anywhere = reads - CANARY_PARTITION - LOCK_TABLE_SCAN
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadConfiguration", "Effect": "Allow", "Action": _actions(anywhere), "Resource": "*"},
        {"Sid": "ReadCanaryPartitionOnly", "Effect": "Allow", "Action": _actions(reads & CANARY_PARTITION),
         "Resource": ANY_TABLE, "Condition": LEADING_KEYS},
        {"Sid": "ScanTerraformLockTableOnly", "Effect": "Allow", "Action": _actions(reads & LOCK_TABLE_SCAN),
         "Resource": "arn:aws:dynamodb:*:*:table/terraform-state-lock-*"}]}


def canary_policy() -> dict[str, Any]:
    items = {op for op in CANARY_OPS if op[0] == "dynamodb"}
    objects = {op for op in CANARY_OPS if op[0] == "s3"}
    # The canary deletes the exact version it wrote (s3:DeleteObjectVersion), and its delete marker-free
    # clean-up of a version-less leftover needs s3:DeleteObject.
    object_actions = sorted({*_actions(objects), "s3:DeleteObject"})
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "CanaryItemsOnly", "Effect": "Allow", "Action": _actions(items), "Resource": ANY_TABLE,
         "Condition": LEADING_KEYS},
        {"Sid": "CanaryGsiQuery", "Effect": "Allow", "Action": ["dynamodb:Query"],
         "Resource": "arn:aws:dynamodb:*:*:table/*/index/*"},
        {"Sid": "CanaryObjectsOnly", "Effect": "Allow", "Action": object_actions,
         "Resource": ["arn:aws:s3:::*/healthcheck/bbws-canary/*"]}]}


def readme_block() -> str:
    """README's permission list, between its iam-readonly markers."""
    policy = readonly_policy()
    anywhere, partition, scan = (s["Action"] for s in policy["Statement"])
    return (", ".join(f"`{a}`" for a in anywhere) + " on `*`; " + ", ".join(f"`{a}`" for a in partition) +
            f" only on the\n`{CANARY_PK}` partition (a LeadingKeys condition); " +
            ", ".join(f"`{a}`" for a in scan) + " only on\nthe Terraform lock table.\n")


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
