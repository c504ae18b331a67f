"""The static rules: environments.toml's expectations against one env's Terraform (pure functions).

Each rule takes model instances and the env and returns findings with file:line and the HCL that
fixes them. A value that cannot be known before plan raises Unresolved (the test reports an error
saying so), never a silent pass.
"""

from __future__ import annotations

import json
import re
from typing import Any

from checks.areas.static.findings import Finding
from checks.areas.static.model import Instance, Model, Node
from checks.areas.static.values import Ref, Unknown, Unresolved
from checks.core.config import CRON, Env
from checks.core.keys import Key
from checks.core.schedules import runs_at

PAB_FLAGS = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")


def _f(check: str, i: Instance, attr: str, message: str, fix: str) -> Finding:
    return Finding(check, i.address, i.file, i.line_of(attr) if attr else i.line, message, fix)


def _enabled(v: Any) -> bool:
    if isinstance(v, Ref):
        raise Unresolved(f"{v} is known only after apply")
    return v is True or v == "true"


# DynamoDB ---------------------------------------------------------------------------------------------------------

def _attribute_types(t: Instance) -> dict[str, str]:
    return {str(a.get("name")): str(a.get("type", "")) for a in t.blocks("attribute")}


def _key_findings(check: str, t: Instance, where: str, attr_prefix: str, node: Node, want: dict[str, str],
                  types: dict[str, str], fix_block: str) -> list[Finding]:
    out = []
    for role in ("hash_key", "range_key"):
        expected = want.get(role, "")
        found = node.get(role, "")
        if expected and found != Key.parse(expected).name or not expected and found:
            exp = Key.parse(expected).name if expected else "(none)"
            out.append(_f(check, t, role if not attr_prefix else attr_prefix,
                          f"{where} {role} is {found or '(none)'}, expected {exp}",
                          f'{fix_block}: {role} = "{exp}"' if expected else f"{fix_block}: remove {role}"))
        elif expected:
            k = Key.parse(expected)
            if types.get(k.name) != k.type:
                out.append(_f(check, t, "attribute", f"{where} key {k.name} is declared as type "
                              f"{types.get(k.name) or '(no attribute block)'}, expected {k.type}",
                              f'attribute {{ name = "{k.name}" type = "{k.type}" }}'))
    return out


def table_keys(t: Instance, env: Env) -> list[Finding]:
    want = {"hash_key": env.dynamodb.hash_key, "range_key": env.dynamodb.range_key}
    return _key_findings("DDB-01", t, "table", "", t, want, _attribute_types(t), t.address)


def gsi(t: Instance, env: Env, table: str, index: str) -> list[Finding]:
    spec = env.tables[table].gsis[index]
    found = [g for g in t.blocks("global_secondary_index") if g.get("name", None) == index]
    if not found:
        rk = f' range_key = "{Key.parse(spec.range_key).name}"' if spec.range_key else ""
        return [_f("DDB-02", t, "global_secondary_index", f"declares no global_secondary_index {index}",
                   f'global_secondary_index {{ name = "{index}" hash_key = "{Key.parse(spec.hash_key).name}"'
                   f'{rk} projection_type = "{spec.projection}" }} (and an attribute block per key)')]
    g = found[0]
    want = {"hash_key": spec.hash_key, "range_key": spec.range_key}
    out = _key_findings("DDB-02", t, f"index {index}", "global_secondary_index", g, want, _attribute_types(t),
                        f"global_secondary_index {index}")
    projection = g.get("projection_type", "")
    if projection != spec.projection:
        out.append(_f("DDB-02", t, "projection_type", f"index {index} projection_type is {projection or '(none)'}, "
                      f"expected {spec.projection}",
                      f'projection_type = "{spec.projection}" in global_secondary_index {index}'))
    return out


def pitr(t: Instance, env: Env) -> list[Finding]:
    if not env.dynamodb.pitr:
        return []
    enabled = any(_enabled(b.get("enabled", False)) for b in t.blocks("point_in_time_recovery"))
    if enabled:
        return []
    why = "no point_in_time_recovery block" if not t.blocks("point_in_time_recovery") else "enabled = false"
    return [_f("DDB-03", t, "point_in_time_recovery", f"point-in-time recovery is not enabled ({why})",
               f"add `point_in_time_recovery {{ enabled = true }}` to {t.address}")]


def billing_mode(t: Instance, env: Env) -> list[Finding]:
    found = t.get("billing_mode", "PROVISIONED")  # the provider's default
    want = env.dynamodb.billing_mode
    if found == want:
        return []
    return [_f("PDV-02", t, "billing_mode", f"billing_mode is {found}{'' if t.has('billing_mode') else ' (default)'}, "
               f"expected {want}", f'billing_mode = "{want}"')]


def stream(t: Instance, env: Env) -> list[Finding]:
    want = env.dynamodb.stream_view_type
    enabled = _enabled(t.get("stream_enabled", False))
    view = t.get("stream_view_type", "")
    if want and enabled and view == want or not want and not enabled:
        return []
    found = f"stream_enabled = {str(enabled).lower()}, stream_view_type = {view or '(none)'}"
    fix = f'stream_enabled = true and stream_view_type = "{want}"' if want else "stream_enabled = false"
    return [_f("PDV-02", t, "stream_enabled" if not enabled else "stream_view_type",
               f"stream is {found}, expected {want or 'no stream'}", fix)]


def sse(t: Instance, env: Env) -> list[Finding]:
    """DynamoDB: no block (or enabled = false) is an AWS owned key; `enabled = true` is KMS."""
    blocks = t.blocks("server_side_encryption")
    kms = any(_enabled(b.get("enabled", False)) for b in blocks)
    want = env.dynamodb.sse
    if (want == "KMS") == kms:
        return []
    if want == "KMS":
        return [_f("PDV-02", t, "server_side_encryption", "server-side encryption uses the AWS owned key "
                   f"({'no server_side_encryption block' if not blocks else 'enabled = false'}), expected KMS",
                   f"add `server_side_encryption {{ enabled = true }}` to {t.address}")]
    return [_f("PDV-02", t, "server_side_encryption", f"server-side encryption is KMS, expected {want}",
               "remove the server_side_encryption block (or set enabled = false)")]


def deletion_protection(t: Instance, env: Env) -> list[Finding]:
    if not env.dynamodb.deletion_protection:
        return []
    if _enabled(t.get("deletion_protection_enabled", False)):
        return []
    why = "deletion_protection_enabled " + ("= false" if t.has("deletion_protection_enabled") else "not set")
    return [_f("PDV-02", t, "deletion_protection_enabled", f"deletion protection is off ({why}) in env {env.name}, "
               "expected on", "deletion_protection_enabled = true")]


def tags(i: Instance, expected: dict[str, str]) -> list[Finding]:
    """Provider default_tags merged with the resource's tags, against the expected tags."""
    effective: dict[str, Any] = dict(i.provider.default_tags()) if i.provider else {}
    own = i.get("tags", {}) or {}
    if isinstance(own, Ref):
        raise Unresolved(f"{i.address}.tags is {own}, known only after apply")
    effective.update(own)
    out = []
    for key, want in expected.items():
        got = effective.get(key)
        if isinstance(got, (Ref, Unknown)):
            raise Unresolved(f"tag {key} of {i.address} cannot be known before apply: {got}")
        if got != want:
            state = "missing" if got is None else f"{got!r}"
            out.append(_f("DDB-05", i, "tags", f"tag {key} is {state}, expected {want!r}",
                          f'{key} = "{want}" in the tags of {i.address} (or the provider\'s default_tags)'))
    return out


# AWS Backup -------------------------------------------------------------------------------------------------------

def backup_plan(plan: Instance, env: Env) -> list[Finding]:
    want = env.backup
    rules = plan.blocks("rule")
    seen = []
    for r in rules:
        sched = r.get("schedule", "")
        days = [lc.get("delete_after", None) for lc in r.blocks("lifecycle")]
        seen.append(f"{sched or '(no schedule)'} kept {days[0] if days else '(forever)'} days")
        if runs_at(sched, want.frequency) and want.retention_days in days:
            return []
    return [_f("DDB-04", plan, "rule", f"plan {want.plan} has no {want.frequency} rule kept {want.retention_days} "
               f"days; rules: {', '.join(seen) or 'none'}",
               f'rule {{ rule_name = "{want.frequency}" target_vault_name = aws_backup_vault.<vault>.name '
               f'schedule = "{CRON[want.frequency]}" lifecycle {{ delete_after = {want.retention_days} }} }}')]


def vault_region(model: Model, ref: Any) -> str:
    """The region of the vault a copy action's destination_vault_arn points at (a Ref or a literal ARN)."""
    if isinstance(ref, Ref) and ref.type == "aws_backup_vault":
        for v in model.instances("aws_backup_vault"):
            if v.refers(ref):
                if v.provider is None:
                    raise Unresolved(f"{v.address} has no aws provider configuration")
                region = v.provider.region()
                if isinstance(region, Ref):
                    raise Unresolved(f"the region of {v.address} is {region}")
                return str(region)
        raise Unresolved(f"destination vault {ref} is not declared in this env")
    if isinstance(ref, str) and ref.startswith("arn:"):
        return ref.split(":")[3]
    raise Unresolved(f"destination_vault_arn {ref} cannot be resolved statically")


def backup_copy(plan: Instance, env: Env, model: Model) -> list[Finding]:
    region = env.backup.copy_to_region
    targets = []
    for r in plan.blocks("rule"):
        for c in r.blocks("copy_action"):
            targets.append(vault_region(model, c.get("destination_vault_arn")))
    if region in targets:
        return []
    return [_f("DDB-04", plan, "copy_action", f"plan {env.backup.plan} copies to "
               f"{', '.join(targets) or 'no region'}, expected a vault in {region}",
               f"copy_action {{ destination_vault_arn = aws_backup_vault.<dr vault>.arn lifecycle {{ delete_after = "
               f"{env.backup.retention_days} }} }} in the plan's rule, with the DR vault declared under a provider "
               f"for {region}")]


def selection_covers(sel: Instance, table: Instance, table_tags: dict[str, str]) -> bool:
    resources = sel.get("resources", []) or []
    if isinstance(resources, Ref):
        raise Unresolved(f"{sel.address}.resources is {resources}")
    for r in resources:
        if isinstance(r, Ref) and r.type == "aws_dynamodb_table" and table.refers(r):
            return True
        if isinstance(r, str) and (r == "*" or re.fullmatch(
                r"arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table/" + re.escape(str(table.get("name"))).replace(r"\*", ".*"),
                r.replace("*", ".*")) or r.endswith(":table/*")):
            return True
    for t in sel.blocks("selection_tag"):
        if str(t.get("type", "")).upper() == "STRINGEQUALS" and table_tags.get(t.get("key")) == t.get("value"):
            return True
    for cond in sel.blocks("condition"):
        for eq in cond.blocks("string_equals"):
            key = str(eq.get("key", "")).removeprefix("aws:ResourceTag/")
            if table_tags.get(key) == eq.get("value"):
                return True
    return False


# S3 ---------------------------------------------------------------------------------------------------------------

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
        if _enabled(b.get("enabled", False)):
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
        found.append((algo, _enabled(r.get("bucket_key_enabled", False))))
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
    off = [f for f in PAB_FLAGS if not _enabled(p.get(f, False))]
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


# Terraform and provider versions ---------------------------------------------------------------------------------

def _norm(c: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*([<>=!~]+)\s*", r" \1 ", c)).strip().replace(" ,", ",")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text))


def within(found: str, want: str) -> bool:
    """Does `found` allow only versions that `want` allows? (equal, or a narrower `~>` / `>=` of the same kind)"""
    if _norm(found) == _norm(want):
        return True
    f, w = found.strip(), want.strip()
    for op in ("~>", ">="):
        if f.startswith(op) and w.startswith(op) and "," not in f + w:
            fv, wv = _version(f), _version(w)
            if not fv or not wv:
                return False
            if op == ">=":
                return fv >= wv
            # ~> 5.0 allows >= 5.0, < 6; ~> 5.50 (>= 5.50, < 6) and ~> 5.50.1 (< 5.51) are inside it
            return fv[:len(wv) - 1] == wv[:-1] and fv >= wv
    return False


def has_upper_bound(constraint: str) -> bool:
    """`~> 5.0`, `< 6`, `<= 5.9`, `= 5.1` or a bare version cap the version; `>= 5.0` alone does not."""
    for part in constraint.split(","):
        p = part.strip()
        if p.startswith(("~>", "<", "=")) and not p.startswith("!=") or re.fullmatch(r"v?\d[\w.\-+]*", p):
            return True
    return False


VERSION_RULES = ("required_version", "aws_provider", "upper_bound")


def versions(root_dir: str, tf_blocks: list[tuple[str, dict[str, Any]]], texts: dict[str, str], lock: bool,
             env: Env, kind: str) -> list[Finding]:
    """One of VERSION_RULES for one root: the constraint equals environments.toml's, or a lock file pins it."""
    want = env.terraform
    where = root_dir or "."
    out = []
    rv = [(f, str(tf["required_version"])) for f, tf in tf_blocks if "required_version" in tf]
    aws = []
    for f, tf in tf_blocks:
        for rp in tf.get("required_providers", []) if isinstance(tf.get("required_providers"), list) else [
                tf.get("required_providers")] if isinstance(tf.get("required_providers"), dict) else []:
            spec = rp.get("aws") if isinstance(rp, dict) else None
            if isinstance(spec, dict):
                aws.append((f, str(spec.get("version", ""))))
            elif isinstance(spec, str):
                aws.append((f, spec))

    def line(f: str, pat: str) -> int:
        for n, text in enumerate(texts.get(f, "").splitlines(), 1):
            if re.search(pat, text):
                return n
        return 0
    first = tf_blocks[0][0] if tf_blocks else f"{where}/versions.tf"
    if kind == "required_version" and want.required_version:
        if not rv:
            out.append(Finding("CICD-02", f"{where} terraform", first, line(first, r"^\s*terraform\s*\{"),
                               f"no required_version, expected {want.required_version!r}",
                               f'terraform {{ required_version = "{want.required_version}" }}'))
        for f, v in rv:
            if not within(v, want.required_version):
                out.append(Finding("CICD-02", f"{where} terraform", f, line(f, r"required_version"),
                                   f"required_version is {v!r}, expected {want.required_version!r} or narrower "
                                   "(terraform.required_version in environments.toml)",
                                   f'required_version = "{want.required_version}"'))
    if kind == "aws_provider" and want.aws_provider:
        if not aws or not any(v for _, v in aws):
            out.append(Finding("CICD-02", f"{where} required_providers", first, line(first, r"required_providers"),
                               f"the aws provider has no version constraint, expected {want.aws_provider!r}",
                               f'required_providers {{ aws = {{ source = "hashicorp/aws", version = '
                               f'"{want.aws_provider}" }} }}'))
        for f, v in aws:
            if v and not within(v, want.aws_provider):
                out.append(Finding("CICD-02", f"{where} required_providers.aws", f, line(f, r"^\s*version\s*="),
                                   f"aws provider constraint is {v!r}, expected {want.aws_provider!r} or narrower "
                                   "(terraform.aws_provider in environments.toml)", f'version = "{want.aws_provider}"'))
    for f, v in aws if kind == "upper_bound" else []:
        if not lock and (not v or not has_upper_bound(v)):
            out.append(Finding("CICD-02", f"{where} required_providers.aws", f, line(f, r"^\s*version\s*=")
                               or line(f, r"required_providers"),
                               f"aws provider constraint {v or '(none)'!r} has no upper bound and no "
                               f".terraform.lock.hcl is committed in {where}: the next major provider release "
                               "is picked up unreviewed",
                               f'version = "~> {_major_minor(v)}" and commit {where}/.terraform.lock.hcl '
                               "(terraform init, then git add .terraform.lock.hcl)"))
    return out


def _major_minor(constraint: str) -> str:
    m = re.search(r"(\d+)(?:\.(\d+))?", constraint or "")
    return f"{m.group(1)}.{m.group(2) or 0}" if m else "5.0"
