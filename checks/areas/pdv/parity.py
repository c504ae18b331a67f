"""PDV-08 promotion parity: two envs' configurations, normalised, compared.

`configuration(snapshot, env)` flattens what an env's evidence says about its tables and
bucket into {path: value}; names that carry the env or the account are normalised
("bbws-logs-sit" -> "bbws-logs-{env}"), so only real differences remain. A difference
whose path contains a path environments.toml lists in `env_specific` is declared.

Console: `python -m checks.pdv.parity <bundle A> <bundle B>` prints every difference and
exits 1 when one is not declared (2 when a bundle cannot be verified).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.areas.dynamodb import views as ddb
from checks.areas.s3 import views as s3
from checks.core import config as cfg
from checks.core.keys import key_schema
from checks.core.outcome import Missing, Unverifiable
from checks.core.snapshot import Snapshot
from checks.core.view import settings
from checks.evidence.replay import BundleError, verified_snapshot

__all__ = ["BundleError", "Difference", "bundle_side", "compare", "configuration", "is_declared", "main"]

ABSENT = "(absent)"
# The settings (views' @setting properties) compared above in a form of their own; any other is compared as it is.
TABLE_SHOWN = {"key_schema", "billing_mode", "stream_view_type", "deletion_protection", "sse_type", "pitr_status",
               "replicas", "gsis"}
BUCKET_SHOWN = {"versioning", "public_access_block", "encryption_rules", "lifecycle_rules", "logging", "replication",
                "statements"}


@dataclass(frozen=True)
class Difference:
    path: str
    a: Any
    b: Any
    declared: bool

    def describe(self, a_name: str, b_name: str) -> str:
        tag = " (declared env-specific)" if self.declared else ""
        return f"{self.path}: {a_name} {_fmt(self.a)}, {b_name} {_fmt(self.b)}{tag}"


def _fmt(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _normaliser(env: cfg.Env) -> Any:
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(env.name)}(?![A-Za-z0-9])")

    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub("{env}", value.replace(env.account, "{account}"))
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        return value

    return norm


def configuration(snapshot: Snapshot, env: cfg.Env) -> tuple[dict[str, Any], list[str]]:
    """({path: normalised value}, [what could not be read]) for the env's tables and bucket."""
    out: dict[str, Any] = {}
    unreadable: list[str] = []
    norm = _normaliser(env)

    def put(path: str, fn: Any) -> None:
        try:
            out[path] = norm(fn())
        except Unverifiable as exc:
            unreadable.append(f"{path}: {exc.reason}")
        except Missing:
            pass

    for name in env.tables:
        t = ddb.Table(snapshot, env, name)
        base = f"tables.{name}"
        try:
            exists = t.exists
        except Unverifiable as exc:
            unreadable.append(f"{base}: {exc.reason}")
            continue
        out[base] = "present" if exists else ABSENT
        if not exists:
            continue
        put(f"{base}.keys", lambda t=t: ", ".join(f"{k} {v}" for k, v in sorted(t.key_schema.items())))
        put(f"{base}.billing_mode", lambda t=t: t.billing_mode)
        put(f"{base}.stream", lambda t=t: t.stream_view_type)
        put(f"{base}.deletion_protection", lambda t=t: t.deletion_protection)
        put(f"{base}.sse", lambda t=t: t.sse_type)
        put(f"{base}.pitr", lambda t=t: t.pitr_status)
        put(f"{base}.replicas", lambda t=t: sorted(t.replicas))
        put(f"{base}.gsis", lambda t=t: sorted(t.gsis))
        for index, g in t.gsis.items():
            attrs = t.table.get("AttributeDefinitions", [])
            put(f"{base}.gsis.{index}.keys",
                lambda g=g, attrs=attrs: ", ".join(f"{k} {v}" for k, v in
                                                   sorted(key_schema(g.get("KeySchema", []), attrs).items())))
            put(f"{base}.gsis.{index}.projection", lambda g=g: g.get("Projection", {}).get("ProjectionType"))
        for name in set(settings(ddb.Table)) - TABLE_SHOWN:  # a table setting added since: compared as it is
            put(f"{base}.{name}", lambda t=t, name=name: getattr(t, name))
        try:
            for k, v in t.tags.items():
                out[f"{base}.tags.{k}"] = norm(v)
        except Unverifiable as exc:
            unreadable.append(f"{base}.tags: {exc.reason}")
        except Missing:
            pass

    b = s3.Bucket(snapshot, env, env.s3.bucket)
    try:
        exists = b.exists
    except Unverifiable as exc:
        unreadable.append(f"bucket: {exc.reason}")
        return out, unreadable
    out["bucket"] = "present" if exists else ABSENT
    if not exists:
        return out, unreadable
    out["bucket.name"] = norm(b.name)
    put("bucket.versioning", lambda: b.versioning)
    put("bucket.public_access_block", lambda: dict(sorted(b.public_access_block.items())))
    put("bucket.encryption", lambda: sorted(
        f"{r.get('ApplyServerSideEncryptionByDefault', {}).get('SSEAlgorithm')} "
        f"bucket_key={bool(r.get('BucketKeyEnabled'))}" for r in b.encryption_rules))
    try:
        for rule in b.lifecycle_rules:
            rid = rule.get("ID", "?")
            out[f"bucket.lifecycle[{rid}].status"] = rule.get("Status")
            days = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
            if days is not None:
                out[f"bucket.lifecycle[{rid}].noncurrent_days"] = days
        out["bucket.lifecycle"] = sorted(r.get("ID", "?") for r in b.lifecycle_rules)
    except Unverifiable as exc:
        unreadable.append(f"bucket.lifecycle: {exc.reason}")
    put("bucket.logging", lambda: b.logging.get("TargetBucket") or "disabled")
    put("bucket.replication", lambda: sorted(
        f"{r.get('ID')} {r.get('Status')} -> {r.get('Destination', {}).get('Bucket')}"
        for r in (b.replication or {}).get("Rules", [])) or "none")
    put("bucket.policy_sids", lambda: sorted(str(s.get("Sid", "")) for s in b.statements))
    for name in set(settings(s3.Bucket)) - BUCKET_SHOWN:
        put(f"bucket.{name}", lambda name=name: getattr(b, name))
    try:
        for k, v in b.tags.items():
            out[f"bucket.tags.{k}"] = norm(v)
    except Unverifiable as exc:
        unreadable.append(f"bucket.tags: {exc.reason}")
    return out, unreadable


def is_declared(path: str, env_specific: list[str]) -> bool:
    """Does a declared path ("tags.Environment", "lifecycle.noncurrent_days") occur within `path`?"""
    parts = [re.sub(r"\[.*\]$", "", p) for p in path.split(".")]
    for declared in env_specific:
        want = declared.split(".")
        if any(parts[i:i + len(want)] == want for i in range(len(parts) - len(want) + 1)):
            return True
    return False


def compare(a: dict[str, Any], b: dict[str, Any], env_specific: list[str]) -> list[Difference]:
    out = []
    for path in sorted(set(a) | set(b)):
        va, vb = a.get(path, ABSENT), b.get(path, ABSENT)
        if va != vb:
            out.append(Difference(path, va, vb, is_declared(path, env_specific)))
    return out


def bundle_side(path: Path) -> dict[str, Any]:
    """One bundle's side of the comparison, verified. Raises BundleError."""
    snapshot = verified_snapshot(Path(path))
    try:
        env = cfg.from_dict(snapshot.meta["env"], f"{path}/snapshot.json")
    except (KeyError, TypeError, cfg.ConfigError) as exc:
        raise BundleError(f"the snapshot of {path} has no usable env: {exc}") from None
    configuration_, unreadable = configuration(snapshot, env)
    return {"env": env.name, "account": env.account, "run_id": snapshot.meta.get("run_id"),
            "collected_at": snapshot.meta.get("collected_at"), "env_specific": list(env.env_specific),
            "configuration": configuration_, "unreadable": unreadable}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or any(a.startswith("-") for a in args):
        print("usage: python -m checks.pdv.parity <bundle A> <bundle B>", file=sys.stderr)
        return 2
    sides = []
    for arg in args:
        try:
            sides.append(bundle_side(Path(arg)))
        except BundleError as exc:
            print(f"{arg}: {exc}", file=sys.stderr)
            return 2
    a, b = sides
    an, bn = f"{a['env']}", f"{b['env']}" if b["env"] != a["env"] else f"{b['env']}(B)"
    print(f"A: {args[0]} (env {a['env']}, run {a['run_id']})\nB: {args[1]} (env {b['env']}, run {b['run_id']})")
    for side, name in ((a, "A"), (b, "B")):
        for u in side["unreadable"]:
            print(f"  {name} could not be read: {u}")
    declared = sorted(set(a["env_specific"]) | set(b["env_specific"]))
    diffs = compare(a["configuration"], b["configuration"], declared)
    for d in diffs:
        print(("  declared   " if d.declared else "  UNDECLARED ") + d.describe(an, bn))
    undeclared = [d for d in diffs if not d.declared]
    unreadable = a["unreadable"] or b["unreadable"]
    print(f"{len(undeclared)} undeclared and {len(diffs) - len(undeclared)} declared difference(s): "
          + ("NO-GO" if undeclared or unreadable else "parity holds"))
    return 1 if undeclared or unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
