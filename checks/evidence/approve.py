"""Record a role's approval of a gate bundle, signed: `approvals/<role>.json` and `approvals/<role>.json.sig`.

    python -m checks.evidence.approve reports/prod/20270105T101500Z --key ~/.ssh/bbws-approval --role "Tech Lead"

The bundle is verified first (every digest in its manifest; with --verify-key its signature too). A
NO-GO bundle, a bundle that is not a gate run, a replay, a bundle whose gate.json disagrees with the
decision its own results give, a role the env does not name, and a role already approved are refused
(exit 4, saying why). The approval names the run id, the manifest's SHA-256, the gate's decision, the
role, the signer's principal (the key's comment, or --principal), the time and the comment; its
signature (namespace `bbws-approval`) is what `ssh-keygen -Y sign -n bbws-approval` writes, so
`ssh-keygen -Y verify` and `ssh-keygen -Y check-novalidate` accept it. The bundle's manifest is not changed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checks.core.record import CheckRecord
from checks.evidence import approvals, keys, signing
from checks.evidence.bundle import MANIFEST, resolve, sha256, write_bytes
from checks.evidence.gate import NO_GO, decide
from checks.evidence.replay import BundleError, load_json, verify

USAGE = 4


class Refused(Exception):
    """The approval is refused; the message says why."""


def gate_of(bundle: Path) -> dict[str, Any]:
    """The bundle's gate.json, checked against the decision its own results.json gives."""
    gate, results = load_json(bundle / "gate.json", "gate.json"), load_json(bundle / "results.json", "results.json")
    if not isinstance(gate, dict) or not isinstance(results, dict) or not isinstance(results.get("results"), list):
        raise Refused("the bundle's gate.json or results.json is not what the suite writes")
    if gate.get("gate_run") is False:
        raise Refused(f"the bundle is not a gate run ({gate.get('not_gate_run') or 'gate_run: false'}); "
                      "only a gate run is approved")
    if gate.get("replay_of"):
        raise Refused("the bundle is a replay (an auditor's re-performance); approve the original gate run")
    again = decide([CheckRecord.from_dict(r) for r in results["results"] if isinstance(r, dict)],
                   [str(m) for m in gate.get("incomplete") or [] if not str(m).startswith("no check ran")])
    if again.decision != gate.get("decision"):
        raise Refused(f"gate.json says {gate.get('decision')!r} but the bundle's results decide {again.decision}")
    if again.decision == NO_GO:
        why = "; ".join(f"{r.check or 'run'} {r.resource}: {r.message.splitlines()[0] if r.message else r.outcome}"
                        for r in again.blocking[:3])
        raise Refused(f"the gate decision is NO-GO ({why}): a NO-GO bundle cannot be approved")
    return gate


def principal_of(key_path: Path, key: Ed25519PrivateKey) -> str:
    """The key's comment: from KEY.pub when it holds this key, else from the (unencrypted) private key."""
    pub = key_path.with_name(key_path.name + ".pub")
    mine = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()
    try:
        fields = pub.read_text(encoding="utf-8").split(None, 2) if pub.is_file() else []
    except (OSError, UnicodeDecodeError):
        fields = []
    if len(fields) == 3 and fields[:2] == [f.decode() for f in mine]:
        return fields[2].strip()
    return _private_comment(key_path)


def _take(body: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack(">I", body[at:at + 4])
    if at + 4 + n > len(body):
        raise ValueError("truncated")
    return body[at + 4:at + 4 + n], at + 4 + n


def _private_comment(path: Path) -> str:
    """The comment inside an unencrypted OpenSSH private key ("" when encrypted or unreadable)."""
    try:
        text = path.read_text(encoding="ascii")
        body = base64.b64decode("".join(ln for ln in text.splitlines() if ln and not ln.startswith("-----")))
        magic = b"openssh-key-v1\0"
        if not body.startswith(magic):
            return ""
        cipher, at = _take(body, len(magic))
        for _ in range(2):  # kdf name and options
            _, at = _take(body, at)
        if cipher != b"none":
            return ""
        (count,) = struct.unpack(">I", body[at:at + 4])
        at += 4
        for _ in range(count):  # the public keys
            _, at = _take(body, at)
        private, _ = _take(body, at)
        at = 8  # past the two check integers
        for _ in range(3):  # key type, public key, private key
            _, at = _take(private, at)
        comment, _ = _take(private, at)
        return comment.decode("utf-8").strip()
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        return ""


def approve(bundle: Path, key_path: Path, role: str, comment: str = "", principal: str = "",
            verify_key: Path | None = None, now: dt.datetime | None = None) -> Path:
    """Write the signed approval; returns its path. Raises Refused."""
    bundle = resolve(Path(bundle))
    try:
        verify(bundle, verify_key)
    except BundleError as exc:
        raise Refused(f"the bundle does not verify: {exc}") from None
    gate = gate_of(bundle)
    recorded = gate.get("approvals") if isinstance(gate.get("approvals"), dict) else {}
    allowed = [*(recorded.get("required") or []), *(recorded.get("approvers") or [])]
    if allowed and role not in allowed:
        raise Refused(f"role {role!r} is not one env {gate.get('env')} names: {', '.join(dict.fromkeys(allowed))}")
    try:
        key = keys.load_private(key_path, "--key")
    except keys.KeyError_ as exc:
        raise Refused(str(exc).replace("--sign-key", "--key", 1)) from None
    who = principal or principal_of(key_path, key)
    if not who:
        raise Refused(f"--key {key_path}: the key has no comment naming its principal (ssh-keygen -C "
                      "alice@example.com), and no --principal was given")
    target = bundle / approvals.FOLDER / f"{approvals.slug(role)}.json"
    if target.exists() or target.is_symlink():
        raise Refused(f"{approvals.FOLDER}/{target.name} exists: {role} has approved this bundle already "
                      "(remove it and its .sig to record it again)")
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    record = {"schema": 1, "kind": "bbws-approval", "env": gate.get("env"), "run_id": gate.get("run_id"),
              "bundle": f"{bundle.parent.name}/{bundle.name}", "manifest_sha256": sha256(bundle / MANIFEST),
              "gate_decision": gate.get("decision"), "decision": "approve", "role": role, "principal": who,
              "key": public.decode(), "key_fingerprint": signing.fingerprint(key.public_key()),
              "approved_at": when.isoformat(timespec="seconds").replace("+00:00", "Z"), "comment": comment}
    data = (json.dumps(record, indent=1, sort_keys=True) + "\n").encode()
    target.parent.mkdir(exist_ok=True)
    write_bytes(target.with_name(target.name + ".sig"), signing.sign(data, key, approvals.NAMESPACE).encode())
    write_bytes(target, data)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.evidence.approve", description=__doc__.split("\n")[0])
    parser.add_argument("bundle", type=Path, help="the gate bundle (reports/<env>/<run> or its latest pointer)")
    parser.add_argument("--key", type=Path, required=True, help="the approver's Ed25519 private key "
                        "(ssh-keygen -t ed25519 -C <principal>)")
    parser.add_argument("--role", required=True, help='the role approving, e.g. "Tech Lead"')
    parser.add_argument("--comment", default="", help="a note kept with the approval")
    parser.add_argument("--principal", default="", help="who approves (default: the key's comment)")
    parser.add_argument("--verify-key", type=Path, default=None, help="refuse unless the bundle's manifest.json.sig "
                        "verifies with this ssh-ed25519 public key")
    args = parser.parse_args(argv)
    try:
        path = approve(args.bundle, args.key, args.role, args.comment, args.principal, args.verify_key)
    except Refused as exc:
        print(f"approval refused: {exc}", file=sys.stderr)
        return USAGE
    where = path.parent.parent
    found = approvals.status(where)
    rel = f"{approvals.FOLDER}/{path.name}"
    print(f"recorded: {rel} and {rel}.sig (namespace {approvals.NAMESPACE}) in bundle "
          f"{where.resolve().parent.name}/{where.resolve().name}")
    print(f"approvals: {found.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
