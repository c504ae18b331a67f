"""Every moto workaround and extension the embedded world needs, in one place.

The moto server runs in a thread of this process, so these patch moto's in-process
classes. `apply()` is idempotent; `reset()` clears the state kept here (deny rules,
pending replications) together with moto's own backends. Each patch says why it exists.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3

# The moto modules patched below, imported with this module so that they share its lifetime:
# pytester's in-process runs drop modules first imported during a run, and a patch flag that
# outlived its (re-imported, unpatched) moto modules would leave moto unpatched.
import moto.backup.exceptions  # noqa: E402,F401
import moto.backup.responses  # noqa: E402,F401
import moto.backup.urls  # noqa: E402,F401
import moto.dynamodb.models.table  # noqa: E402,F401
import moto.dynamodb.responses  # noqa: E402,F401
import moto.iam.access_control  # noqa: E402,F401
import moto.iam.responses  # noqa: E402,F401
import moto.s3.exceptions  # noqa: E402,F401
import moto.s3.models  # noqa: E402,F401
import moto.s3.responses  # noqa: E402,F401

_lock = threading.RLock()
_generation = 0  # bumped on every reset; stale replication timers check it
_timers: set[threading.Timer] = set()
_denied: list[tuple[str, str, str | None, str | None]] = []

# --------------------------------------------------------------------------- deny list
# Self-tests need one API to answer AccessDenied at a time; moto has no such switch. A WSGI
# middleware in front of moto's dispatcher resolves the request's service and operation
# (botocore's own model for REST services) and answers the service's AccessDenied error.

SIGNING_TO_SERVICE = {"monitoring": "cloudwatch"}
_models: dict[str, Any] = {}


def deny(service: str, operation: str, resource_substring: str | None = None, region: str | None = None) -> None:
    """Make matching requests (optionally only those mentioning resource_substring in the path,
    query or body, and only in one region) answer AccessDenied until the next reset."""
    with _lock:
        _denied.append((service, operation, resource_substring, region))


def clear_denies() -> None:
    with _lock:
        _denied.clear()


def _service_model(service: str) -> Any:
    if service not in _models:
        _models[service] = boto3.Session(region_name="us-east-1").client(
            service, aws_access_key_id="x", aws_secret_access_key="x").meta.service_model
    return _models[service]


def _credential_scope(environ: dict[str, Any]) -> tuple[str, str]:
    """(signing service, region) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", auth)
    return (m.group(2), m.group(1)) if m else ("", "")


def _rest_operation(service: str, method: str, path: str, query: dict[str, list[str]],
                    headers: dict[str, str]) -> str:
    """The most specific operation of a REST service whose HTTP binding matches."""
    model = _service_model(service)
    best, best_score = "", -1
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        uri_path, _, uri_query = http["requestUri"].partition("?")
        rx = re.sub(r"\\{[^}]+\\\+\\}", ".+", re.escape(uri_path))
        rx = re.sub(r"\\{[^}]+\\}", "[^/]+", rx)
        if not re.fullmatch(rx.rstrip("/") + "/?", path):
            continue
        score = len(re.sub(r"{[^}]+}", "", uri_path))
        ok = _required_query_present(model.operation_model(name), query)
        for part in filter(None, uri_query.split("&")):
            k, _, v = part.partition("=")
            if k not in query or (v and v not in query[k]):
                ok = False
            score += 1000
        # On a tie (GET ?lifecycle is GetBucketLifecycle and GetBucketLifecycleConfiguration),
        # the current operation wins over the deprecated one.
        if ok and (score > best_score or (score == best_score and best
                                          and model.operation_model(best).deprecated
                                          and not model.operation_model(name).deprecated)):
            best, best_score = name, score
    if best == "PutObject" and "x-amz-copy-source" in headers:
        best = "CopyObject"
    if best == "UploadPart" and "x-amz-copy-source" in headers:
        best = "UploadPartCopy"
    return best


def _required_query_present(op: Any, query: dict[str, list[str]]) -> bool:
    """Operations sharing a URI differ by required query members (DeleteObject vs
    AbortMultipartUpload's uploadId); one whose required member is absent does not match."""
    shape = op.input_shape
    if shape is None:
        return True
    for name in shape.required_members:
        member = shape.members[name]
        if member.serialization.get("location") == "querystring" and \
                member.serialization.get("name", name) not in query:
            return False
    return True


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def resolve(environ: dict[str, Any]) -> tuple[str, str, str, Callable[[], bytes]]:
    """(service, operation, region, body reader) of one WSGI request to the moto server."""
    signing, region = _credential_scope(environ)
    path = unquote(environ.get("PATH_INFO", ""))
    service = SIGNING_TO_SERVICE.get(signing, signing)
    if service == "s3" and path.startswith("/v20180820/"):
        service = "s3control"
    cache: list[bytes] = []

    def body() -> bytes:
        if not cache:
            cache.append(_read_body(environ))
        return cache[0]

    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    rpc = re.match(r"/service/[^/]+/operation/([^/]+)", path)
    if target:
        operation = target.split(".")[-1]
    elif rpc:
        operation = rpc.group(1)
    elif "Action" in query:
        operation = query["Action"][0]
    elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        operation = parse_qs(body().decode("utf-8", "replace")).get("Action", [""])[0]
    elif service:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            operation = _rest_operation(service, environ.get("REQUEST_METHOD", ""), path, query, headers)
        except Exception:  # noqa: BLE001 - an unknown service: nothing to deny
            operation = ""
    else:
        operation = ""
    return service, operation, region, body


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    raise ValueError(n)


def _cbor_map(data: dict[str, str]) -> bytes:
    """A CBOR map of text strings (no cbor library is installed)."""
    out = _cbor_head(5, len(data))
    for k, v in data.items():
        for text in (k, v):
            raw = text.encode()
            out += _cbor_head(3, len(raw)) + raw
    return out


def _denied_response(service: str, operation: str, region: str, text: str, account: str,
                     content_type: str = "") -> tuple[int, list, bytes]:
    resource = f"arn:aws:{service}:{region}:{account}:*"
    m = re.search(r'"TableName"\s*:\s*"([^"]+)"', text)
    if service == "dynamodb" and m:
        resource = f"arn:aws:dynamodb:{region}:{account}:table/{m.group(1)}"
    message = (f"User: arn:aws:sts::{account}:assumed-role/bbws-checks/bbws-checks-session is not authorized "
               f"to perform: {service}:{operation} on resource: {resource} because no identity-based policy "
               f"allows the {service}:{operation} action")
    rid = str(uuid.uuid4())
    if service == "dynamodb":
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException", "message": message})
        return 400, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", rid)], body.encode()
    if service in ("s3", "s3control"):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>Access Denied</Message><RequestId>{rid}</RequestId></Error>")
        return 403, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body.encode()
    if "json" in content_type:  # awsJson1_0/1_1 (cloudwatch's JSON protocol)
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return 400, [("Content-Type", content_type), ("x-amzn-RequestId", rid)], body.encode()
    if "cbor" in content_type:  # smithy-rpc-v2-cbor
        payload = _cbor_map({"__type": "AccessDeniedException", "message": message})
        return 400, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                     ("x-amzn-RequestId", rid)], payload
    if service in ("iam", "sts", "cloudwatch"):  # the query protocol
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>AccessDeniedException</Code>'
                f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        return 403, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode()
    body = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message})
    return 403, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException"),
                 ("x-amzn-RequestId", rid)], body.encode()


def wrap_app(app: Callable, account: str = "123456789012") -> Callable:
    """WSGI middleware: answer AccessDenied for requests on the deny list."""

    def gate(environ: dict[str, Any], start_response: Callable) -> Any:
        with _lock:
            rules = list(_denied)
        if rules:
            service, operation, region, body = resolve(environ)
            for svc, op, needle, only_region in rules:
                if svc != service or op != operation or (only_region and only_region != region):
                    continue
                text = ""
                if needle is not None or service == "dynamodb":
                    text = unquote(environ.get("PATH_INFO", "")) + "?" + unquote(environ.get("QUERY_STRING", ""))
                    text += "\n" + body().decode("utf-8", "replace")
                if needle is not None and needle not in text:
                    continue
                status, headers, payload = _denied_response(service, operation, region, text, account,
                                                           environ.get("CONTENT_TYPE", ""))
                start_response(f"{status} Denied", headers + [("Content-Length", str(len(payload)))])
                return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else payload]
        return app(environ, start_response)

    return gate


# --------------------------------------------------------------------------- DynamoDB

def _ddb(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def set_table_status(account: str, region: str, table: str, status: str | None) -> None:
    """Backdoor: moto always reports TableStatus ACTIVE; None restores that."""
    _ddb(account, region).get_table(table).motofix_status = status


def set_index_status(account: str, region: str, table: str, index: str, status: str,
                     backfilling: bool | None = None) -> None:
    """Backdoor: a GSI's IndexStatus (and Backfilling, which moto never reports)."""
    for gsi in _ddb(account, region).get_table(table).global_indexes:
        if gsi.name == index:
            gsi.status = status
            gsi.motofix_backfilling = backfilling
            return
    raise KeyError(f"{table} has no index {index}")


def _create_replica(account: str, region: str, table: Any, replica_region: str) -> None:
    """A same-schema table in replica_region; both sides list each other as replicas."""
    backend = _ddb(account, replica_region)
    if table.name not in backend.tables:
        backend.create_table(
            table.name, schema=table.schema, throughput=table.throughput, attr=table.attr,
            global_indexes=[g.describe() for g in table.global_indexes], indexes=[i.describe() for i in table.indexes],
            streams=table.stream_specification, billing_mode=table.billing_mode,
            sse_specification=table.sse_specification, tags=list(table.tags),
            deletion_protection_enabled=table.deletion_protection_enabled, warm_throughput=None)
    other = backend.tables[table.name]
    table.motofix_replicas = sorted(set(getattr(table, "motofix_replicas", [])) | {replica_region})
    other.motofix_replicas = sorted(set(getattr(other, "motofix_replicas", [])) | {region})


def _patch_dynamodb() -> None:
    from moto.dynamodb.models.table import GlobalSecondaryIndex, Table
    from moto.dynamodb.responses import DynamoHandler

    # moto ignores UpdateTable ReplicaUpdates (global tables 2019.11.21): create the replica
    # table in the other region so DescribeTable works there too.
    original_update = DynamoHandler.update_table

    def update_table(self: Any) -> Any:
        for update in self.body.get("ReplicaUpdates") or []:
            if "Create" in update:
                table = self.dynamodb_backend.get_table(self.body["TableName"])
                _create_replica(self.current_account, self.region, table, update["Create"]["RegionName"])
            if "Delete" in update:
                table = self.dynamodb_backend.get_table(self.body["TableName"])
                gone = update["Delete"]["RegionName"]
                table.motofix_replicas = [r for r in getattr(table, "motofix_replicas", []) if r != gone]
                _ddb(self.current_account, gone).tables.pop(table.name, None)
        return original_update(self)

    DynamoHandler.update_table = update_table

    # moto's describe never reports Replicas, always reports ACTIVE and never Backfilling.
    original_describe = Table.describe

    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original_describe(self, base_key)
        desc = result[base_key]
        replicas = getattr(self, "motofix_replicas", None)
        if replicas:
            desc["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in replicas]
            desc["GlobalTableVersion"] = "2019.11.21"
        if getattr(self, "motofix_status", None):
            desc["TableStatus"] = self.motofix_status
        return result

    Table.describe = describe
    original_gsi_describe = GlobalSecondaryIndex.describe

    def gsi_describe(self: Any) -> dict[str, Any]:
        out = original_gsi_describe(self)
        if getattr(self, "motofix_backfilling", None) is not None:
            out["Backfilling"] = self.motofix_backfilling
        return out

    GlobalSecondaryIndex.describe = gsi_describe


# --------------------------------------------------------------------------- Backup
# moto implements plans and vaults but not backup selections nor recovery points.

def _backup(account: str, region: str) -> Any:
    from moto.backup.models import backup_backends

    return backup_backends[account][region]


def add_recovery_point(account: str, region: str, vault: str, resource_arn: str,
                       created: dt.datetime, status: str = "COMPLETED") -> dict[str, Any]:
    """Backdoor: a recovery point in a vault (moto has no backup jobs)."""
    backend = _backup(account, region)
    v = backend.describe_backup_vault(vault)
    point = {
        "RecoveryPointArn": f"arn:aws:dynamodb:{region}:{account}:{resource_arn.split(':', 5)[-1]}"
                            f"/backup/{int(created.timestamp() * 1000):013d}-{uuid.uuid4().hex[:8]}",
        "BackupVaultName": vault, "BackupVaultArn": v.backup_vault_arn,
        "ResourceArn": resource_arn, "ResourceType": "DynamoDB", "Status": status,
        "CreationDate": created.timestamp(), "CompletionDate": created.timestamp() + 60,
        "IamRoleArn": f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
        "BackupSizeInBytes": 0, "EncryptionKeyArn": v.encryption_key_arn or "",
        "IsEncrypted": True, "StorageClass": "WARM",
    }
    backend.__dict__.setdefault("motofix_points", []).append(point)
    v.num_of_recovery_points += 1
    return point


def selections(account: str, region: str) -> dict[str, dict[str, Any]]:
    """Backdoor: selection id -> stored selection (mutable)."""
    return _backup(account, region).__dict__.setdefault("motofix_selections", {})


def _patch_backup() -> None:
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse

    urls.url_paths.setdefault("{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$", BackupResponse.dispatch)

    def _plan_part(self: Any) -> tuple[str, str]:
        m = re.search(r"/backup/plans/([^/]+)/selections/?([^/?]*)", self.path)
        return (m.group(1), unquote(m.group(2))) if m else ("", "")

    def create_backup_selection(self: Any) -> str:
        plan_id, _ = _plan_part(self)
        plan = self.backup_backend.get_backup_plan(plan_id, None)
        sel = dict(json.loads(self.body)["BackupSelection"])
        sel.setdefault("Resources", [])
        sel.setdefault("ListOfTags", [])
        sel.setdefault("NotResources", [])
        sel.setdefault("Conditions", {"StringEquals": [], "StringNotEquals": [], "StringLike": [],
                                      "StringNotLike": []})
        sid = str(uuid.uuid4())
        selections(self.current_account, self.region)[sid] = {
            "SelectionId": sid, "BackupPlanId": plan.backup_plan_id, "CreationDate": dt.datetime.now().timestamp(),
            "CreatorRequestId": json.loads(self.body).get("CreatorRequestId", ""), "BackupSelection": sel}
        return json.dumps({"SelectionId": sid, "BackupPlanId": plan.backup_plan_id,
                           "CreationDate": selections(self.current_account, self.region)[sid]["CreationDate"]})

    def _selection(self: Any) -> dict[str, Any]:
        plan_id, sid = _plan_part(self)
        found = selections(self.current_account, self.region).get(sid)
        if not found or found["BackupPlanId"] != plan_id:
            raise ResourceNotFoundException(msg=f"Selection {sid} not found")
        return found

    def get_backup_selection(self: Any) -> str:
        found = _selection(self)
        return json.dumps({k: found[k] for k in ("SelectionId", "BackupPlanId", "CreationDate",
                                                 "CreatorRequestId", "BackupSelection")})

    def delete_backup_selection(self: Any) -> str:
        found = _selection(self)
        del selections(self.current_account, self.region)[found["SelectionId"]]
        return "{}"

    def list_backup_selections(self: Any) -> str:
        plan_id, _ = _plan_part(self)
        self.backup_backend.get_backup_plan(plan_id, None)
        rows = [{"SelectionId": s["SelectionId"], "SelectionName": s["BackupSelection"]["SelectionName"],
                 "BackupPlanId": s["BackupPlanId"], "CreationDate": s["CreationDate"],
                 "CreatorRequestId": s["CreatorRequestId"], "IamRoleArn": s["BackupSelection"]["IamRoleArn"]}
                for s in selections(self.current_account, self.region).values() if s["BackupPlanId"] == plan_id]
        return json.dumps({"BackupSelectionsList": rows})

    def list_recovery_points_by_backup_vault(self: Any) -> str:
        vault = unquote(re.search(r"/backup-vaults/([^/]+)/recovery-points", self.path).group(1))
        self.backup_backend.describe_backup_vault(vault)
        points = [p for p in self.backup_backend.__dict__.get("motofix_points", []) if p["BackupVaultName"] == vault]
        query = parse_qs(urlsplit(self.uri).query)
        if "resourceArn" in query:
            points = [p for p in points if p["ResourceArn"] == query["resourceArn"][0]]
        return json.dumps({"RecoveryPoints": points})

    for fn in (create_backup_selection, get_backup_selection, delete_backup_selection, list_backup_selections,
               list_recovery_points_by_backup_vault):
        setattr(BackupResponse, fn.__name__, fn)


# --------------------------------------------------------------------------- S3 bucket policy
# moto evaluates bucket-policy conditions with StringEquals only (any other operator counts
# as "met") and turns a failed condition into an explicit deny. So `Bool aws:SecureTransport
# "false"` denied every object call. Evaluate the common operators against a request context
# in which the loopback connection to moto counts as secure transport and the caller is the
# account's root (moto's default credentials).

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


def _action_match(patterns: Any, action: str) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _principal_match(principal: Any, caller: str, account: str) -> bool:
    if principal in (None, "*"):
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS", [])
        aws = aws if isinstance(aws, list) else [aws]
        return any(p in ("*", caller, account, f"arn:aws:iam::{account}:root") for p in aws)
    return False


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
            if _action_match(st["NotAction"], action):
                continue
        elif not _action_match(st.get("Action", []), action):
            continue
        if "NotResource" in st:
            if _action_match(st["NotResource"], resource):
                continue
        elif not _action_match(st.get("Resource", []), resource):
            continue
        if not _principal_match(st.get("Principal"), caller, account):
            continue
        if not conditions_met(st.get("Condition"), context):
            continue
        if st.get("Effect") == "Deny":
            return "DENIED"
        allowed = True
    return "PERMITTED" if allowed else "NEUTRAL"


def _patch_s3_policy() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        return getattr(PermissionResult, evaluate_bucket_policy(policy, action, resource, self.account_id))

    FakeBucket.get_permission = get_permission


# --------------------------------------------------------------------------- S3 replication
# moto stores a replication configuration but never replicates. Replicate for real, after
# a delay, on a timer thread: PENDING -> COMPLETED (the copy is a REPLICA) or FAILED.

_replicating = threading.local()


def _s3(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def _rule_for(bucket: Any, key_name: str) -> tuple[dict[str, Any], str] | None:
    config = getattr(bucket, "replication", None)
    if not config:
        return None
    rules = []
    for rule in config.get("Rule", []):
        if rule.get("Status") != "Enabled":
            continue
        filt = rule.get("Filter") or {}
        prefix = (filt.get("Prefix") if isinstance(filt, dict) else None) or rule.get("Prefix") or ""
        if isinstance(filt, dict) and isinstance(filt.get("And"), dict):
            prefix = filt["And"].get("Prefix") or ""
        if key_name.startswith(prefix):
            rules.append(rule)
    if not rules:
        return None
    rules.sort(key=lambda r: -int(r.get("Priority") or 0))
    return rules[0], config.get("Role", "")


def _schedule(delay: float, fn: Callable[[], None]) -> None:
    generation = _generation

    def run() -> None:
        try:
            if generation == _generation:  # a reset since scheduling: the objects are gone
                fn()
        except Exception:  # noqa: BLE001 - a replication problem must never kill the server thread
            pass
        finally:
            with _lock:
                _timers.discard(timer)  # only now: pending_replications() counts running ones too

    timer = threading.Timer(delay, run)
    timer.daemon = True
    with _lock:
        _timers.add(timer)
    timer.start()


def _destination_ok(account: str, rule: dict[str, Any], role: str) -> Any:
    from moto.iam.models import iam_backends

    dest_name = str(rule["Destination"]["Bucket"]).split(":::")[-1]
    try:
        dest = _s3(account).get_bucket(dest_name)
        iam_backends[account]["aws"].get_role_by_arn(role)
    except Exception:  # noqa: BLE001 - MissingBucket or a missing role: the replication FAILS
        return None
    return dest if dest.is_versioned else None


def _replicate(account: str, bucket_name: str, key: Any, rule: dict[str, Any], role: str) -> None:
    dest = _destination_ok(account, rule, role)
    if dest is None:
        key.replication_status = "FAILED"
        return
    _replicating.active = True
    try:
        replica = _s3(account).put_object(dest.name, key.name, key.value, disable_notification=True)
    finally:
        _replicating.active = False
    replica.set_metadata(key.metadata)
    if getattr(key, "_version_id", None) and key._version_id != "null":
        replica._version_id = key._version_id
    replica.replication_status = "REPLICA"
    key.replication_status = "COMPLETED"


def _patch_s3_replication() -> None:
    from moto.s3.models import FakeKey, S3Backend
    from moto.s3.responses import S3Response

    original_put = S3Backend.put_object

    def put_object(self: Any, bucket_name: str, key_name: str, value: bytes, *args: Any, **kwargs: Any) -> Any:
        key = original_put(self, bucket_name, key_name, value, *args, **kwargs)
        if getattr(_replicating, "active", False):
            return key
        found = _rule_for(self.get_bucket(bucket_name), key_name)
        if found:
            rule, role = found
            key.replication_status = "PENDING"
            account = self.account_id
            _schedule(delay, lambda: _replicate(account, bucket_name, key, rule, role))
        return key

    S3Backend.put_object = put_object

    # Delete markers are replicated when the rule says so (a versioned delete without a version id).
    original_delete = S3Backend.delete_object

    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                      *args: Any, **kwargs: Any) -> Any:
        result = original_delete(self, bucket_name, key_name, version_id, *args, **kwargs)
        try:
            bucket = self.get_bucket(bucket_name)
        except Exception:  # noqa: BLE001 - the bucket is gone: nothing to replicate
            return result
        found = _rule_for(bucket, key_name)
        if (found and version_id is None and bucket.is_versioned and not getattr(_replicating, "active", False)
                and (found[0].get("DeleteMarkerReplication") or {}).get("Status") == "Enabled"):
            rule, role = found
            account = self.account_id

            def replicate_marker() -> None:
                dest = _destination_ok(account, rule, role)
                if dest is not None:
                    _replicating.active = True
                    try:
                        original_delete(_s3(account), dest.name, key_name)
                    finally:
                        _replicating.active = False

            _schedule(delay, replicate_marker)
        return result

    S3Backend.delete_object = delete_object

    # GetObject/HeadObject report x-amz-replication-status.
    original_dict = FakeKey.response_dict

    def response_dict(self: Any) -> dict[str, Any]:
        res = original_dict.fget(self)
        if getattr(self, "replication_status", None):
            res["x-amz-replication-status"] = self.replication_status
        return res

    FakeKey.response_dict = property(response_dict)

    # moto's GetBucketReplication hard-codes DeleteMarkerReplication Disabled and Filter
    # {Prefix: ""}; answer with what was stored.
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = []
        for rule in replication["Rule"]:
            out = {k: v for k, v in rule.items() if v is not None}
            out["Priority"] = int(rule.get("Priority") or 0)
            if "Filter" in rule:
                out["Filter"] = rule["Filter"] or {}
            out.setdefault("DeleteMarkerReplication", {"Status": "Disabled"})
            rules.append(out)
        return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"],
                                                                          "Rules": rules}}))

    S3Response.get_bucket_replication = get_bucket_replication


delay = 0.5  # seconds before a replication happens; World sets it


# --------------------------------------------------------------------------- IAM
# moto has no SimulatePrincipalPolicy: evaluate the role's (or user's) inline and attached
# managed policies; an explicit Deny wins, Allow needs a matching action and resource.

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
                if _action_match(st["NotAction"], action):
                    continue
            elif not _action_match(acts, action):
                continue
            res = st.get("Resource", "*")
            if not any(fnmatch.fnmatchcase(resource, p) for p in (res if isinstance(res, list) else [res])):
                continue
            if st.get("Effect") == "Deny":
                return "explicitDeny"
            decision = "allowed"
    return decision


def _patch_iam() -> None:
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


# --------------------------------------------------------------------------- lifecycle

_applied = False


def apply() -> None:
    """Install every patch once per process."""
    global _applied
    with _lock:
        if _applied:
            return
        _patch_dynamodb()
        _patch_backup()
        _patch_s3_policy()
        _patch_s3_replication()
        _patch_iam()
        _applied = True


def reset() -> None:
    """Reset moto's backends and everything kept here."""
    global _generation
    from moto.moto_api._internal.models import moto_api_backend

    with _lock:
        _generation += 1
        for timer in list(_timers):
            timer.cancel()
        _timers.clear()
        _denied.clear()
    moto_api_backend.reset()


def pending_replications() -> int:
    with _lock:
        return len(_timers)
