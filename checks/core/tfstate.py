"""Terraform state v4, the lock table's Digest item and Lock Info JSON: what cicd (CICD-03/05) and pdv (drift) read."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from checks.core.snapshot import parse_time


def body_bytes(body: Any) -> bytes:
    """An S3 object body as recorded by the snapshot (text, {"base64": ...}, or a minimal state)."""
    if isinstance(body, dict) and isinstance(body.get("terraform_state"), dict):
        kept = body["terraform_state"].get("state")
        return json.dumps(kept).encode("utf-8") if kept is not None else b""
    if isinstance(body, dict) and "base64" in body:
        return base64.b64decode(body["base64"])
    if isinstance(body, str):
        return body.encode("utf-8")
    return b""


def parse_body(body: Any) -> tuple[dict[str, Any] | None, str, str]:
    """A recorded state body: the state (or None), why it is not one, and the MD5 of the object as stored."""
    if isinstance(body, dict) and isinstance(body.get("terraform_state"), dict):
        kept = body["terraform_state"]
        if kept.get("invalid"):
            return None, str(kept["invalid"]), str(kept.get("md5", ""))
        parsed, why = parse_state(body_bytes(body))
        return parsed, why, str(kept.get("md5", ""))
    data = body_bytes(body)
    parsed, why = parse_state(data)
    return parsed, why, md5_hex(data)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class StateResource:
    address: str
    type: str
    name: str
    identity: str          # attributes.name (tables) / attributes.bucket (buckets) / attributes.id
    region: str            # from the ARN when known
    tainted: bool


def parse_state(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """The state, or None and the reason it is not a version-4 Terraform state."""
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"is not JSON: {exc}"
    if not isinstance(state, dict):
        return None, f"is not a state: the top level is a {type(state).__name__}"
    if state.get("version") != 4:
        return None, f"has state version {state.get('version')!r}, expected 4"
    if not isinstance(state.get("resources", []), list):
        return None, "resources is not a list"
    for i, r in enumerate(state.get("resources", [])):
        if not isinstance(r, dict) or not isinstance(r.get("instances", []), list):
            return None, f"resources[{i}] is not a resource with an instances list"
    return state, ""


def resources(state: dict[str, Any]) -> list[StateResource]:
    out = []
    for r in state.get("resources", []):
        if r.get("mode", "managed") != "managed":
            continue
        base = ".".join(x for x in (r.get("module", ""), f"{r.get('type')}.{r.get('name')}") if x)
        for inst in r.get("instances", []):
            if not isinstance(inst, dict):
                continue
            key = inst.get("index_key")
            addr = base + (f"[{json.dumps(key)}]" if key is not None else "")
            attrs = inst.get("attributes") if isinstance(inst.get("attributes"), dict) else {}
            ident = str(attrs.get("name") if r.get("type") == "aws_dynamodb_table" else
                        attrs.get("bucket") if r.get("type") == "aws_s3_bucket" else attrs.get("id", ""))
            arn = str(attrs.get("arn", ""))
            region = arn.split(":")[3] if arn.count(":") >= 5 else ""
            out.append(StateResource(addr, str(r.get("type")), str(r.get("name")), ident, region,
                                     inst.get("status") == "tainted"))
    return out


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    version: str
    created: dt.datetime | None
    path: str
    raw: str

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return now - self.created if self.created else None

    def describe(self) -> str:
        created = self.created.isoformat() if self.created else "unknown"
        return (f"ID={self.id} Who={self.who} Operation={self.operation} Created={created} "
                f"Path={self.path} Version={self.version}")


def rfc3339(value: str) -> dt.datetime | None:
    """Go's RFC 3339 (nanoseconds, Z or offset) as an aware datetime; None when unparsable."""
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        return parse_time(value or None)
    except ValueError:
        return None


def parse_lock_info(text: Any) -> tuple[LockInfo | None, str]:
    """Terraform's Lock Info JSON (ID, Operation, Info, Who, Version, Created, Path)."""
    try:
        info = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        return None, f"lock Info is not JSON: {exc}"
    if not isinstance(info, dict):
        return None, "lock Info is not a JSON object"
    created = rfc3339(str(info.get("Created", "")))
    return LockInfo(str(info.get("ID", "")), str(info.get("Operation", "")), str(info.get("Who", "")),
                    str(info.get("Version", "")), created, str(info.get("Path", "")),
                    text if isinstance(text, str) else json.dumps(text)), ""


def item_value(item: dict[str, Any], name: str) -> str:
    """A DynamoDB item attribute as text (S or N)."""
    v = item.get(name)
    if isinstance(v, dict):
        for t in ("S", "N"):
            if t in v:
                return str(v[t])
    return ""
