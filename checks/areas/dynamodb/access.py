"""DDB-06 access: the suite's own denied reads, by scope (a table, a bucket, or the account)."""

from __future__ import annotations

from typing import Any

from checks.core.arns import bucket_arn, table_arn
from checks.core.config import Env
from checks.core.snapshot import Observation, Snapshot
from checks.core.view import View


def scopes(env: Env) -> list[str]:
    """The resources DDB-06 reports denied reads under; 'account' takes the rest."""
    rep = env.s3.replication
    return [*env.tables, env.s3.bucket, *([rep.destination] if rep else []), "account"]


def scope_of(obs: Observation, scopes: list[str]) -> str:
    """The scope (table, bucket, or 'account' for everything else) an observation belongs to."""
    res = obs.resource()
    for scope in scopes:
        if res == scope or res.endswith(f"/{scope}"):
            return scope
    return "account"


def denied_reads(snapshot: Snapshot, scope: str, scopes: list[str]) -> list[Observation]:
    """AWS reads refused with an access error, in this scope."""
    return [o for o in snapshot.denied() if o.service not in ("file", "github") and scope_of(o, scopes) == scope]


class Reads(View):
    """DDB-06: the suite's own reads for one scope (a table, a bucket, or the account)."""

    def __init__(self, snapshot: Snapshot, env: Env, name: str, scopes: list[str]):
        super().__init__(snapshot, env, name)
        self.scopes = scopes

    @property
    def denied(self) -> list[Observation]:
        return denied_reads(self.snapshot, self.name, self.scopes)

    def context(self) -> dict[str, Any]:
        ctx = {**super().context(), "principal_arn": (self.snapshot.meta.get("caller") or {}).get("arn")}
        if self.name == "account":  # the account-wide reads: the account is what they judge
            ctx["resource"] = self.env.account
        first = next(iter(self.denied), None)
        if first is not None:
            res = first.resource()
            ctx.update(action=f"{first.service}:{first.operation}",
                       resource_arn=res if res.startswith("arn:") else
                       table_arn(self.env, res) if res in self.env.tables else bucket_arn(res))
        return ctx
