"""One spec per AWS read: the collector sends it and the view looks it up, so the two can never disagree.

A `Read` names the service, operation, region (None: the env's primary region) and parameters.
An area's `reads.py` builds them from the env; `Aws.read(spec)` performs one and `View.seen(spec)`
finds its observation in the snapshot, live or replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Read:
    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    region: str | None = None
    paginate: bool = False

    def label(self) -> str:
        return f"{self.service}:{self.operation}"


def read(service: str, operation: str, region: str | None = None, **params: Any) -> Read:
    return Read(service, operation, params, region)


def pages(service: str, operation: str, region: str | None = None, **params: Any) -> Read:
    """A paginated read, recorded as one observation whose response merges every page."""
    return Read(service, operation, params, region, paginate=True)


def get_role(name: str) -> Read:
    """IAM GetRole: the app roles (DDB-06) and the replication role (S3-05) both read it."""
    return read("iam", "GetRole", RoleName=name)


CORE_READS = frozenset({("sts", "GetCallerIdentity")})  # the account guard's, before any area reads


def caller_identity() -> Read:
    """sts:GetCallerIdentity, the first call of every live run (the PDV-01 account guard)."""
    return read("sts", "GetCallerIdentity")


LOCK_ITEMS_LIMIT = 100  # a lock table holds one item per state key (and its digest): bounded, one page


def lock_items(table: str, region: str | None = None) -> Read:
    """The Terraform lock table's items (CICD-02): one bounded Scan page. The guard allows a Scan only
    of the env's lock table, never of an app table."""
    return read("dynamodb", "Scan", region, TableName=table, Limit=LOCK_ITEMS_LIMIT)
