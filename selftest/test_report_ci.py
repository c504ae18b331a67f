"""Issue 13, CI-native outputs: JUnit properties and suite name, results.sarif (validated against the
shipped SARIF 2.1.0 schema), the job summary (fixes, run and artifact links, no runner path), workflow
annotations under GitHub Actions, and the post-deploy workflow's regions and upload."""

from __future__ import annotations

import json
import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from checks.core.record import CheckRecord
from checks.evidence.sarif import annotations, sarif
from selftest.test_evidence import PASS, Fake, failing, load

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).with_name("schemas") / "sarif-2.1.0.json").read_text())
SAMPLE = Path(__file__).resolve().parent / "infra_repo"
WORKFLOW = REPO / ".github/workflows/post-deploy-gate.yml"

LOCATED = PASS + '''
@pytest.mark.issue("CICD-01")
@pytest.mark.sev("P1")
def test_runner_label(request):
    request.node.bbws_location = {"file": ".github/workflows/deploy-local.yml", "line": 50}
    assert False, ("expected valid runner labels; found 2 problem(s):\\n"
                   "  - .github/workflows/deploy-local.yml:50 jobs.plan.runs-on: not a hosted label\\n"
                   "  - .github/workflows/deploy-local.yml:114 jobs.apply.runs-on: not a hosted label")
'''


def validate(log: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return Fake(pytester, monkeypatch)


def test_schema_is_the_official_one_and_rejects_nonsense() -> None:
    assert SCHEMA["id"].endswith("/sarif-schema-2.1.0.json") and "runs" in SCHEMA["required"]
    with pytest.raises(jsonschema.ValidationError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]})  # driver needs a name


def test_junit_testcases_carry_check_properties_and_the_suite_is_the_env(fake: Fake) -> None:
    r, bundle = fake.run(failing("P1"))
    root = ET.parse(bundle / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite.get("name") == "local"
    cases = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in suite.iter("testcase")}
    assert cases["test_fails"] == {"check_id": "X-01", "severity": "P1", "resource": "res-test_fails",
                                   "outcome": "failed"}
    assert cases["test_p0_ok"]["outcome"] == "passed" and cases["test_p0_ok"]["severity"] == "P0"


def test_sarif_in_the_bundle_is_valid_and_points_at_file_and_line(fake: Fake) -> None:
    r, bundle = fake.run(LOCATED)
    log = load(bundle, "results.sarif")
    validate(log)
    results = log["runs"][0]["results"]
    assert [(x["ruleId"], x["locations"][0]["physicalLocation"]["region"]["startLine"]) for x in results] == [
        ("CICD-01", 50)]  # (the fake record keeps the message's first line; real ones give one per line)
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == ".github/workflows/deploy-local.yml" and results[0]["level"] == "error"
    assert "results.sarif" in load(bundle, "manifest.json")["files"]


def test_sarif_without_located_findings_is_an_empty_valid_run(fake: Fake) -> None:
    r, bundle = fake.run(failing("P0"))
    log = load(bundle, "results.sarif")
    validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_quotes_hostile_paths_and_refuses_paths_outside_the_repo() -> None:
    base = {"check": "CICD-01", "outcome": "failed", "severity": "P2", "message": "m"}
    log = sarif([CheckRecord.from_dict({**base, "location": {"file": f, "line": n}})
                 for f, n in ((".github/workflows/deploy-x<img src=x>.yml", 3), ("/etc/passwd", 1), ("../up.tf", 1))],
                {"env": "e", "run_id": "r"})
    validate(log)
    [only] = log["runs"][0]["results"]
    assert only["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        ".github/workflows/deploy-x%3Cimg%20src%3Dx%3E.yml"
    assert only["level"] == "warning"


def test_annotations_under_github_actions(fake: Fake) -> None:
    r, bundle = fake.run(LOCATED, GITHUB_ACTIONS="true")
    out = r.stdout.str()
    assert "::error file=.github/workflows/deploy-local.yml,line=50,title=CICD-01 Synthetic::" \
           "expected valid runner labels; found 2 problem(s):" in out
    r, bundle = fake.run(LOCATED, GITHUB_ACTIONS="")
    assert "::error" not in r.stdout.str()
    assert annotations([CheckRecord.from_dict({"check": "C", "outcome": "passed",
                                               "location": {"file": "a", "line": 1}})]) == []


def test_job_summary_has_each_fix_and_links_to_the_run(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_SERVER_URL": "https://github.example",
           "GITHUB_REPOSITORY": "org/suite", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2"}
    r, bundle = fake.run(failing("P1"), **env)
    text = summary.read_text()
    assert "### What to fix" in text and "```sh\n   aws s3api put-thing --bucket res\n   ```" in text
    assert "[workflow run 4242](https://github.example/org/suite/actions/runs/4242)" in text
    assert "(https://github.example/org/suite/actions/runs/4242#artifacts)" in text
    assert "gate-evidence-local-4242-2" in text
    assert str(bundle) not in text and str(fake.pytester.path) not in text


def test_a_real_cicd_finding_reaches_sarif_with_its_line(suite, tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    shutil.copytree(SAMPLE, repo)
    wf = repo / ".github/workflows/deploy-local.yml"
    text = wf.read_text()
    assert "runs-on: ubuntu-latest\n" in text
    wf.write_text(text.replace("runs-on: ubuntu-latest\n", "runs-on: ubuntu-latest-8-cores\n", 1))
    r = suite.run("-m", "cicd", "--infra-repo", str(repo), tests=("tests/cicd",))
    log = json.loads((r.bundle / "results.sarif").read_text())
    validate(log)
    found = {(x["ruleId"], x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for x in
             log["runs"][0]["results"]}
    assert ("CICD-01", ".github/workflows/deploy-local.yml") in found
    lines = [x["locations"][0]["physicalLocation"]["region"]["startLine"] for x in log["runs"][0]["results"]
             if x["ruleId"] == "CICD-01"]
    assert lines and all(text.splitlines()[n - 1].strip() == "runs-on: ubuntu-latest" for n in lines)
    assert "collected: " in r.stdout and " tasks, " in r.stdout  # the one progress line of a non-TTY run


def test_post_deploy_workflow_reads_regions_and_uploads_sarif() -> None:
    text = WORKFLOW.read_text()
    assert "af-south-1" not in text and "eu-west-1" not in text  # regions come from environments.toml
    assert "environments.toml" in text
    assert "github/codeql-action/upload-sarif@" in text and "results.sarif" in text
    assert "security-events: write" in text
    envs = tomllib.loads((REPO / "environments.toml").read_text())
    assert all(envs["envs"][name].get("region") for name in ("dev", "sit", "prod"))


def test_missing_credentials_are_said_once(suite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    missing = str(tmp_path / "none")
    r = suite.run(env="dev", tests=("tests/dynamodb",), environ={
        "AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing, "AWS_EC2_METADATA_DISABLED": "true"})
    assert r.ret == 4 and r.bundle is not None
    assert r.stdout.count("Unable to locate credentials") == 1, r.stdout[-3000:]
