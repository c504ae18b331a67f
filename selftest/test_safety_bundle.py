"""Issue 10.7 and the bundle half of 10.10: signed bundles, forged evidence, hostile bundle files.

One live run signs its manifest (--sign-key, an `ssh-keygen -t ed25519` key). The auditor's
command verifies it without the suite. A forgery that edits snapshot.json (PITR back to
ENABLED) and recomputes every digest is refused by `--replay --verify-key` with one line naming
the signature, as are an unsigned bundle and another key's signature. A replayed env name that
is a path, a bundle file that is a symlink and deeply nested JSON are clear usage errors (exit 4).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checks.evidence import signing

TESTS = ("tests/dynamodb/test_tables.py",)
PITR = "test_pitr_enabled[tenants]"


def keypair(where: Path, name: str) -> tuple[Path, Path]:
    """An Ed25519 key in OpenSSH format, as `ssh-keygen -t ed25519 -N ''` writes it."""
    key = Ed25519PrivateKey.generate()
    private, public = where / name, where / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                     serialization.PublicFormat.OpenSSH) + b" auditor\n")
    return private, public


@pytest.fixture
def signed(suite, tmp_path: Path):
    private, public = keypair(tmp_path, "bbws-evidence")
    r = suite.run("--sign-key", str(private), faults="DDB-03:tenants", tests=TESTS)
    assert r.outcomes[PITR] == "failed" and r.bundle is not None
    assert (r.bundle / signing.SIGNATURE).is_file()
    assert "signed:   manifest.json.sig" in r.stdout
    return r, private, public


def copy(bundle: Path, where: Path) -> Path:
    out = where / "copy" / bundle.name
    shutil.copytree(bundle, out, symlinks=True)
    return out


def forge(bundle: Path) -> None:
    """PITR back to ENABLED in snapshot.json, every digest in the manifest recomputed."""
    snap = bundle / "snapshot.json"
    snap.write_text(snap.read_text().replace('"PointInTimeRecoveryStatus": "DISABLED"',
                                             '"PointInTimeRecoveryStatus": "ENABLED"'))
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        data = (bundle / name).read_bytes()
        entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def test_signed_bundle_verifies_with_the_suite_and_forgeries_are_refused(signed, suite, tmp_path: Path) -> None:
    r, private, public = signed
    ok = suite.run("--replay", str(r.bundle), "--verify-key", str(public), tests=TESTS)
    assert ok.outcomes == r.outcomes

    forged = copy(r.bundle, tmp_path)
    forge(forged)
    plain = suite.run("--replay", str(forged), tests=TESTS)
    assert plain.outcomes[PITR] == "passed", "without the key, a consistent forgery replays (why signing exists)"
    refused = suite.run("--replay", str(forged), "--verify-key", str(public), tests=TESTS)
    assert refused.ret == 4 and refused.outcomes == {}
    lines = [ln for ln in refused.stdout.splitlines() if "manifest.json.sig" in ln]
    assert len(lines) == 1 and "does not match manifest.json" in lines[0], refused.stdout[-1500:]

    unsigned = copy(r.bundle, tmp_path / "u")
    (unsigned / signing.SIGNATURE).unlink()
    out = suite.run("--replay", str(unsigned), "--verify-key", str(public), tests=TESTS)
    assert out.ret == 4 and "manifest.json.sig is missing: the bundle is not signed" in out.stdout

    _, other = keypair(tmp_path, "other")
    out = suite.run("--replay", str(r.bundle), "--verify-key", str(other), tests=TESTS)
    assert out.ret == 4 and "was not made by the verify key SHA256:" in out.stdout

    # issue 20.4: a file the signed manifest does not list is refused (it was accepted)
    extra = copy(r.bundle, tmp_path / "extra")
    (extra / "evidence-note.html").write_text("<p>approved</p>")
    out = suite.run("--replay", str(extra), "--verify-key", str(public), tests=TESTS)
    assert out.ret == 4 and "evidence-note.html is in the bundle but listed in no manifest" in out.stdout
    # issue 20.2: a snapshot of another run, re-hashed, is refused
    swapped = copy(r.bundle, tmp_path / "swapped")
    snap = json.loads((swapped / "snapshot.json").read_text())
    snap["meta"]["run_id"] = "20250101T000000Z-0badc0"
    (swapped / "snapshot.json").write_text(json.dumps(snap))
    rehash(swapped)
    out = suite.run("--replay", str(swapped), tests=TESTS)
    assert out.ret == 4 and "a snapshot from another run" in out.stdout


@pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                    reason="ssh-keygen is not on PATH (Debian package openssh-client): the auditor's command "
                           "cannot be run here")
def test_the_auditor_verifies_with_ssh_keygen_alone(signed, tmp_path: Path) -> None:
    r, _, public = signed
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"auditor {public.read_text()}")

    def verify(bundle: Path) -> subprocess.CompletedProcess[str]:
        with (bundle / "manifest.json").open("rb") as manifest:
            return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "auditor",
                                   "-n", "bbws-evidence", "-s", str(bundle / "manifest.json.sig")],
                                  stdin=manifest, capture_output=True, text=True, timeout=60)

    good = verify(r.bundle)
    assert good.returncode == 0, good.stderr
    assert 'Good "bbws-evidence" signature for auditor' in good.stdout + good.stderr
    forged = copy(r.bundle, tmp_path)
    forge(forged)
    assert verify(forged).returncode != 0


def test_sign_key_errors_are_usage_errors(suite, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key"
    bad.write_text("hello")
    out = suite.run("--sign-key", str(bad), tests=TESTS)
    assert out.ret == 4 and "--sign-key" in out.stdout and "not a usable OpenSSH private key" in out.stdout
    out = suite.run("--verify-key", str(bad), tests=TESTS)
    assert out.ret == 4 and "use it with --replay" in out.stdout


@pytest.fixture
def bundle(suite, tmp_path: Path) -> Path:
    r = suite.run(tests=TESTS)
    assert r.bundle is not None
    return copy(r.bundle, tmp_path / "b")


def rehash(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        entry["sha256"] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_a_replayed_env_name_that_is_a_path_is_refused(bundle: Path, suite, tmp_path: Path) -> None:
    target = tmp_path / "outside"
    snap = json.loads((bundle / "snapshot.json").read_text())
    snap["meta"]["env"]["name"] = snap["meta"]["env_name"] = str(target)
    (bundle / "snapshot.json").write_text(json.dumps(snap))
    rehash(bundle)
    out = suite.run("--replay", str(bundle), tests=TESTS)
    assert out.ret == 4 and "is not a plain name" in out.stdout and "Traceback" not in out.stdout
    assert not target.exists(), "replay wrote outside reports/"


def test_a_bundle_file_that_is_a_symlink_is_refused(bundle: Path, suite, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    shutil.move(bundle / "snapshot.json", elsewhere)
    (bundle / "snapshot.json").symlink_to(elsewhere)
    out = suite.run("--replay", str(bundle), tests=TESTS)
    assert out.ret == 4 and "snapshot.json is a symlink" in out.stdout


@pytest.mark.parametrize("name", ["snapshot.json", "manifest.json"])
def test_deeply_nested_bundle_json_is_a_usage_error(bundle: Path, suite, name: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if name == "snapshot.json":
        (bundle / name).write_text('{"meta": {"x": ' + deep + '}, "observations": []}')
        rehash(bundle)
    else:
        (bundle / name).write_text('{"files": ' + deep + '}')
    out = suite.run("--replay", str(bundle), tests=TESTS)
    assert out.ret == 4, out.stdout[-1500:]
    assert "nested deeper than 200 levels" in out.stdout and "RecursionError" not in out.stdout


def test_json_text_is_json_dumps_indented():
    from checks.evidence.bundle import json_text

    data = {"b": [1, {"x": "é <script>", "a": None, "n": 1.5}], "a": "s", "t": list(range(70000))}
    assert json_text(data) == json.dumps(data, indent=1, sort_keys=True)
    assert json_text(data, sort_keys=False) == json.dumps(data, indent=1)


# ----- issue 20: replay signs only what it verified; unlisted files; the parser reads as ssh-keygen; keys -----

def test_a_replay_signs_only_a_source_verified_against_a_pinned_key(signed, suite, tmp_path: Path) -> None:
    r, private, public = signed
    laundered = copy(r.bundle, tmp_path / "laundered")
    forge(laundered)  # the NO-GO made GO, re-hashed ...
    (laundered / signing.SIGNATURE).unlink()  # ... and unsigned
    out = suite.run("--replay", str(laundered), "--sign-key", str(private), tests=TESTS)
    assert out.outcomes[PITR] == "passed" and out.bundle is not None
    assert not (out.bundle / signing.SIGNATURE).exists(), "a replay of an unverified source was signed"
    assert "unsigned: not signed: a replay is signed only when its source verified" in out.stdout
    assert json.loads((out.bundle / "manifest.json").read_text())["replay_of"]["signer"] is None

    vouched = suite.run("--replay", str(r.bundle), "--verify-key", str(public), "--sign-key", str(private),
                        tests=TESTS)
    assert vouched.bundle is not None and (vouched.bundle / signing.SIGNATURE).is_file()
    manifest = json.loads((vouched.bundle / "manifest.json").read_text())
    assert manifest["kind"] == "replay" and manifest["gate_run"] is False
    assert manifest["replay_of"]["signer"] == signing.fingerprint(signing_key(public))
    assert manifest["replay_of"]["run_id"] == json.loads((r.bundle / "gate.json").read_text())["run_id"]


def signing_key(public: Path):
    from checks.evidence import keys

    return keys.load_public(public)


def _sig_cases() -> dict[str, object]:
    import base64
    import struct

    def armor(blob: bytes) -> str:
        b64 = base64.b64encode(blob).decode()
        return "\n".join(["-----BEGIN SSH SIGNATURE-----", *(b64[i:i + 70] for i in range(0, len(b64), 70)),
                          "-----END SSH SIGNATURE-----"]) + "\n"

    def s(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    def blob(armored: str, version: int = 1, after: bytes = b"", inside: bytes = b"") -> bytes:
        p = signing.parse(armored)
        return (b"SSHSIG" + struct.pack(">I", version) + s(p.public) + s(p.namespace) + s(p.reserved)
                + s(p.hash_alg) + s(s(b"ssh-ed25519") + s(p.raw) + inside) + after)

    return {"as written": lambda a: a, "trailing data after the blob": lambda a: armor(blob(a, after=b"\0" * 4)),
            "trailing data inside the signature": lambda a: armor(blob(a, inside=b"xx")),
            "version 0": lambda a: armor(blob(a, version=0)), "version 2": lambda a: armor(blob(a, version=2)),
            "text after END": lambda a: a + "note: reviewed\n", "a space before BEGIN": lambda a: " " + a,
            "CRLF line ends": lambda a: a.replace("\n", "\r\n"), "no final newline": lambda a: a.rstrip("\n")}


@pytest.mark.parametrize("case", list(_sig_cases()))
def test_the_signature_is_read_exactly_as_ssh_keygen_reads_it(tmp_path: Path, case: str) -> None:
    private, public = keypair(tmp_path, "k")
    message = b'{"files": {}}\n'
    key = serialization.load_ssh_private_key(private.read_bytes(), None)
    armored = _sig_cases()[case](signing.sign(message, key))  # type: ignore[operator]
    try:
        signing.verify(message, armored, key.public_key())
        ours = True
    except signing.SigningError:
        ours = False
    expected = {"trailing data after the blob": False, "trailing data inside the signature": False,
                "version 2": False, "a space before BEGIN": False, "CRLF line ends": False}.get(case, True)
    assert ours is expected
    if shutil.which("ssh-keygen") is not None:
        (tmp_path / "allowed").write_text(f"auditor {public.read_text()}")
        (tmp_path / "sig").write_text(armored)
        theirs = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I", "auditor",
                                 "-n", "bbws-evidence", "-s", str(tmp_path / "sig")], input=message,
                                capture_output=True, timeout=60)
        assert (theirs.returncode == 0) is ours, theirs.stderr


@pytest.mark.parametrize("what", ["private", "allowed_signers", "rsa"])
def test_verify_key_loading_failures_are_one_line_exit_4(suite, tmp_path: Path, what: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private, public = keypair(tmp_path, "k")
    given = {"private": private, "allowed_signers": tmp_path / "allowed_signers", "rsa": tmp_path / "id_rsa.pub"}[what]
    (tmp_path / "allowed_signers").write_text(f"auditor {public.read_text()}")
    (tmp_path / "id_rsa.pub").write_bytes(rsa.generate_private_key(65537, 1024).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    from checks.evidence.bundle import write_json, write_manifest

    replayable = tmp_path / "bundle"  # enough of a bundle for replay to reach the key
    replayable.mkdir()
    write_json(replayable / "snapshot.json", {"meta": {}, "observations": []})
    write_manifest(replayable, {"env": "local"})
    out = suite.run("--replay", str(replayable), "--verify-key", str(given), tests=TESTS)
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert out.ret == 4 and len(lines) == 1 and lines[0].startswith(f"ERROR: --verify-key {given}: "), out.stdout
    assert "Traceback" not in out.stdout and "INTERNALERROR" not in out.stdout


def test_a_passphrase_protected_signing_key_works_and_names_the_variable(suite, tmp_path: Path, monkeypatch) -> None:
    from checks.evidence import keys

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "protected"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.BestAvailableEncryption(b"correct horse")))
    monkeypatch.delenv(keys.PASSPHRASE_VAR, raising=False)
    out = suite.run("--sign-key", str(path), tests=TESTS)
    assert out.ret == 4 and f"passphrase-protected; set {keys.PASSPHRASE_VAR}" in out.stdout, out.stdout
    monkeypatch.setenv(keys.PASSPHRASE_VAR, "wrong")
    with pytest.raises(keys.KeyError_, match=f"the passphrase in {keys.PASSPHRASE_VAR} does not decrypt"):
        keys.load_private(path)
    monkeypatch.setenv(keys.PASSPHRASE_VAR, "correct horse")
    loaded = keys.load_private(path)
    message = b"manifest"
    signing.verify(message, signing.sign(message, loaded), key.public_key())


def test_env_names_are_matched_in_full(tmp_path: Path) -> None:
    from checks.core.snapshot import Snapshot
    from checks.evidence.bundle import new_dir
    from checks.evidence.replay import BundleError, check_paths

    snap = Snapshot({"env_name": "local\n", "run_id": "20261202T000000Z-abc123"})
    with pytest.raises(BundleError, match="is not a plain name"):
        check_paths(snap, type("Env", (), {"name": "local\n"})())
    with pytest.raises(OSError, match="is not a plain name"):
        new_dir(tmp_path, "local\n")
    assert not (tmp_path / "local\n").exists()
