"""Reading a bucket policy: whom its Allow statements grant (S3-02), and what its TLS-only Deny covers (S3-06).

Pure functions over the policy document; the Bucket view hands them the statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

ACCOUNT = re.compile(r"^\d{12}$")
# Condition keys whose values name the principal of a `"Principal": "*"` statement.
PRINCIPAL_KEYS = ("aws:principalaccount", "aws:sourceaccount", "aws:principalarn")
NAMING_OPERATORS = ("stringequals", "stringlike", "arnequals", "arnlike")


def as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Grant:
    """One principal an Allow statement names: its kind as written (AWS, CanonicalUser, Service, Federated,
    condition, NotPrincipal) and its value."""
    sid: str
    kind: str
    value: str

    def __str__(self) -> str:
        if self.kind == "NotPrincipal":
            return f"{self.sid}: every principal except {self.value} (Allow with NotPrincipal)"
        if self.kind == "condition":
            return f"{self.sid}: {self.value} (Principal '*' limited by a condition to it)"
        if self.kind != "AWS":
            return f"{self.sid}: {self.kind} {self.value}"
        return f"{self.sid}: {self.value}" + ("" if account_of(self.value) else " (names no account: deleted since?)")


def is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))


def grants(statement: dict[str, Any]) -> list[Grant]:
    """The principals an Allow statement grants, one Grant each; a `*` with no condition naming accounts or
    ARNs grants no one in particular here (S3-02's public check reports an unconditional `*`)."""
    if statement.get("Effect") != "Allow":
        return []
    sid = str(statement.get("Sid") or "(no Sid)")
    if "NotPrincipal" in statement:
        return [Grant(sid, "NotPrincipal", _text(statement["NotPrincipal"]))]
    principal = statement.get("Principal")
    if is_everyone(principal):
        return [Grant(sid, "condition", v) for v in _condition_principals(statement.get("Condition") or {})]
    if not isinstance(principal, dict):
        return []
    return [Grant(sid, kind, str(v)) for kind, values in principal.items() for v in as_list(values) if v != "*"]


def _condition_principals(condition: dict[str, Any]) -> list[str]:
    out = []
    for operator, tests in condition.items():
        base = operator.lower().removeprefix("forallvalues:").removeprefix("foranyvalue:").removesuffix("ifexists")
        if base not in NAMING_OPERATORS or not isinstance(tests, dict):
            continue
        for key, values in tests.items():
            if key.lower() in PRINCIPAL_KEYS:
                out += [str(v) for v in as_list(values)]
    return out


def _text(principal: Any) -> str:
    if isinstance(principal, dict):
        return ", ".join(str(v) for values in principal.values() for v in as_list(values))
    return str(principal)


def account_of(value: str) -> str | None:
    """The account an AWS principal belongs to: an account id or an ARN's account field (None when the value
    names none, e.g. a unique id left behind by a deleted role)."""
    if ACCOUNT.match(value):
        return value
    parts = value.split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" else None


def outside(grant: Grant, account: str, owner_id: str | None) -> bool:
    """Does this grant reach beyond the account? Service principals are AWS itself and stay inside."""
    if grant.kind == "Service":
        return False
    if grant.kind == "NotPrincipal":
        return True
    if grant.kind == "CanonicalUser":
        return grant.value != owner_id
    return account_of(grant.value) != account


def expected(grant: Grant, patterns: list[str]) -> bool:
    """Is this grant one the env lists (s3.external_principals): its account, or a pattern of the principal?"""
    if grant.kind == "NotPrincipal":
        return False
    account = account_of(grant.value) if grant.kind in ("AWS", "condition", "Federated") else None
    return any(p == account if ACCOUNT.match(p) else fnmatchcase(grant.value, p) for p in patterns)


def needs_owner(statements: list[dict[str, Any]]) -> bool:
    """A CanonicalUser grant is judged against the bucket owner's canonical id (the bucket list's Owner)."""
    return any(g.kind == "CanonicalUser" for s in statements for g in grants(s))


# --------------------------------------------------------------------------- S3-06 TLS-only deny

def insecure_transport(condition: dict[str, Any]) -> bool:
    return str((condition.get("Bool") or {}).get("aws:SecureTransport", "")).lower() == "false"


def tls_denies(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("Effect") == "Deny" and insecure_transport(s.get("Condition") or {})]


def _covers_resource(statement: dict[str, Any], arn: str) -> bool:
    if "NotResource" in statement:
        return not any(fnmatchcase(arn, p) for p in as_list(statement["NotResource"]))
    return any(fnmatchcase(arn, p) for p in as_list(statement.get("Resource")))


def _all_actions(statement: dict[str, Any]) -> bool:
    actions = as_list(statement.get("Action"))
    return "NotAction" not in statement and any(str(a).lower() in ("*", "s3:*") for a in actions)


def tls_gaps(statements: list[dict[str, Any]], bucket: str) -> list[str]:
    """What the TLS-only Deny leaves open: the bucket ARN and the objects ARN must each be covered by a Deny on
    aws:SecureTransport = false for every principal and every S3 action. Empty when it is complete."""
    denies = tls_denies(statements)
    out = []
    for arn, what in ((f"arn:aws:s3:::{bucket}", "the bucket"), (f"arn:aws:s3:::{bucket}/*", "its objects")):
        over = [s for s in denies if _covers_resource(s, arn)]
        if not over:
            out.append(f"does not cover {arn} ({what})")
        elif not any(is_everyone(s.get("Principal")) and _all_actions(s) for s in over):
            s = over[0]
            out.append(f"covers {arn} ({what}) only for principal {_text(s.get('Principal'))} and actions "
                       f"{', '.join(map(str, as_list(s.get('Action')))) or 'NotAction ' + _text(s.get('NotAction'))}"
                       ", expected '*' and s3:*")
    return out
