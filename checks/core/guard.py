"""The read-only guard: the closed read allowlist, the IAM actions behind it, and the canaries' write permits.

Every client of the guarded AWS layer (checks/core/aws.py) carries `install_guard` on botocore's
`before-parameter-build` event, so a write is refused before a request exists, however the client is used.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from checks.core.area import IAM_ACTIONS as DECLARED_IAM_ACTIONS
from checks.core.snapshot import jsonable

# ----- the read allowlist (issue 10.3): exactly the operations the collectors send -----
# Closed: an operation is allowed because an area declares it (AREA.reads, each area's reads.py READS;
# checks.areas.allowlist() is their union), never because of its name. The guard is given that set
# (Aws(allowed=...)); selftest/test_safety_allowlist.py proves it equals what the collectors call against the
# embedded world, and `python -m checks.derive` derives the IAM policies and README's list from it.
Operation = tuple[str, str]
# The IAM action that authorizes each read, where it is not "<service>:<Operation>".
IAM_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListBucketMetricsConfigurations"): "s3:GetMetricsConfiguration",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3", "DeleteObject"): "s3:DeleteObjectVersion",  # the canary deletes the version it created
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorizes a call: this table's, or one an area declared with its READS."""
    return IAM_ACTIONS.get((service, operation)) or DECLARED_IAM_ACTIONS.get((service, operation)) \
        or f"{service}:{operation}"


# The one credential exchange the suite itself makes (env.role_arn, in Aws._make_session).
CREDENTIAL_EXCHANGES: frozenset[tuple[str, str]] = frozenset({("sts", "AssumeRole")})
# sts:AssumeRoleWithWebIdentity (CI's OIDC role) is made by botocore's credential provider on its
# own unguarded client, before any suite client exists; it is not in the allowlist.


# ----- canaries (issue 10.1-2): only the exact keys this run was permitted, never a prefix -----
CANARY_OPS = {
    ("dynamodb", "PutItem"): "Item",
    ("dynamodb", "DeleteItem"): "Key",
    ("s3", "PutObject"): "Key",
    ("s3", "DeleteObject"): "Key",
}
CANARY_PK = "HEALTHCHECK#bbws-canary"   # every canary item's partition: one keyed Query finds them all
CANARY_OBJECT_DIR = "healthcheck/bbws-canary/"
CANARY_MARKER = "bbws_canary"           # item attribute naming the run that wrote it
CANARY_META = "bbws-canary"             # object metadata (x-amz-meta-bbws-canary) naming the run
# A canary id: "bbws~" + the run id (UTC second, random hex). No human key has this form.
CANARY_ID = re.compile(r"bbws~[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6,32}")  # fullmatch: `$` would let "...\n" through


def canary_id(run_id: str) -> str:
    return f"bbws~{run_id}"


def canary_object_key(cid: str) -> str:
    return f"{CANARY_OBJECT_DIR}{cid}.txt"


def is_canary_id(value: Any) -> bool:
    return isinstance(value, str) and bool(CANARY_ID.fullmatch(value))


def is_canary_object_key(key: Any) -> bool:
    return (isinstance(key, str) and key.startswith(CANARY_OBJECT_DIR) and key.endswith(".txt")
            and is_canary_id(key[len(CANARY_OBJECT_DIR):-4]))


class WriteRefused(Exception):
    """The guard refused an operation that is not a read."""


def is_read(service: str, operation: str, allowed: frozenset[Operation]) -> bool:
    return (service, operation) in allowed or (service, operation) in CREDENTIAL_EXCHANGES


def _frozen(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True)


@dataclass
class Permits:
    """The canary writes this run may make: each an exact (operation, table or bucket, key).

    The collector grants one only after it has read the table's live key schema (and compared it
    with environments.toml) or, for an earlier run's leftover, seen the suite's own marker on it.
    `key_names[table]` is the table's real key, from DescribeTable: the guard compares the
    Item's or Key's values of exactly those attributes."""
    granted: set[tuple[str, ...]] = field(default_factory=set)
    key_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scan_tables: set[str] = field(default_factory=set)  # tables a bounded Scan may read: the lock table
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def item(self, operation: str, table: str, key: dict[str, Any], key_names: tuple[str, ...]) -> None:
        with self._lock:
            self.key_names[table] = key_names
            self.granted.add((operation, table, _frozen(key)))

    def obj(self, operation: str, bucket: str, key: str, version: str = "") -> None:
        """Permit one object write; a DeleteObject is permitted for one exact version id ("null" included)."""
        with self._lock:
            self.granted.add((operation, bucket, key, version))

    def allows(self, service: str, operation: str, params: dict[str, Any]) -> str:
        """'' when permitted, else why not."""
        if service == "s3":
            key = params.get("Key")
            if not is_canary_object_key(key):
                return f"canary writes must target this run's {CANARY_OBJECT_DIR}<canary id>.txt key"
            version = params.get("VersionId") or ""
            if operation == "DeleteObject" and not (isinstance(version, str) and version):
                return (f"a canary DeleteObject must name the exact version it checked (s3://{params.get('Bucket')}/"
                        f"{key} names none; by key alone it would hide or destroy another version)")
            if (operation, params.get("Bucket"), key, version) not in self.granted:
                which = f" version {version}" if version else ""
                return f"s3://{params.get('Bucket')}/{key}{which} was not granted to this run's canary"
            return ""
        table = params.get("TableName")
        names = self.key_names.get(table)
        value = params.get(CANARY_OPS[(service, operation)])
        if names is None or not isinstance(value, dict):
            return f"canary writes must target this run's {CANARY_PK} item of a table whose key was read"
        if operation == "DeleteItem" and set(value) != set(names):
            return f"the key must be exactly the table's key ({', '.join(names)})"
        key = {n: value.get(n) for n in names}
        if key.get(names[0]) != {"S": CANARY_PK} or not is_canary_id((key.get(names[-1]) or {}).get("S")):
            return f"canary writes must target {CANARY_PK} items with a canary id sort key"
        if (operation, table, _frozen(key)) not in self.granted:
            return f"the item {_frozen(key)} of {table} was not granted to this run's canary"
        return ""


def check(service: str, operation: str, params: dict[str, Any], canary: bool,
          permits: Permits | None = None, allowed: frozenset[Operation] = frozenset()) -> None:
    """Raise WriteRefused unless the operation is an allowlisted read or a permitted canary write."""
    if (service, operation) == ("dynamodb", "Scan"):
        table = params.get("TableName")
        if permits is None or table not in permits.scan_tables or not isinstance(params.get("Limit"), int) \
                or "ExclusiveStartKey" in params:
            raise WriteRefused(f"refused dynamodb:Scan of {table}: the suite scans only the Terraform lock table, "
                               "one bounded page (Limit), never an app table")
        return
    if is_read(service, operation, allowed):
        return
    if (service, operation) not in CANARY_OPS:
        raise WriteRefused(f"refused {service}:{operation}: only reads are allowed, and it is not in the "
                           "suite's read allowlist (no area declares it in its reads.py READS)")
    if not canary:
        raise WriteRefused(f"refused {service}:{operation}: only reads are allowed (canary writes need --canary)")
    why = (permits or Permits()).allows(service, operation, params)
    if why:
        raise WriteRefused(f"refused {service}:{operation}: {why}")


def install_guard(client: Any, canary: bool, permits: Permits | None = None,
                  allowed: frozenset[Operation] = frozenset()) -> None:
    """Refuse non-reads on this client before a request is built (the client's event emitter is
    its own copy, so the unqualified event covers every operation whatever the service's id)."""
    service = client.meta.service_model.service_name

    def guard(params: dict[str, Any], model: Any, **_: Any) -> None:
        check(service, model.name, params, canary, permits, allowed)

    client.meta.events.register_first("before-parameter-build", guard)
