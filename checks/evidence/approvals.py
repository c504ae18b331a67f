"""Recorded approvals of a bundle (`approvals/<role>.json` and its `.sig`), and who is still awaited.

An approval binds a role's sign-off to one bundle: it names the run id and the SHA-256 of the bundle's
manifest.json, and is signed (SSH signature, namespace `bbws-approval`) by the approver's key, whose public
half it carries. It counts when its signature verifies, it approves this very bundle, and its file is named
for its role. With an allowed_signers file (`--allowed-signers`), the signing key must also be allowed
for the role's principal: the role's slug (`tech-lead`) or its name (`"Tech Lead"`), as an auditor checks
with `ssh-keygen -Y verify -I tech-lead -n bbws-approval`. Without one, a valid signature is reported as
"not pinned": anyone can sign.

The roles a gate needs are the env's `approvals_required` (environments.toml), recorded in gate.json.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from checks.evidence import signing
from checks.evidence.allowed_signers import Signer
from checks.evidence.bundle import MANIFEST, resolve, sha256

NAMESPACE = "bbws-approval"
FOLDER = "approvals"
MAX_BYTES = 64 * 1024


def slug(role: str) -> str:
    """A role's file name and principal: "Tech Lead" -> "tech-lead"."""
    return re.sub(r"[^a-z0-9]+", "-", role.lower()).strip("-") or "role"


def key_blob(key: Ed25519PublicKey) -> bytes:
    return base64.b64decode(key.public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).split()[1])


@dataclass(frozen=True)
class Approval:
    role: str
    principal: str
    approved_at: str
    fingerprint: str
    file: str
    comment: str = ""
    pinned: bool = False  # the signer is allowed for the role in an allowed_signers file


@dataclass
class Status:
    """The approvals of one bundle against the roles its env requires."""
    required: list[str]
    approved: list[Approval] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, why it does not count)
    pinned: bool = False  # checked against an allowed_signers file

    @property
    def awaiting(self) -> list[str]:
        done = {a.role for a in self.approved}
        return [r for r in self.required if r not in done]

    @property
    def complete(self) -> bool:
        return not self.awaiting

    def line(self) -> str:
        """"approved by alice (Tech Lead), bob (Operations Lead) (2 of 2)" or "awaiting: Operations Lead"."""
        n, of = len([r for r in self.required if r not in self.awaiting]), len(self.required)
        parts = []
        if self.approved:
            who = ", ".join(f"{a.principal} ({a.role})" for a in self.approved)
            parts.append(f"approved by {who}" + (f" ({n} of {of})" if of else ""))
        if self.awaiting:
            parts.append(f"awaiting: {', '.join(self.awaiting)}" + ("" if self.approved else f" (0 of {of})"))
        if not parts:
            parts.append("no approval required")
        if self.refused:
            parts.append(f"{len(self.refused)} approval(s) not counted: "
                         + "; ".join(f"{f}: {why}" for f, why in self.refused))
        if self.approved and not self.pinned:
            parts.append("signers not pinned (give --allowed-signers to check each against its role)")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"required": list(self.required), "awaiting": self.awaiting, "complete": self.complete,
                "pinned": self.pinned, "line": self.line(),
                "approved": [vars(a) for a in self.approved],
                "refused": [{"file": f, "why": why} for f, why in self.refused]}


def _json(path: Path) -> Any:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise ValueError("is a symlink, missing or too large")
    return json.loads(path.read_text(encoding="utf-8"))


def required_of(bundle: Path) -> list[str]:
    """The roles the bundle's env requires, as its gate.json recorded them."""
    try:
        gate = _json(resolve(bundle) / "gate.json")
    except (OSError, ValueError):
        return []
    found = (gate.get("approvals") or {}).get("required") if isinstance(gate, dict) else None
    return [str(r) for r in found] if isinstance(found, list) else []


def check(path: Path, manifest_sha256: str, run_id: str, signers: Sequence[Signer] | None) -> Approval:
    """One approval file, verified; raises ValueError saying why it does not count."""
    data = _json(path)
    if not isinstance(data, dict) or not isinstance(data.get("role"), str):
        raise ValueError("not an approval (no role)")
    role = data["role"]
    if path.name != f"{slug(role)}.json":
        raise ValueError(f"its role {role!r} belongs in {slug(role)}.json")
    if data.get("manifest_sha256") != manifest_sha256 or data.get("run_id") != run_id:
        raise ValueError(f"approves another bundle (run {data.get('run_id')!r}, manifest "
                         f"{str(data.get('manifest_sha256'))[:16]}…), not this one")
    sig = path.with_name(path.name + ".sig")
    if sig.is_symlink() or not sig.is_file() or sig.stat().st_size > MAX_BYTES:
        raise ValueError(f"{sig.name} is missing: an unsigned approval does not count")
    try:
        key = serialization.load_ssh_public_key(str(data.get("key", "")).encode())
    except (ValueError, TypeError, IndexError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"its key is not an OpenSSH public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("its key is not an ssh-ed25519 key")
    try:
        signing.verify(path.read_bytes(), sig.read_text(encoding="ascii"), key, NAMESPACE)
    except (signing.SigningError, UnicodeDecodeError) as exc:
        raise ValueError(f"its signature {sig.name} {exc}") from None
    when = _when(data.get("approved_at"))
    if signers is not None:
        blob = key_blob(key)
        if not any(s.key == blob and (s.allows(slug(role), NAMESPACE, when) or s.allows(role, NAMESPACE, when))
                   for s in signers):
            raise ValueError(f"its signer {signing.fingerprint(key)} is not allowed for {role} "
                             f"(principal {slug(role)}) in the allowed_signers file")
    return Approval(role=role, principal=str(data.get("principal") or "?"), approved_at=str(data.get("approved_at")),
                    fingerprint=signing.fingerprint(key), file=f"{FOLDER}/{path.name}",
                    comment=str(data.get("comment") or ""), pinned=signers is not None)


def _when(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def status(bundle: Path, required: Sequence[str] | None = None, signers: Sequence[Signer] | None = None) -> Status:
    """The bundle's approvals against `required` (default: the env's `approvals_required` its gate.json
    recorded). The bundle's digests are the caller's to verify first."""
    root = resolve(Path(bundle))
    out = Status(required=list(required if required is not None else required_of(root)), pinned=signers is not None)
    folder = root / FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return out
    try:
        digest, run_id = sha256(root / MANIFEST), str(_json(root / "gate.json").get("run_id") or "")
    except (OSError, ValueError, AttributeError):
        out.refused.append((FOLDER, "the bundle has no readable manifest.json and gate.json"))
        return out
    seen: dict[str, Approval] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            approval = check(path, digest, run_id, signers)
        except (OSError, ValueError) as exc:
            out.refused.append((f"{FOLDER}/{path.name}", str(exc)))
            continue
        seen.setdefault(approval.role, approval)
    order = {r: i for i, r in enumerate(out.required)}
    out.approved = sorted(seen.values(), key=lambda a: (order.get(a.role, len(order)), a.role))
    return out


def pending(required: Sequence[str]) -> Status:
    """A bundle being written has no approval yet."""
    return Status(required=list(required))


def view(found: Status, bundle_name: str | None, decision: str) -> dict[str, Any]:
    """What the report's approvals partial shows: the status, and the command each awaited role runs."""
    target = f"reports/{bundle_name}" if bundle_name else "reports/<env>/<run>"
    can = decision != "NO-GO"
    return {"line": found.line(), "required": list(found.required), "approved": [vars(a) for a in found.approved],
            "refused": [{"file": f, "why": why} for f, why in found.refused], "can_approve": can,
            "commands": [f"python -m checks.evidence.approve {target} --key ~/.ssh/bbws-approval --role "
                         f"{_quoted(r)}" for r in found.awaiting] if can else []}


def _quoted(role: str) -> str:
    return f'"{role}"' if re.search(r"[^A-Za-z0-9_.-]", role) else role
