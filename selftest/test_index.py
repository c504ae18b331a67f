"""Issue 15.4 and issue 20.1: the evidence index verifies each bundle, derives each decision again from the
bundle's own results, and says how far it trusts each row (verified only by a pinned key's signature)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from checks.areas.cicd import workflows
from checks.core.record import CheckRecord
from checks.evidence import keys, signing
from checks.evidence.bundle import write_json, write_manifest, write_text
from checks.evidence.gate import decide
from checks.evidence.index import main
from selftest.test_safety_bundle import keypair

REPO = Path(__file__).resolve().parent.parent


def record(check: str, outcome: str, severity: str, message: str = "") -> dict:
    return CheckRecord(check=check, title="t", test=f"tests/x.py::test_{check}[{outcome}]", name="n",
                       resource="tenants", outcome=outcome, severity=severity,  # type: ignore[arg-type]
                       message=message).result()


def bundle(root: Path, env: str, decision: str, account: str = "111111111111", complete: bool = True,
           kind: str = "gate", label: str = "gate run: every check", key: Path | None = None) -> Path:
    """A bundle as the plugin writes it: results, the gate decided from them, report, snapshot, the manifest,
    and (with `key`) its signature."""
    b = root / env / "20261202T000000Z"
    b.mkdir(parents=True)
    rows = [record("DDB-01", "passed", "P0")] + [record("S3-03", "skipped", "P1")]
    if decision == "CONDITIONAL GO":
        rows.append(record("S3-02", "failed", "P2", "logging is off"))
    if decision == "NO-GO":
        rows.append(record("DDB-03", "failed", "P1", "PITR is DISABLED on tenants"))
    incomplete = [] if complete else ["interrupted (Ctrl-C): the remaining checks did not run"]
    gate = decide([CheckRecord.from_dict(r) for r in rows], incomplete)
    run = {"env": env, "run_id": f"run-{env}", "kind": kind, "kind_label": label, "gate_run": kind == "gate"}
    write_json(b / "gate.json", {**run, **gate.to_dict()})
    write_json(b / "results.json", {"schema": 1, **run, "decision": gate.decision, "complete": gate.complete,
                                    "results": rows})
    write_json(b / "snapshot.json", {"meta": {"run_id": f"run-{env}"}, "observations": []})
    write_text(b / "report.html", "<html></html>")
    write_manifest(b, {**run, "account": account, "region": "eu-west-1", "decision": gate.decision,
                       "complete": gate.complete, "incomplete": gate.incomplete, "started": "s", "finished": "f"})
    if key is not None:
        signing.sign_bundle(b, keys.load_private(key))
    return b


def rows_of(out: Path) -> dict[str, tuple[str, str]]:
    index = json.loads((out / "index.json").read_text())
    return {r["env"]: (r["decision"], r["problem"]) for r in index["rows"]}


def rehash(b: Path) -> None:
    manifest = json.loads((b / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        data = (b / name).read_bytes()
        entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (b / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def edit(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_one_line_per_env_with_decision_and_link(tmp_path: Path, capsys) -> None:
    art = tmp_path / "artifacts"
    bundle(art / "gate-evidence-dev", "dev", "GO")
    bundle(art / "gate-evidence-sit", "sit", "CONDITIONAL GO")
    prod = bundle(art / "gate-evidence-prod", "prod", "NO-GO")
    (prod.parent / "latest").symlink_to(prod.name)  # a latest pointer is not a second bundle
    out = tmp_path / "index"
    assert main([str(art), "--out", str(out)]) == 0
    assert rows_of(out) == {"dev": ("GO", ""), "sit": ("CONDITIONAL GO", ""), "prod": ("NO-GO", "")}
    index = json.loads((out / "index.json").read_text())
    assert (index["decision"], index["bundles"], index["verified"]) == ("NO-GO", 3, 0)
    html = (out / "index.html").read_text()
    for row in index["rows"]:
        assert f'href="{row["report"]}"' in html and (out / row["report"]).resolve().is_file()
        assert row["verification"] == "digests checked, signature not verified"
    assert "DDB-03: PITR is DISABLED on tenants" in html and ">verified<" not in html
    assert (out / "manifest.json").is_file()
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["NO-GO", "CONDITIONAL", "GO", "NO-GO:"]


def test_all_go_is_go_and_an_incomplete_run_is_no_go(tmp_path: Path) -> None:
    bundle(tmp_path / "a", "dev", "GO")
    out = tmp_path / "index"
    assert main([str(tmp_path / "a"), "--out", str(out)]) == 0
    assert json.loads((out / "index.json").read_text())["decision"] == "GO"
    bundle(tmp_path / "b", "sit", "GO", complete=False)
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    assert rows_of(out)["sit"] == ("NO-GO", "")


def test_a_tampered_or_missing_bundle_is_unverified_and_no_go(tmp_path: Path) -> None:
    bundle(tmp_path, "dev", "GO")
    sit = bundle(tmp_path, "sit", "GO")
    (sit / "gate.json").write_text(json.dumps({"decision": "GO", "complete": True}))
    out = tmp_path / "index"
    assert main([str(tmp_path / "dev"), str(tmp_path / "sit"), "--out", str(out), "--expect", "dev,sit,prod"]) == 1
    rows = rows_of(out)
    assert rows["dev"] == ("GO", "")
    assert rows["sit"][0] == "UNVERIFIED" and rows["sit"][1].startswith("gate.json has been modified")
    assert rows["prod"] == ("UNVERIFIED", "no bundle for this env")
    assert json.loads((out / "index.json").read_text())["decision"] == "NO-GO"


def test_bundle_fields_are_escaped(tmp_path: Path) -> None:
    bundle(tmp_path, "<script>alert(1)</script>", "GO")
    out = tmp_path / "index"
    assert main([str(tmp_path), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_input_is_a_usage_error_not_a_traceback(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 4
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 4
    assert "holds no bundle" in capsys.readouterr().err


def test_the_matrix_workflow_lints_clean() -> None:
    path = REPO / ".github/workflows/gate-matrix.yml"
    assert workflows.lint(path, root=REPO) == []


# ----- issue 20.1: trust -----

@pytest.fixture
def signer(tmp_path: Path) -> tuple[Path, Path]:
    return keypair(tmp_path, "release-signer")


def forge_go(b: Path, results_too: bool = False) -> None:
    """A NO-GO bundle made to say GO: gate.json (and the results' decision; with results_too every finding made a
    pass), every digest recomputed, the signature deleted."""
    gate = json.loads((b / "gate.json").read_text())
    edit(b / "gate.json", decision="GO", reasons=[], rollback=None)
    results = json.loads((b / "results.json").read_text())
    rows = [{**r, "outcome": "passed"} if results_too and r["outcome"] == "failed" else r for r in results["results"]]
    edit(b / "results.json", decision="GO", results=rows)
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["decision"] = "GO"
    (b / "manifest.json").write_text(json.dumps(manifest))
    rehash(b)
    (b / signing.SIGNATURE).unlink()
    assert gate["decision"] == "NO-GO"


def test_a_forged_go_is_never_listed_as_verified(tmp_path: Path, signer, capsys) -> None:
    private, public = signer
    bundle(tmp_path / "ok", "dev", "GO", key=private)
    edited = bundle(tmp_path / "edited", "sit", "NO-GO", key=private)
    forge_go(edited)  # gate.json says GO, its results still hold the P1 finding
    consistent = bundle(tmp_path / "consistent", "prod", "NO-GO", key=private)
    forge_go(consistent, results_too=True)  # every file agrees: only the signature can tell
    args = [str(tmp_path / d) for d in ("ok", "edited", "consistent")]

    out = tmp_path / "plain"
    assert main([*args, "--out", str(out)]) == 1
    rows = {r["env"]: r for r in json.loads((out / "index.json").read_text())["rows"]}
    assert rows["sit"]["decision"] == "UNVERIFIED"
    assert "gate.json says 'GO' but its results decide NO-GO" in rows["sit"]["problem"]
    assert rows["prod"]["decision"] == "GO"
    assert rows["prod"]["verification"] == "digests checked, signature not verified"
    assert rows["dev"]["verification"] == "digests checked, signature not verified"
    assert "verified: signed" not in (out / "index.html").read_text()

    pinned = tmp_path / "pinned"
    assert main([*args, "--out", str(pinned), "--verify-key", str(public)]) == 1
    rows = {r["env"]: r for r in json.loads((pinned / "index.json").read_text())["rows"]}
    assert rows["dev"]["decision"] == "GO" and rows["dev"]["verification"].startswith("verified: signed by ")
    assert keys.fingerprint(keys.load_public(public)) in rows["dev"]["verification"]
    assert rows["prod"]["decision"] == "UNVERIFIED" and "manifest.json.sig is missing" in rows["prod"]["problem"]
    index = json.loads((pinned / "index.json").read_text())
    assert (index["decision"], index["verified"], index["unverified"]) == ("NO-GO", 1, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_allowed_signers_name_who_signed_each_bundle(tmp_path: Path) -> None:
    ops, ops_pub = keypair(tmp_path, "ops")
    lead, lead_pub = keypair(tmp_path, "lead")
    stranger, _ = keypair(tmp_path, "stranger")
    bundle(tmp_path / "a", "dev", "GO", key=ops)
    bundle(tmp_path / "b", "sit", "GO", key=lead)
    bundle(tmp_path / "c", "prod", "GO", key=stranger)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"# release signers\nops@bbws {ops_pub.read_text()}"
                       f'lead@bbws,backup@bbws namespaces="git,bbws-evidence" {lead_pub.read_text()}')
    out = tmp_path / "index"
    assert main([str(tmp_path / d) for d in "abc"] + ["--out", str(out), "--allowed-signers", str(allowed)]) == 1
    rows = {r["env"]: r for r in json.loads((out / "index.json").read_text())["rows"]}
    assert rows["dev"]["verification"].startswith("verified: signed by ops@bbws SHA256:")
    assert rows["sit"]["verification"].startswith("verified: signed by lead@bbws,backup@bbws SHA256:")
    assert rows["prod"]["decision"] == "UNVERIFIED" and "not made by any pinned key" in rows["prod"]["problem"]


def test_hostile_bundles_are_one_unverified_row_each(tmp_path: Path, capsys) -> None:
    root = tmp_path / "bundles"
    bundle(root / "good", "dev", "GO")
    bundle(root / "nested", "sit", "GO")
    (root / "nested/sit/20261202T000000Z/results.json").write_text('{"results": ' + "[" * 50_000 + "]" * 50_000 + "}")
    rehash(root / "nested/sit/20261202T000000Z")
    bundle(root / "junk", "qa", "GO")
    (root / "junk/qa/20261202T000000Z/manifest.json").write_text("{not json")
    bundle(root / "shape", "uat", "GO")
    edit(root / "shape/uat/20261202T000000Z/results.json", results={"not": "a list"})
    rehash(root / "shape/uat/20261202T000000Z")
    partial = bundle(root / "partial", "perf", "GO")
    (partial / "manifest.json").unlink()
    copy = bundle(root / "copied", "prod", "GO")
    shutil.copytree(copy, copy.parent / "latest")  # a `latest` that is a real directory, not the pointer
    out = tmp_path / "index"
    assert main([str(root), "--out", str(out)]) == 1
    index = json.loads((out / "index.json").read_text())
    problems = sorted(r["problem"] for r in index["rows"] if r["decision"] == "UNVERIFIED")
    assert len(problems) == 5 and index["decision"] == "NO-GO", problems
    assert any("nested deeper than 200 levels" in p for p in problems)
    assert any(p.startswith("manifest.json is malformed") for p in problems)
    assert any("'results' is not a list" in p for p in problems)
    assert any("manifest.json is missing: a partial bundle" in p for p in problems)
    assert any("a real directory named `latest`" in p for p in problems)
    assert sum(r["decision"] == "GO" for r in index["rows"]) == 2  # the good one and the bundle `latest` copies
    assert "Traceback" not in capsys.readouterr().err


def test_links_are_relative_and_never_a_scheme(tmp_path: Path) -> None:
    out = tmp_path / "index"
    b = bundle(out / "javascript:alert(document.domain)", "dev", "GO")
    b.rename(b.parent.parent / "x")  # out/javascript:…/x: the bundle's path, relative to the index, starts with it
    assert main([str(out / "javascript:alert(document.domain)"), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    hrefs = [h.split('"')[0] for h in html.split('href="')[1:]]
    assert hrefs and all(not urlsplit(h).scheme and h.startswith("./") for h in hrefs), hrefs
    assert (out / "javascript:alert(document.domain)" / "x" / "report.html").is_file()


def test_a_run_that_is_not_a_gate_run_decides_nothing(tmp_path: Path, capsys) -> None:
    bundle(tmp_path / "a", "uat", "GO", kind="review", label="review: no AWS read, -m static, 231 deselected")
    bundle(tmp_path / "b", "dev", "GO")
    out = tmp_path / "index"
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out), "--expect", "dev,uat"]) == 1
    rows = json.loads((out / "index.json").read_text())["rows"]
    assert [(r["env"], r["decision"], r["gate_run"]) for r in rows] == [
        ("uat", "UNVERIFIED", False), ("dev", "GO", True), ("uat", "GO", False)]
    assert rows[0]["problem"] == "no gate run for this env; only: review: no AWS read, -m static, 231 deselected"
    printed = capsys.readouterr().out
    assert "[not a gate run: review: no AWS read, -m static, 231 deselected]" in printed
    assert "not a gate run" in (out / "index.html").read_text()


@pytest.mark.parametrize("what", ["private", "allowed", "rsa", "garbage"])
def test_key_files_that_cannot_be_loaded_are_one_line_exit_4(tmp_path: Path, signer, capsys, what: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private, public = signer
    bundle(tmp_path / "b", "dev", "GO")
    given = {"private": private, "allowed": tmp_path / "allowed", "rsa": tmp_path / "rsa.pub",
             "garbage": tmp_path / "garbage"}[what]
    (tmp_path / "allowed").write_text(f"auditor {public.read_text()}")
    (tmp_path / "rsa.pub").write_bytes(rsa.generate_private_key(65537, 1024).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    (tmp_path / "garbage").write_text("hello\n")
    assert main([str(tmp_path / "b"), "--out", str(tmp_path / "o"), "--verify-key", str(given)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"evidence index: --verify-key {given}: "), err
    assert {"private": "this is a private key", "allowed": "this is an allowed_signers file",
            "rsa": "an ssh-ed25519 public key is required, this is ssh-rsa",
            "garbage": "not an OpenSSH public key"}[what] in err[0]
