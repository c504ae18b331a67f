"""The static rules for the bucket (S3-01..06): its aws_s3_bucket_* resources against environments.toml."""

from __future__ import annotations

import json
from typing import Any

from checks.areas.static.findings import Finding
from checks.areas.static.findings import finding as _f
from checks.areas.static.model import Instance, Model
from checks.areas.static.values import Ref, Unknown, Unresolved, is_true
from checks.core.config import Env

PAB_FLAGS = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")


def attached(model: Model, bucket: Instance, type_: str) -> tuple[list[Instance], list[str]]:
    """The instances of a bucket sub-resource (aws_s3_bucket_versioning...) whose `bucket` is this bucket."""
    found, unknown = [], []
    name = bucket.get("bucket", None)
    for i in model.instances(type_):
        try:
            b = i.get("bucket", None)
        except Unresolved as exc:
            unknown.append(f"{i.file}:{i.line} {i.address}.bucket: {exc}")
            continue
        if isinstance(b, Ref) and bucket.refers(b) or isinstance(b, str) and b == name:
            found.append(i)
        elif isinstance(b, Ref) and b.type == "(interpolation)":
            unknown.append(f"{i.file}:{i.line} {i.address}.bucket is {b.name}, known only after apply")
    return found, unknown + model.skipped(type_)


def versioning(bucket: Instance, subs: list[Instance]) -> list[Finding]:
    for v in subs:
        for c in v.blocks("versioning_configuration"):
            if c.get("status", "") == "Enabled":
                return []
    for b in bucket.blocks("versioning"):  # provider v3 inline block
        if is_true(b.get("enabled", False)):
            return []
    at = subs[0] if subs else bucket
    return [_f("S3-03", at, "versioning_configuration" if subs else "", "versioning is not Enabled"
               + ("" if subs else f" (no aws_s3_bucket_versioning for {bucket.address})"),
               f"resource \"aws_s3_bucket_versioning\" \"{bucket.name}\" {{ bucket = {bucket.address}.id "
               "versioning_configuration { status = \"Enabled\" } }" if not subs else
               'versioning_configuration { status = "Enabled" }')]


def encryption(bucket: Instance, subs: list[Instance], env: Env) -> list[Finding]:
    want = env.s3
    found = []
    nodes = [r for s in subs for r in s.blocks("rule")]
    nodes += [r for c in bucket.blocks("server_side_encryption_configuration") for r in c.blocks("rule")]
    for r in nodes:
        algo = next((d.get("sse_algorithm", "") for d in r.blocks("apply_server_side_encryption_by_default")), "")
        found.append((algo, is_true(r.get("bucket_key_enabled", False))))
    if (want.encryption, want.bucket_key) in found:
        return []
    at = subs[0] if subs else bucket
    block = (f'rule {{ apply_server_side_encryption_by_default {{ sse_algorithm = "{want.encryption}" }} '
             f'bucket_key_enabled = {str(want.bucket_key).lower()} }}')
    return [_f("S3-06", at, "rule" if subs else "", f"default encryption is {found or 'not declared'}, expected "
               f"{want.encryption} with bucket key {'on' if want.bucket_key else 'off'}",
               block if subs else f'resource "aws_s3_bucket_server_side_encryption_configuration" "{bucket.name}" '
               f"{{ bucket = {bucket.address}.id {block} }}")]


def public_access_block(bucket: Instance, subs: list[Instance]) -> list[Finding]:
    if not subs:
        return [_f("S3-02", bucket, "", f"no aws_s3_bucket_public_access_block for {bucket.address}",
                   f'resource "aws_s3_bucket_public_access_block" "{bucket.name}" {{ bucket = '
                   f"{bucket.address}.id " + " ".join(f"{f} = true" for f in PAB_FLAGS) + " }")]
    p = subs[0]
    off = [f for f in PAB_FLAGS if not is_true(p.get(f, False))]
    return [_f("S3-02", p, off[0], f"public access block flags not true: {', '.join(off)}",
               " ".join(f"{f} = true" for f in off))] if off else []


def policy_statements(model: Model, bucket: Instance, subs: list[Instance]) -> list[dict[str, Any]]:
    """The bucket policy's statements: jsonencode({...}), a JSON string or an aws_iam_policy_document."""
    docs = [s.get("policy") for s in subs] + ([bucket.get("policy")] if bucket.has("policy") else [])
    out: list[dict[str, Any]] = []
    for doc in docs:
        if isinstance(doc, Ref) and doc.type == "data.aws_iam_policy_document":
            out += _policy_document(model, doc)
            continue
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except json.JSONDecodeError:
                raise Unresolved("the bucket policy is not JSON") from None
        if not isinstance(doc, dict):
            raise Unresolved(f"the bucket policy is {doc}, known only after apply")
        stmts = doc.get("Statement", [])
        out += [s for s in (stmts if isinstance(stmts, list) else [stmts]) if isinstance(s, dict)]
    return out


def _policy_document(model: Model, ref: Ref) -> list[dict[str, Any]]:
    for i in model.instances("data.aws_iam_policy_document"):
        if i.refers(Ref(ref.type, ref.name, ref.key)):
            out = []
            for s in i.blocks("statement"):
                cond = {}
                for c in s.blocks("condition"):
                    cond.setdefault(str(c.get("test", "")), {})[str(c.get("variable", ""))] = [
                        str(v).lower() for v in (c.get("values", []) or [])]
                out.append({"Sid": s.get("sid", None), "Effect": s.get("effect", "Allow"), "Condition": cond})
            return out
    raise Unresolved(f"policy document {ref} is not declared in this env")


def policy(bucket: Instance, subs: list[Instance], statements: list[dict[str, Any]], env: Env) -> list[Finding]:
    at = subs[0] if subs else bucket
    for s in statements:
        if isinstance(s.get("Sid"), (Ref, Unknown)):
            raise Unresolved(f"a statement Sid of the policy of {at.address} is {s.get('Sid')}")
    missing = sorted(set(env.s3.policy_statements) - {s.get("Sid") for s in statements})
    if not missing:
        return []
    return [_f("S3-02", at, "policy", f"bucket policy lacks statements: {', '.join(missing)}",
               "add a statement per missing Sid to the policy of " + at.address
               + ("" if subs else f' (resource "aws_s3_bucket_policy" "{bucket.name}")'))]


def denies_insecure_transport(bucket: Instance, subs: list[Instance],
                              statements: list[dict[str, Any]]) -> list[Finding]:
    def insecure(cond: Any) -> bool:
        v = (cond or {}).get("Bool", {}).get("aws:SecureTransport", "") if isinstance(cond, dict) else ""
        return str(v[0] if isinstance(v, list) and v else v).lower() == "false"
    if any(s.get("Effect") == "Deny" and insecure(s.get("Condition")) for s in statements):
        return []
    at = subs[0] if subs else bucket
    return [_f("S3-06", at, "policy", "bucket policy has no Deny on aws:SecureTransport = false",
               '{ Sid = "DenyInsecureTransport", Effect = "Deny", Principal = "*", Action = "s3:*", Resource = '
               f'[{bucket.address}.arn, "${{{bucket.address}.arn}}/*"], Condition = '
               '{ Bool = { "aws:SecureTransport" = "false" } } } in the bucket policy')]


def lifecycle(bucket: Instance, subs: list[Instance], env: Env) -> list[Finding]:
    want = env.s3.lifecycle
    rules = [r for s in subs for r in s.blocks("rule")]
    by_id = {r.get("id", None): r for r in rules}
    fix = (f'rule {{ id = "{want.rule}" status = "Enabled" filter {{}} noncurrent_version_expiration '
           f"{{ noncurrent_days = {want.noncurrent_days} }} }}")
    r = by_id.get(want.rule)
    if r is None:
        at = subs[0] if subs else bucket
        return [_f("S3-03", at, "rule" if subs else "", f"no lifecycle rule {want.rule} (found: "
                   f"{', '.join(str(k) for k in by_id) or 'none'})",
                   fix if subs else f'resource "aws_s3_bucket_lifecycle_configuration" "{bucket.name}" {{ bucket = '
                   f"{bucket.address}.id {fix} }}")]
    days = [e.get("noncurrent_days", None) for e in r.blocks("noncurrent_version_expiration")]
    status = r.get("status", "")
    if status == "Enabled" and want.noncurrent_days in days:
        return []
    return [_f("S3-03", subs[0], "noncurrent_days", f"lifecycle rule {want.rule} is {status} with noncurrent "
               f"expiry {days[0] if days else '(none)'} days, expected Enabled with {want.noncurrent_days}", fix)]


def logging(bucket: Instance, subs: list[Instance], env: Env) -> list[Finding]:
    target = env.s3.logging_bucket
    found = [s.get("target_bucket", None) for s in subs]
    if target in found:
        return []
    at = subs[0] if subs else bucket
    now = ", ".join(map(str, found)) or "nowhere"
    return [_f("S3-02", at, "target_bucket" if subs else "", f"access logs go to {now}, expected {target}",
               f'resource "aws_s3_bucket_logging" "{bucket.name}" {{ bucket = '
               f'{bucket.address}.id target_bucket = "{target}" target_prefix = "..." }}')]


def _bucket_name_of(model: Model, v: Any) -> str:
    if isinstance(v, Ref) and v.type == "aws_s3_bucket":
        for b in model.instances("aws_s3_bucket"):
            if b.refers(v):
                return str(b.get("bucket"))
        raise Unresolved(f"{v} is not declared in this env")
    if isinstance(v, str):
        return v.removeprefix("arn:aws:s3:::")
    raise Unresolved(f"the destination bucket {v} cannot be resolved statically")


def _role_name_of(model: Model, v: Any) -> str:
    if isinstance(v, Ref) and v.type == "aws_iam_role":
        for r in model.instances("aws_iam_role"):
            if r.refers(v):
                return str(r.get("name"))
        raise Unresolved(f"{v} is not declared in this env")
    if isinstance(v, str):
        return v.rsplit("/", 1)[-1]
    raise Unresolved(f"the replication role {v} cannot be resolved statically")


def replication(model: Model, bucket: Instance, subs: list[Instance], env: Env) -> list[Finding]:
    want = env.s3.replication
    assert want is not None
    fix = (f'resource "aws_s3_bucket_replication_configuration" "{bucket.name}" {{ bucket = {bucket.type}.'
           f'{bucket.name}.id role = aws_iam_role.<"{want.role}">.arn rule {{ id = "{want.rule}" status = "Enabled" '
           f'filter {{}} delete_marker_replication {{ status = "Enabled" }} destination {{ bucket = '
           f'"arn:aws:s3:::{want.destination}" replication_time {{ status = "Enabled" time {{ minutes = '
           f'{want.time_control_minutes} }} }} metrics {{ status = "Enabled" event_threshold {{ minutes = '
           f'{want.time_control_minutes} }} }} }} }} }}')
    if not subs:
        return [_f("S3-05", bucket, "", f"no aws_s3_bucket_replication_configuration for {bucket.address}", fix)]
    cfg = subs[0]
    out = []
    role = _role_name_of(model, cfg.get("role"))
    if role != want.role:
        out.append(_f("S3-05", cfg, "role", f"replication role is {role}, expected {want.role}",
                      f"role = aws_iam_role.<the role named {want.role}>.arn"))
    rules = {r.get("id", None): r for r in cfg.blocks("rule")}
    r = rules.get(want.rule)
    if r is None:
        return out + [_f("S3-05", cfg, "rule", f"no replication rule {want.rule} (found: "
                         f"{', '.join(map(str, rules)) or 'none'})", fix)]
    if r.get("status", "") != "Enabled":
        out.append(_f("S3-05", cfg, "status", f"rule {want.rule} status is {r.get('status', '(none)')}",
                      'status = "Enabled"'))
    dests = r.blocks("destination")
    dest = _bucket_name_of(model, dests[0].get("bucket")) if dests else ""
    if dest != want.destination:
        out.append(_f("S3-05", cfg, "destination", f"rule {want.rule} replicates to {dest or 'nowhere'}, expected "
                      f"{want.destination}", f'destination {{ bucket = "arn:aws:s3:::{want.destination}" }}'))
    dm = [d.get("status", "") for d in r.blocks("delete_marker_replication")]
    if want.delete_markers and "Enabled" not in dm:
        out.append(_f("S3-05", cfg, "delete_marker_replication", f"rule {want.rule} does not replicate delete "
                      "markers", 'delete_marker_replication { status = "Enabled" }'))
    if want.time_control_minutes:
        rtc = [(t.get("status", ""), [m.get("minutes", None) for m in t.blocks("time")])
               for d in dests for t in d.blocks("replication_time")]
        if not any(s == "Enabled" and want.time_control_minutes in mins for s, mins in rtc):
            out.append(_f("S3-05", cfg, "replication_time" if rtc else "destination",
                          f"rule {want.rule} has no replication time control of {want.time_control_minutes} "
                          "minutes", f"replication_time {{ status = \"Enabled\" time {{ minutes = "
                          f"{want.time_control_minutes} }} }} and metrics {{ status = \"Enabled\" event_threshold "
                          f"{{ minutes = {want.time_control_minutes} }} }} in destination"))
    return out
