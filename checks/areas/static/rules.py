"""The static rules for DynamoDB tables and for tags: environments.toml's expectations against one env's Terraform.

Each rule takes model instances and the env and returns findings with file:line and the HCL that
fixes them. A value that cannot be known before plan raises Unresolved (the test reports an error
saying so), never a silent pass. The backup, bucket and version rules: backup_rules.py, s3_rules.py,
version_rules.py.
"""

from __future__ import annotations

from typing import Any

from checks.areas.static.findings import Finding
from checks.areas.static.findings import finding as _f
from checks.areas.static.model import Instance, Node
from checks.areas.static.values import Ref, Unknown, Unresolved, is_true
from checks.core.config import Env
from checks.core.keys import Key


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
    enabled = any(is_true(b.get("enabled", False)) for b in t.blocks("point_in_time_recovery"))
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
    enabled = is_true(t.get("stream_enabled", False))
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
    kms = any(is_true(b.get("enabled", False)) for b in blocks)
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
    if is_true(t.get("deletion_protection_enabled", False)):
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


def nested_block(t: Instance, check: str, name: str, want: dict[str, Any]) -> list[Finding]:
    """A nested block `name` of the resource whose attributes hold `want` (e.g. `ttl { attribute_name = "x"
    enabled = true }`): a finding naming what differs, or that the block is missing, with the block to write."""
    hcl = " ".join(f"{k} = {_hcl(v)}" for k, v in want.items())
    found = t.blocks(name)
    if not found:
        return [_f(check, t, name, f"declares no {name} block", f"add `{name} {{ {hcl} }}` to {t.address}")]
    block = found[0]
    wrong = [f"{k} is {block.get(k, '(unset)')!r}, expected {v!r}" for k, v in want.items()
             if (is_true(block.get(k, False)) if isinstance(v, bool) else block.get(k, None)) != v]
    if not wrong:
        return []
    return [_f(check, t, name, f"{name}: " + "; ".join(wrong), f"set `{name} {{ {hcl} }}` in {t.address}")]


def _hcl(value: Any) -> str:
    return "true" if value is True else "false" if value is False else f'"{value}"' if isinstance(value, str) \
        else str(value)
