"""IAM policy matching shared by the bucket-policy and SimulatePrincipalPolicy patches."""

from __future__ import annotations

import fnmatch
from typing import Any


def _cond_values(v: Any) -> list[str]:
    return [str(x).lower() if isinstance(x, bool) else str(x) for x in (v if isinstance(v, list) else [v])]


def conditions_met(conditions: dict[str, Any] | None, context: dict[str, str]) -> bool:
    for operator, pairs in (conditions or {}).items():
        op = operator.split(":")[-1]
        if_exists = op.endswith("IfExists")
        op = op.removesuffix("IfExists")
        for key, expected in pairs.items():
            actual = context.get(key) if key in context else next(
                (v for k, v in context.items() if k.lower() == key.lower()), None)
            values = _cond_values(expected)
            negated = "Not" in op
            if actual is None:
                if if_exists or negated:
                    continue
                return False
            if op.startswith("Bool"):
                hit = actual.lower() in [v.lower() for v in values]
            elif op.startswith(("StringLike", "StringNotLike", "ArnLike", "ArnNotLike")):
                hit = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif op.startswith("StringEqualsIgnoreCase") or op.startswith("StringNotEqualsIgnoreCase"):
                hit = actual.lower() in [v.lower() for v in values]
            elif op.startswith(("String", "Arn")):
                hit = actual in values
            elif op == "Null":
                hit = "false" in [v.lower() for v in values]
            else:  # numeric/date/ip operators: not used by our policies; treat as met
                hit = not negated
            if hit == negated:
                return False
    return True


def action_match(patterns: Any, action: str) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def principal_match(principal: Any, caller: str, account: str) -> bool:
    if principal in (None, "*"):
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS", [])
        aws = aws if isinstance(aws, list) else [aws]
        return any(p in ("*", caller, account, f"arn:aws:iam::{account}:root") for p in aws)
    return False
