"""S3 bucket policy.

moto evaluates bucket-policy conditions with StringEquals only (any other operator counts
as "met") and turns a failed condition into an explicit deny. So `Bool aws:SecureTransport
"false"` denied every object call. Evaluate the common operators against a request context
in which the loopback connection to moto counts as secure transport and the caller is the
account's root (moto's default credentials).
"""

from __future__ import annotations

import json
from typing import Any

import moto.iam.access_control  # noqa: F401 - imported with this module (see checks.world.patches)
import moto.s3.models  # noqa: F401

from checks.world.patches.policy import action_match, conditions_met, principal_match


def evaluate_bucket_policy(policy: dict[str, Any], action: str, resource: str, account: str) -> str:
    """'DENIED' | 'PERMITTED' | 'NEUTRAL' for the account root over a secure connection."""
    caller = f"arn:aws:iam::{account}:root"
    context = {"aws:SecureTransport": "true", "aws:PrincipalAccount": account, "aws:PrincipalArn": caller,
               "aws:userid": account}
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    allowed = False
    for st in statements:
        if "NotAction" in st:
            if action_match(st["NotAction"], action):
                continue
        elif not action_match(st.get("Action", []), action):
            continue
        if "NotResource" in st:
            if action_match(st["NotResource"], resource):
                continue
        elif not action_match(st.get("Resource", []), resource):
            continue
        if not principal_match(st.get("Principal"), caller, account):
            continue
        if not conditions_met(st.get("Condition"), context):
            continue
        if st.get("Effect") == "Deny":
            return "DENIED"
        allowed = True
    return "PERMITTED" if allowed else "NEUTRAL"


def patch() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        return getattr(PermissionResult, evaluate_bucket_policy(policy, action, resource, self.account_id))

    FakeBucket.get_permission = get_permission
