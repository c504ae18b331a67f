"""IAM: moto has no SimulatePrincipalPolicy: evaluate the role's (or user's) inline and attached
managed policies; an explicit Deny wins, Allow needs a matching action and resource."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import moto.iam.responses  # noqa: F401 - imported with this module (see checks.world.patches)

from checks.world.patches.policy import action_match


def _policy_docs(principal: Any) -> list[dict[str, Any]]:
    docs = []
    for doc in getattr(principal, "policies", {}).values():
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    for policy in getattr(principal, "managed_policies", {}).values():
        doc = next((v.document for v in getattr(policy, "versions", []) if v.is_default), None)
        doc = doc or getattr(policy, "document", "{}")
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    return docs


def simulate(docs: list[dict[str, Any]], action: str, resource: str) -> str:
    decision = "implicitDeny"
    for doc in docs:
        statements = doc.get("Statement", [])
        for st in statements if isinstance(statements, list) else [statements]:
            acts = st.get("Action", [])
            if "NotAction" in st:
                if action_match(st["NotAction"], action):
                    continue
            elif not action_match(acts, action):
                continue
            res = st.get("Resource", "*")
            if not any(fnmatch.fnmatchcase(resource, p) for p in (res if isinstance(res, list) else [res])):
                continue
            if st.get("Effect") == "Deny":
                return "explicitDeny"
            decision = "allowed"
    return decision


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    def simulate_principal_policy(self: Any) -> Any:
        arn = self._get_param("PolicySourceArn")
        name = arn.split("/")[-1]
        if ":role/" in arn:
            principal = self.backend.get_role_by_arn(arn)
        elif ":user/" in arn:
            principal = self.backend.get_user(name)
        else:
            principal = self.backend.get_group(name)
        docs = _policy_docs(principal)
        docs += [json.loads(d) for d in self._get_param("PolicyInputList") or []]
        results = []
        for action in self._get_param("ActionNames") or []:
            for resource in self._get_param("ResourceArns") or ["*"]:
                decision = simulate(docs, action, resource)
                results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision,
                                "MatchedStatements": [], "MissingContextValues": []})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    IamResponse.simulate_principal_policy = simulate_principal_policy
