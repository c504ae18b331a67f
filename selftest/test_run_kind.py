"""Issue 20.3, 20.5, 20.6: what counts as a gate run (and moves `latest`), sealing, provenance.

Pure tests of the run-kind rule, and small runs of synthetic checks (selftest/test_evidence.py's `fake`
harness: the evidence plugin alone) for what each kind of run writes and says.
"""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import pytest

from checks.evidence import bundle as bundle_mod
from checks.evidence.provenance import git_state
from checks.evidence.runkind import kind_of
from checks.plugin.selected import Selection
from selftest.test_evidence import PASS, Fake, load

SMOKE = PASS.replace("def test_p0_ok", "@pytest.mark.smoke\ndef test_p0_ok") + '''
@pytest.mark.smoke
@pytest.mark.issue("S3-03")
def test_smoke_too():
    pass
'''
EVERY = Selection(selected=280, deselected=0, outside=0)


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return Fake(pytester, monkeypatch)


@pytest.mark.parametrize(("case", "facts", "kind", "label"), [
    ("every check", {}, "gate", "gate run: every check"),
    ("the smoke gate", {"selection": Selection(markers=" smoke ", selected=120, deselected=160, outside=0)},
     "gate", "gate run: -m ' smoke '"),
    ("interrupted before collection finished", {"selection": Selection(), "evaluated": False, "interrupted": True,
                                                "caller_verified": None}, "gate", "gate run: every check"),
    ("a selector beside -m smoke", {"selection": Selection(markers="smoke", selected=100, deselected=180,
                                                           outside=20, others=("--lf",))},
     "partial", "partial: -m smoke, --lf, 180 deselected"),
    ("-m canary", {"selection": Selection(markers="canary", selected=5, deselected=278, outside=0)},
     "partial", "partial: -m canary, 278 deselected"),
    ("a narrower path", {"selection": Selection(paths=("tests/s3",), selected=40, deselected=0, outside=0)},
     "partial", "partial: tests/s3"),
    ("no AWS read", {"offline": "no selected check reads AWS", "selection": Selection(markers="static", selected=48,
                                                                                      deselected=231, outside=0)},
     "review", "review: no AWS read, -m static, 231 deselected"),
    ("faults", {"faults": [("S3-02", None), ("DDB-03", "tenants")]}, "drill", "drill: --fault S3-02,DDB-03:tenants"),
    ("a replay", {"replay_of": "20261201T000000Z-abcdef", "replay_made": "2026-12-02T10:00:00+00:00"},
     "replay", "replay of 20261201T000000Z-abcdef made 2026-12-02T10:00:00+00:00"),
    ("every check skipped", {"evaluated": False}, "none",
     "not a gate run: no check was evaluated (every selected check was skipped)"),
    ("another account", {"caller_verified": False}, "none",
     "not a gate run: the caller was not verified against the env's account"),
    ("exit 4", {"stopped": "not a gate run: it stopped before any check"}, "none",
     "not a gate run: it stopped before any check"),
])
def test_only_a_complete_gate_selection_read_by_a_verified_caller_is_a_gate_run(case, facts, kind, label) -> None:
    given = {"selection": EVERY, "caller_verified": True, **facts}
    got = kind_of(**given)
    assert (got.kind, got.label, got.gate_run) == (kind, label, kind == "gate"), case


def test_a_partial_selection_says_so_everywhere_and_leaves_latest(fake: Fake, tmp_path: Path) -> None:
    _, gate_bundle = fake.run(PASS)
    latest = fake.pytester.path / "reports" / "local" / "latest"
    assert latest.resolve() == gate_bundle.resolve() and load(gate_bundle, "gate.json")["kind"] == "gate"
    summary = tmp_path / "summary.md"
    r, partial = fake.run(PASS, "-k", "p0", GITHUB_STEP_SUMMARY=str(summary))
    assert r.ret == 0 and partial != gate_bundle
    label = "partial: -k p0, 1 deselected"
    for name in ("gate.json", "manifest.json"):
        doc = load(partial, name)
        assert (doc["kind"], doc["kind_label"], doc["gate_run"]) == ("partial", label, False), name
        assert doc["selection"] == {"markers": "", "keyword": "p0", "paths": [], "selected": 1, "deselected": 1,
                                    "outside": 1, "others": [], "partial": True}
    assert load(partial, "results.json")["kind"] == "partial"
    assert latest.resolve() == gate_bundle.resolve(), "a partial selection moved latest"
    html = (partial / "report.html").read_text()
    assert f"<title>GO · local · {label} · BBWS evidence, not a gate run</title>" in html
    assert "NOT A GATE RUN" in html and "Result (not a gate decision): GO" in html and "Gate decision:" not in html
    assert "No sign-off: this is not a gate run" in html
    assert summary.read_text().startswith(f"## BBWS {label}: **GO** (not a gate run)")
    assert f"not a gate run: {label}; `latest` was not moved" in r.stdout.str()


@pytest.mark.parametrize(("environ", "label"), [
    ({"FAKE_OFFLINE": "credential-free review of cicd"}, "review: no AWS read"),
    ({"FAKE_FAULTS": "DDB-03:tenants"}, "drill: --fault DDB-03:tenants"),
])
def test_a_review_and_a_drill_are_not_gate_runs(fake: Fake, environ: dict[str, str], label: str) -> None:
    r, b = fake.run(PASS, **environ)
    assert r.ret == 0 and b is not None
    assert load(b, "gate.json")["kind_label"] == label and load(b, "manifest.json")["gate_run"] is False
    assert not (b.parent / "latest").exists()
    assert f"<span id=\"bbws-kind\">{label}</span>" in (b / "report.html").read_text()


def test_the_smoke_gate_is_a_gate_run_and_another_selector_beside_it_is_not(fake: Fake) -> None:
    r, b = fake.run(SMOKE, "-m", "smoke")
    gate = load(b, "gate.json")
    assert gate["kind_label"] == "gate run: -m smoke" and (b.parent / "latest").resolve() == b.resolve()
    assert (gate["selection"]["selected"], gate["selection"]["deselected"], gate["selection"]["outside"]) == (2, 1, 0)
    r, other = fake.run(SMOKE, "-m", "smoke", "--deselect", "test_checks.py::test_p0_ok")
    gate = load(other, "gate.json")
    assert (gate["kind"], gate["kind_label"]) == ("partial", "partial: -m smoke, --deselect, 2 deselected")
    assert (b.parent / "latest").resolve() == b.resolve()


def test_a_run_that_evaluated_no_check_says_so_in_its_banner(fake: Fake) -> None:
    r, b = fake.run(PASS.replace("    pass", "    pytest.skip('not applicable here')"))
    assert b is not None and r.ret == 1
    gate = load(b, "gate.json")
    assert gate["kind"] == "none" and gate["gate_run"] is False
    html = (b / "report.html").read_text()
    strip = html.split('<section id="kind"')[1].split("</section>")[0]
    assert "NOT A GATE RUN" in strip and "not a gate run: no check was evaluated" in strip
    assert "No check failed" not in html and not (b.parent / "latest").exists()


# ----- issue 20.5: sealing -----

def test_a_bundle_that_cannot_be_sealed_never_holds_a_go(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bundle_mod, "write_manifest", full_disk)
    r, b = fake.run(PASS)
    assert r.ret == 1 and b is None, "a directory named like a bundle holds an unsealed one"
    env = fake.pytester.path / "reports" / "local"
    unsealed = [p for p in env.iterdir() if p.name.endswith(".unsealed")]
    assert len(unsealed) == 1 and not (env / "latest").exists()
    names = {p.name for p in unsealed[0].iterdir()}
    assert {"gate.json", "snapshot.json"} <= names and not names & {"results.json", "report.html", "manifest.json"}
    gate = load(unsealed[0], "gate.json")
    assert gate["decision"] == "NO-GO" and gate["sealed"] is False and "No space left" in gate["incomplete"][0]
    out = r.stdout.str()
    assert "BBWS gate: NO-GO" in out and "the bundle was not sealed" in out and "BBWS gate: GO" not in out
    assert not [p for p in env.iterdir() if p.name.endswith(".partial")]


def test_a_latest_that_is_a_real_directory_is_refused_loudly(fake: Fake) -> None:
    real = fake.pytester.path / "reports" / "local" / "latest"
    real.mkdir(parents=True)
    (real / "gate.json").write_text('{"decision": "GO"}')
    r, b = fake.run(PASS)
    assert b is not None and load(b, "gate.json")["decision"] == "GO"
    assert r.ret == 1, "a GO whose `latest` could not be moved exited 0"
    assert real.is_dir() and not real.is_symlink() and (real / "gate.json").read_text() == '{"decision": "GO"}'
    assert "local/latest is a real directory, not the suite's pointer" in r.stdout.str()


# ----- issue 20.6: provenance -----

def test_provenance_of_the_ci_run_in_manifest_gate_report_and_summary(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    r, b = fake.run(PASS, GITHUB_SERVER_URL="https://github.example", GITHUB_REPOSITORY="bbws/infra-deploy",
                    GITHUB_RUN_ID="4242", GITHUB_RUN_ATTEMPT="2", GITHUB_ACTOR="release-bot",
                    GITHUB_WORKFLOW_REF="bbws/infra-deploy/.github/workflows/gate.yml@refs/heads/main",
                    GITHUB_EVENT_NAME="workflow_dispatch", GITHUB_STEP_SUMMARY=str(summary))
    ci = {"url": "https://github.example/bbws/infra-deploy/actions/runs/4242", "attempt": "2", "actor": "release-bot",
          "workflow_ref": "bbws/infra-deploy/.github/workflows/gate.yml@refs/heads/main", "event": "workflow_dispatch"}
    for name in ("manifest.json", "gate.json"):
        assert load(b, name)["provenance"]["ci"].items() >= ci.items(), name
    html = (b / "report.html").read_text()
    assert "https://github.example/bbws/infra-deploy/actions/runs/4242 (attempt 2, actor release-bot" in html
    assert "workflow run 4242" in summary.read_text()


def test_git_state_names_the_commit_and_a_dirty_tree(tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    (repo / "terraform").mkdir(parents=True)
    (repo / "terraform" / "main.tf").write_text("# tables\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True,
                       capture_output=True, timeout=60)

    assert git_state(repo) == {"commit": None, "reason": "not a git checkout (or git is unavailable or refused it)"}
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "tables")
    clean = git_state(repo / "terraform")
    assert clean["dirty"] is False and clean["path"] == "terraform" and len(clean["commit"]) == 40
    (repo / "terraform" / "extra.tf").write_text("# not committed\n")
    assert git_state(repo)["dirty"] is True and git_state(repo)["changed"] == 1


def test_a_real_bundle_names_no_runner_path(suite) -> None:
    """A real review (files only, no AWS): junit.xml's skip lines and snapshot.json's environments.toml and infra
    repo are relative to the checkout; the review is recorded as one and leaves `latest` alone."""
    repo = Path(__file__).resolve().parent.parent
    r = suite.run("-m", "static", "--infra-repo", str(repo / "selftest" / "infra_repo"), env="sit",
                  tests=("tests/static",))
    assert r.bundle is not None and r.skipped, r.stdout[-2000:]
    for name in ("junit.xml", "snapshot.json", "results.json", "gate.json", "manifest.json", "report.html"):
        assert f"{repo}/" not in (r.bundle / name).read_text(), name
    snap = json.loads((r.bundle / "snapshot.json").read_text())
    assert (snap["meta"]["env"]["source"], snap["meta"]["infra_repo"]) == ("environments.toml", "selftest/infra_repo")
    assert "tests/static/" in (r.bundle / "junit.xml").read_text()
    manifest = load(r.bundle, "manifest.json")
    assert manifest["provenance"]["infra"]["path"] == "selftest/infra_repo"
    assert manifest["kind"] == "review" and not (r.bundle.parent / "latest").exists()
