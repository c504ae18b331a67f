"""Issue 21.2: recorded approvals. `python -m checks.evidence.approve` signs a role's approval of one bundle
(namespace bbws-approval, ssh-keygen compatible); a NO-GO or unverifiable bundle is refused; a forged,
edited, misplaced or unpinned approval does not count. The bundles here are written as files (no run)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checks.core.record import CheckRecord
from checks.evidence import approvals, bundle
from checks.evidence.allowed_signers import parse as parse_signers
from checks.evidence.approve import main
from checks.evidence.gate import decide

ROLES = ["Tech Lead", "Operations Lead"]


def key(where: Path, name: str, comment: str) -> tuple[Path, str]:
    """An OpenSSH Ed25519 key with its .pub (as `ssh-keygen -t ed25519 -C <comment>` writes); the public line."""
    k = Ed25519PrivateKey.generate()
    path = where / name
    path.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                     serialization.NoEncryption()))
    public = k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    path.with_name(name + ".pub").write_text(f"{public} {comment}\n")
    return path, public


def gate_bundle(root: Path, failing: bool = False, run_id: str = "20270301T093000Z-ab12cd") -> Path:
    """A sealed prod bundle: one P1 check, failed (NO-GO) or passed (GO)."""
    b = root / "prod" / run_id.split("-")[0]
    b.mkdir(parents=True)
    row = {"check": "S3-06", "test": "tests/s3/test_buckets.py::test_default_encryption[bbws-templates-prod]",
           "resource": "bbws-templates-prod", "outcome": "failed" if failing else "passed", "severity": "P1",
           "message": "bucket encryption is aws:kms" if failing else "", "remediation": ""}
    gate = decide([CheckRecord.from_dict(row)])
    bundle.write_json(b / "results.json", {"schema": 1, "env": "prod", "decision": gate.decision, "results": [row]})
    bundle.write_json(b / "gate.json", {"env": "prod", "run_id": run_id, "gate_run": True, "replay_of": None,
                                        **gate.to_dict(), "approvals": {"required": ROLES, "approvers": ROLES}})
    bundle.write_json(b / "snapshot.json", {"meta": {"run_id": run_id}, "observations": []})
    bundle.write_manifest(b, {"env": "prod", "run_id": run_id, "decision": gate.decision})
    return b


def approve(b: Path, k: Path, role: str, *more: str) -> int:
    return main([str(b), "--key", str(k), "--role", role, *more])


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    return {who: key(tmp_path, who, f"{who}@bbws.example") for who in ("alice", "bob", "mallory")}


def signers_for(tmp_path: Path, lines: list[str]) -> list:
    path = tmp_path / "allowed_signers"
    path.write_text("\n".join(lines) + "\n")
    return parse_signers(path.read_text(), str(path))


def test_two_roles_approve_a_go_bundle_without_changing_its_manifest(tmp_path: Path, keys, capsys) -> None:
    b = gate_bundle(tmp_path)
    before = bundle.sha256(b / "manifest.json")
    assert approvals.status(b).line() == "awaiting: Tech Lead, Operations Lead (0 of 2)"
    assert approve(b, keys["alice"][0], "Tech Lead", "--comment", "reviewed with the change board") == 0
    assert "approvals: approved by alice@bbws.example (Tech Lead) (1 of 2); awaiting: Operations Lead" \
        in capsys.readouterr().out
    assert approve(b, keys["bob"][0], "Operations Lead") == 0
    assert bundle.sha256(b / "manifest.json") == before, "the bundle's own manifest is not changed"
    record = json.loads((b / "approvals" / "tech-lead.json").read_text())
    assert record["run_id"] == "20270301T093000Z-ab12cd" and record["manifest_sha256"] == before
    assert record["gate_decision"] == "GO" and record["role"] == "Tech Lead"
    assert record["principal"] == "alice@bbws.example" and record["comment"] == "reviewed with the change board"
    found = approvals.status(b)
    assert found.complete and found.line().startswith(
        "approved by alice@bbws.example (Tech Lead), bob@bbws.example (Operations Lead) (2 of 2); signers not pinned")
    pinned = approvals.status(b, signers=signers_for(tmp_path, [f"tech-lead {keys['alice'][1]}",
                                                                f'"Operations Lead" {keys["bob"][1]}']))
    assert pinned.complete and pinned.refused == [] and "not pinned" not in pinned.line()
    assert approve(b, keys["alice"][0], "Tech Lead") == 4, "a role approves once"
    assert "has approved this bundle already" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not on PATH (Debian package "
                    "openssh-client): the auditor's command cannot be run here")
def test_ssh_keygen_verifies_an_approval(tmp_path: Path, keys) -> None:
    b = gate_bundle(tmp_path)
    assert approve(b, keys["alice"][0], "Tech Lead") == 0
    (tmp_path / "allowed").write_text(f'tech-lead namespaces="bbws-approval" {keys["alice"][1]}\n')
    file, sig = b / "approvals" / "tech-lead.json", b / "approvals" / "tech-lead.json.sig"

    def keygen(*args: str) -> subprocess.CompletedProcess[str]:
        with file.open("rb") as data:
            return subprocess.run(["ssh-keygen", "-Y", *args, "-n", "bbws-approval", "-s", str(sig)], stdin=data,
                                  capture_output=True, text=True, timeout=60)

    good = keygen("verify", "-f", str(tmp_path / "allowed"), "-I", "tech-lead")
    assert good.returncode == 0 and 'Good "bbws-approval" signature for tech-lead' in good.stdout + good.stderr
    assert keygen("check-novalidate").returncode == 0
    file.write_text(file.read_text().replace("alice@", "eve@"))
    assert keygen("check-novalidate").returncode != 0


def test_a_no_go_bundle_cannot_be_approved(tmp_path: Path, keys, capsys) -> None:
    b = gate_bundle(tmp_path, failing=True)
    assert approve(b, keys["alice"][0], "Tech Lead") == 4
    err = capsys.readouterr().err
    assert err.startswith("approval refused: the gate decision is NO-GO (S3-06 bbws-templates-prod: bucket "
                          "encryption is aws:kms)") and "Traceback" not in err
    assert not (b / "approvals").exists()


def test_a_bundle_that_does_not_verify_or_contradicts_itself_is_refused(tmp_path: Path, keys, capsys) -> None:
    b = gate_bundle(tmp_path)
    (b / "results.json").write_text((b / "results.json").read_text().replace('"passed"', '"skipped"'))
    assert approve(b, keys["alice"][0], "Tech Lead") == 4
    assert "the bundle does not verify: results.json has been modified" in capsys.readouterr().err
    forged = gate_bundle(tmp_path / "f", failing=True)
    gate = json.loads((forged / "gate.json").read_text())
    bundle.write_json(forged / "gate.json", {**gate, "decision": "GO", "reasons": []})
    bundle.write_manifest(forged, {"env": "prod"})  # a forger who re-hashes
    assert approve(forged, keys["alice"][0], "Tech Lead") == 4
    assert "gate.json says 'GO' but the bundle's results decide NO-GO" in capsys.readouterr().err
    assert approve(gate_bundle(tmp_path / "r"), keys["alice"][0], "Release Manager") == 4
    assert "role 'Release Manager' is not one env prod names: Tech Lead, Operations Lead" in capsys.readouterr().err


def test_forged_approvals_do_not_count(tmp_path: Path, keys) -> None:
    b = gate_bundle(tmp_path)
    assert approve(b, keys["alice"][0], "Tech Lead") == 0
    assert approve(b, keys["mallory"][0], "Operations Lead", "--principal", "bob@bbws.example") == 0
    allowed = signers_for(tmp_path, [f"tech-lead {keys['alice'][1]}", f"operations-lead {keys['bob'][1]}"])
    pinned = approvals.status(b, signers=allowed)
    assert [a.role for a in pinned.approved] == ["Tech Lead"] and pinned.awaiting == ["Operations Lead"]
    assert pinned.refused[0][0] == "approvals/operations-lead.json"
    assert "is not allowed for Operations Lead (principal operations-lead)" in pinned.refused[0][1]

    edited = b / "approvals" / "tech-lead.json"
    edited.write_text(edited.read_text().replace("alice@bbws.example", "carol@bbws.example"))
    found = approvals.status(b)
    assert "Tech Lead" in found.awaiting
    assert "tech-lead.json.sig does not match the file it signs" in dict(found.refused)["approvals/tech-lead.json"]

    other = gate_bundle(tmp_path / "other", run_id="20270302T093000Z-ffff00")
    assert approve(other, keys["alice"][0], "Tech Lead") == 0
    shutil.copy(other / "approvals" / "tech-lead.json", edited)
    shutil.copy(other / "approvals" / "tech-lead.json.sig", edited.with_name("tech-lead.json.sig"))
    assert "approves another bundle (run '20270302T093000Z-ffff00'" in dict(approvals.status(b).refused)[
        "approvals/tech-lead.json"]
    shutil.move(other / "approvals" / "tech-lead.json", other / "approvals" / "operations-lead.json")
    assert "its role 'Tech Lead' belongs in tech-lead.json" in dict(approvals.status(other).refused)[
        "approvals/operations-lead.json"]


def test_allowed_signers_options_and_patterns(tmp_path: Path, keys) -> None:
    pub = keys["alice"][1]
    found = signers_for(tmp_path, ["# comment", f'"Tech Lead",*@bbws.example,!eve@bbws.example '
                                              f'namespaces="bbws-approval,other",valid-before="20270101" {pub} c'])
    s = found[0]
    assert s.principals == ("Tech Lead", "*@bbws.example", "!eve@bbws.example")
    assert s.allows("Tech Lead", "bbws-approval") and s.allows("bob@bbws.example", "other")
    assert not s.allows("eve@bbws.example", "bbws-approval") and not s.allows("Tech Lead", "bbws-evidence")
    import datetime as dt
    assert not s.allows("Tech Lead", "bbws-approval", dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
