"""Issue 11.2: a credential-free review of an infra repo, and the account guard around every AWS read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from selftest.test_realworld_paths import REPO, both_forms, run
from selftest.test_reliability import LOOPBACK, Answer, non_embedded_env

NO_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
FILE_TESTS = {"test_terraform_parses", "test_gsi_attributes_declared"}  # Terraform files
AWS_TESTS = {"test_lock_not_stale", "test_state_bucket", "test_lock_table_key", "test_caller_account"}


def name_of(test: str) -> str:
    return test.split("::")[-1].split("[")[0]


def no_credentials(tmp_path: Path) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config")}


@pytest.mark.parametrize("form", ["space", "equals"])
def test_review_without_credentials_from_outside_the_checkout(tmp_path, monkeypatch, form):
    for k in NO_CREDENTIALS:
        monkeypatch.delenv(k, raising=False)
    environments = non_embedded_env(tmp_path)
    infra = tmp_path / "infra"
    shutil.copytree(REPO / "selftest" / "infra_repo", infra)
    cwd, reports = tmp_path / "cwd", tmp_path / "reports"
    cwd.mkdir()
    r = run(cwd, "--env", "remote", "-m", "cicd", *both_forms("--environments", environments, form),
            *both_forms("--infra-repo", infra, form), "--reports", str(reports), environ=no_credentials(tmp_path))
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-4000:]
    assert r.returncode == 1, out[-4000:]  # NO-GO: the checks that need AWS could not be evaluated
    assert out.count("credential-free review of cicd") == 1, out[-4000:]
    bundle = next(p.parent for p in reports.glob("remote/*/manifest.json") if p.parent.name != "latest")
    results = json.loads((bundle / "results.json").read_text())
    by_check: dict[str, set[str]] = {}
    for x in results["results"]:
        by_check.setdefault(x["check"], set()).add(x["outcome"])
    # issue 20: a review without AWS reads is never a gate run, and says so
    assert results["decision"] == "NO-GO" and results["gate_run"] is False and results["kind"] == "review"
    assert not (reports / "remote" / "latest").exists()
    # CICD-01 reads only the workflows: it ran (the env "remote" has no deploy-remote.yml, which it reports)
    assert "passed" in by_check["CICD-01"] and "error" not in by_check["CICD-01"], by_check
    outcomes = {name_of(x["test"]): x["outcome"] for x in results["results"]}
    assert {outcomes[t] for t in FILE_TESTS} == {"passed"}, outcomes
    # what needs AWS is an error saying why, never a pass
    for x in results["results"]:
        if name_of(x["test"]) in AWS_TESTS:
            assert x["outcome"] == "error" and "no AWS credentials (credential-free review)" in x["message"], x
    snapshot = json.loads((bundle / "snapshot.json").read_text())
    aws = [o for o in snapshot["observations"] if o["service"] not in ("file", "tool", "github", "canary")]
    assert aws and all(o["error"] and o["error"]["code"] == "NoVerifiedCaller" for o in aws)
    assert snapshot["meta"].get("caller") is None and "credential-free review" in snapshot["meta"]["offline"]


def test_review_reads_no_aws_in_process(suite, tmp_path, monkeypatch):
    """Nothing is signed or sent: no client is even built."""
    for k in NO_CREDENTIALS:
        monkeypatch.delenv(k, raising=False)
    answer = Answer("ShouldNotBeSent", "no request without credentials")
    r = suite.run("--environments", str(non_embedded_env(tmp_path)), "-m", "cicd",
                  "--infra-repo", str(REPO / "selftest" / "infra_repo"), env="remote", plugins=[answer],
                  environ=no_credentials(tmp_path))
    assert answer.sent == []
    assert r.ret == 1 and {o for t, o in r.outcomes.items() if name_of(t) in AWS_TESTS} == {"error"}
    assert {o for t, o in r.outcomes.items() if name_of(t) in FILE_TESTS} == {"passed"}


def test_aws_areas_without_credentials_still_stop_at_the_guard(suite, tmp_path, monkeypatch):
    """A selection with DynamoDB or S3 checks has nothing to review from files: one clear stop (exit 4)."""
    for k in NO_CREDENTIALS:
        monkeypatch.delenv(k, raising=False)
    answer = Answer("ShouldNotBeSent", "no request without credentials")
    r = suite.run("--environments", str(non_embedded_env(tmp_path)), "-m", "cicd or s3", env="remote",
                  plugins=[answer], environ=no_credentials(tmp_path))
    assert r.ret == pytest.ExitCode.USAGE_ERROR and r.outcomes == {}
    assert answer.sent == [] and r.stdout.count("Unable to locate credentials") == 1, r.stdout[-3000:]
    gate = json.loads((r.bundle / "gate.json").read_text())
    assert gate["gate_run"] is False and not (r.reports_dir / "remote" / "latest").exists()


def test_with_credentials_the_guard_runs_first(suite, tmp_path, monkeypatch):
    """Credentials present: the review is an ordinary run, and the account guard is its first AWS read."""
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    answer = Answer("ExpiredToken", "The security token included in the request is expired")
    r = suite.run("--environments", str(non_embedded_env(tmp_path)), "-m", "cicd", env="remote",
                  plugins=[answer], environ=LOOPBACK)
    assert r.ret == pytest.ExitCode.USAGE_ERROR and r.outcomes == {}
    assert answer.sent and all("sts" in e for e in answer.sent)


def test_a_selection_that_reads_no_aws_calls_no_sts(suite, tmp_path, monkeypatch):
    """An area declared aws_reads="none" (files only) needs no caller: not even sts:GetCallerIdentity,
    although credentials are there."""
    import dataclasses

    from checks import areas

    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    declared = dict(areas.declared())
    declared["cicd"] = dataclasses.replace(declared["cicd"], aws_reads="none")
    monkeypatch.setattr(areas, "declared", lambda: declared)
    answer = Answer("ShouldNotBeSent", "this run reads no AWS")
    r = suite.run("--environments", str(non_embedded_env(tmp_path)), "-m", "cicd",
                  "--infra-repo", str(REPO / "selftest" / "infra_repo"), env="remote", plugins=[answer],
                  environ=LOOPBACK)
    assert answer.sent == [], answer.sent
    assert "no selected check reads AWS (cicd, static)" in r.stdout  # -m cicd selects static CICD-02 too
    assert {o for t, o in r.outcomes.items() if name_of(t) in FILE_TESTS} == {"passed"}
