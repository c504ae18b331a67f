"""CICD-01..06 end to end: break the sample infra repo, the backend, the plan or the fake GitHub API,
run the real tests/ through pytester, and check that exactly the expected CI/CD checks fail."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from selftest.fakegithub import TOKEN, FakeGitHub, environment, pending, run

SAMPLE = Path(__file__).resolve().parent / "infra_repo"
WF = ".github/workflows/deploy-local.yml"
CICD_TESTS = ("tests/cicd",)  # the real CI/CD suite; -m cicd over all of tests/ selects the same


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "infra"
    shutil.copytree(SAMPLE, dst)
    return dst


@pytest.fixture
def fake():
    with FakeGitHub() as f:
        yield f.clean()


def gh_env(fake: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": fake.repo, "GITHUB_API_URL": fake.url}


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def cicd(result, outcome: str) -> set[str]:
    return {t for t, o in result.outcomes.items() if o == outcome and result.check_of[t].startswith("CICD")}


def bad(result) -> set[str]:
    return cicd(result, "failed") | cicd(result, "error")


def test_clean_inputs_pass(suite, repo_copy, fake):
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == set(), r.stdout[-3000:]
    assert "test_workflow_schema[deploy-local.yml]" in r.passed
    assert "test_no_approval_timeout[local]" in r.passed and "test_last_deploy_succeeded[deploy-local.yml]" in r.passed
    assert all(h == f"Bearer {TOKEN}" for h in fake.auth_headers) and fake.requests
    assert TOKEN not in json.dumps(r.records)


def test_without_inputs_the_file_and_api_checks_skip(suite):
    r = suite.run("-m", "cicd", "--infra-repo", "", tests=CICD_TESTS, environ={})
    assert bad(r) - {"test_workflow_exists[deploy-local.yml]"} <= set(), r.stdout[-3000:]
    reasons = {t: rec["message"] for t, rec in r.records.items()}
    assert "GITHUB_TOKEN" in reasons["test_environment_reviewers[local]"]
    assert "github.repo" in reasons["test_environment_reviewers[local]"]


def test_cicd01_workflow_faults(suite, repo_copy, fake):
    wf = repo_copy / WF
    edit(wf, "runs-on: ubuntu-latest\n    timeout-minutes: 60",
         "runs-on: ubuntu-latest-8-cores\n    timeout-minutes: 60")
    edit(wf, "    permissions:\n      contents: read\n      id-token: write\n",
         "    permissions:\n      contents: read\n")
    edit(wf, "defaults:\n  run:\n    shell: bash\n\n", "")
    edit(wf, "    environment:\n      name: local\n", "")
    edit(wf, "run: terraform apply -input=false -lock-timeout=5m tfplan", "run: terraform apply -auto-approve")
    edit(wf, "        type: string\n        required: false", "        type: choice\n        required: false")
    edit(wf, "configure-aws-credentials@b47578312673ae6fa5b5096b330d9fbac3d116df", "configure-aws-credentials@v4")
    edit(wf, "    timeout-minutes: 30\n", "    timeout-minutes: 30\n    runs_on: typo\n")
    (repo_copy / ".github/workflows/broken.yml").write_text("on: [push\njobs:\n  x: {}\n")
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {
        "test_workflow_schema[deploy-local.yml]", "test_workflow_schema[broken.yml]",
        "test_runner_labels[deploy-local.yml]", "test_dispatch_inputs[deploy-local.yml]",
        "test_oidc_id_token[deploy-local.yml]", "test_no_hidden_terraform_failure[deploy-local.yml]",
        "test_apply_needs_approval[deploy-local.yml]", "test_applies_reviewed_plan[deploy-local.yml]",
        "test_actions_pinned[deploy-local.yml]",
        # `terraform apply -auto-approve` plans afresh, and without the var file: the roots' variables get no value
        "test_variables_supplied[terraform/dynamodb]", "test_variables_supplied[terraform/s3]",
    }, r.stdout[-3000:]
    assert "ubuntu-latest-8-cores" in r.records["test_runner_labels[deploy-local.yml]"]["message"]
    assert "not valid YAML" in r.records["test_workflow_schema[broken.yml]"]["message"]
    assert r.records["test_actions_pinned[deploy-local.yml]"]["severity"] == "P3"
    assert "test_runner_labels[broken.yml]" in r.skipped


def test_cicd02_backend_hcl_and_plan_faults(suite, repo_copy, fake, tmp_path):
    edit(repo_copy / "terraform/dynamodb/main.tf", '  attribute {\n    name = "email"\n    type = "S"\n  }\n', "")
    edit(repo_copy / "terraform/s3/main.tf", 'resource "aws_s3_bucket" "templates" {', 'resource "aws_s3_bucket" {{')
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "errored": True, "resource_changes": [
        {"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table", "mode": "managed",
         "change": {"actions": ["delete", "create"]}, "action_reason": "replace_because_cannot_update"},
        {"address": "aws_s3_bucket_policy.templates", "type": "aws_s3_bucket_policy", "mode": "managed",
         "change": {"actions": ["delete"]}}]}))
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), "--plan-json", str(plan), faults="CICD-02",
                  tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {
        "test_lock_table_key[terraform-state-lock-local]", "test_gsi_attributes_declared[terraform/dynamodb]",
        "test_terraform_parses[terraform/s3]", "test_plan_not_errored[plan.json]",
        "test_plan_no_stateful_destroy[plan.json]",
    }, r.stdout[-3000:]
    msg = r.records["test_plan_no_stateful_destroy[plan.json]"]["message"]
    assert "aws_dynamodb_table.tenants" in msg and "replace_because_cannot_update" in msg
    assert "LockId" in r.records["test_lock_table_key[terraform-state-lock-local]"]["message"]
    assert "'email'" in r.records["test_gsi_attributes_declared[terraform/dynamodb]"]["message"]


def test_cicd03_apply_faults(suite, repo_copy, fake):
    (repo_copy / "terraform/s3/.terraform.lock.hcl").unlink()
    shutil.copytree(repo_copy / "terraform/dynamodb", repo_copy / "terraform/legacy")
    edit(repo_copy / "terraform/legacy/versions.tf", 'key     = "2_1_bbws_dynamodb_schemas/terraform.tfstate"',
         'key = "legacy/terraform.tfstate"\n    bucket = "bbws-terraform-state-local"\n'
         '    dynamodb_table = "terraform-state-lock-local"')
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), faults="PDV-07:tenants,CICD-03",
                  tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {
        "test_state_digest[2_1_bbws_dynamodb_schemas/terraform.tfstate]", "test_resource_managed[tenants]",
        "test_provider_lock_committed[terraform/s3]", "test_one_state_key_per_resource[infra-repo]",
    }, r.stdout[-3000:]
    msg = r.records["test_resource_managed[tenants]"]["message"]
    assert "terraform import aws_dynamodb_table.tenants tenants" in msg
    rec = r.records["test_state_digest[2_1_bbws_dynamodb_schemas/terraform.tfstate]"]
    assert "does not have the expected content" in rec["message"] and "put-item" in rec["remediation"]


def test_cicd04_approval_faults(suite, repo_copy, fake):
    now = dt.datetime.now(dt.UTC)
    fake.state["environments"]["local"] = environment("local", 1)
    fake.state["runs"] += [run(200 + i, "deploy-local.yml", status="waiting", conclusion=None,
                               created=now - dt.timedelta(minutes=10)) for i in range(3)]
    fake.state["runs"].append(run(999, "deploy-local.yml", status="waiting", conclusion=None,
                                  created=now - dt.timedelta(hours=8)))
    fake.state["pending"] = {200: [pending("local", now - dt.timedelta(minutes=10))],
                             999: [pending("local", now - dt.timedelta(hours=8))]}
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {"test_environment_reviewers[local]", "test_no_approval_timeout[local]"}, r.stdout[-3000:]
    msg = r.records["test_no_approval_timeout[local]"]["message"]
    assert "https://github.com/o/r/actions/runs/999" in msg and "8 h" in msg and "'local'" in msg
    assert "gh run rerun 999 --repo o/r" in r.records["test_no_approval_timeout[local]"]["remediation"]
    assert any("page=2" in p for p in fake.requests), "pagination was not followed"


def test_cicd04_api_denied_skips_naming_the_token_permission(suite, repo_copy, fake):
    fake.state["fail"]["/repos/o/r/environments/local"] = 403
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == set(), r.stdout[-3000:]
    assert r.outcomes["test_environment_reviewers[local]"] == "skipped"
    assert '"Actions: Read-only"' in r.records["test_environment_reviewers[local]"]["message"]


def test_cicd05_lock_faults(suite, repo_copy, fake):
    edit(repo_copy / WF, "concurrency:\n  group: terraform-local\n  cancel-in-progress: false\n", "")
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), faults="CICD-05",
                  tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {"test_lock_not_stale[terraform-state-lock-local]", "test_apply_concurrency[deploy-local.yml]"}, \
        r.stdout[-3000:]
    rec = r.records["test_lock_not_stale[terraform-state-lock-local]"]
    assert "Who=runner@github-actions" in rec["message"] and "OperationTypeApply" in rec["message"]
    assert "terraform force-unlock " in rec["message"] and "terraform force-unlock <" not in rec["remediation"]


def test_cicd06_general_faults(suite, repo_copy, fake, tmp_path):
    toml = (Path(__file__).resolve().parent.parent / "environments.toml").read_text()
    envs = tmp_path / "environments.toml"
    envs.write_text(toml.replace('release_tag = ""', 'release_tag = "deploy-local-20990101-000000"'))
    edit(repo_copy / WF, "  AWS_REGION: af-south-1", "  AWS_REGION: eu-west-1")
    fake.state["runs"].append(run(300, "deploy-local.yml", conclusion="failure",
                                  created=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    r = suite.run("-m", "cicd", "--infra-repo", str(repo_copy), "--environments", str(envs),
                  tests=CICD_TESTS, environ=gh_env(fake))
    assert bad(r) == {"test_deploy_region[deploy-local.yml]", "test_last_deploy_succeeded[deploy-local.yml]",
                      "test_release_tag[deploy-local.yml]"}, r.stdout[-3000:]
    assert "'eu-west-1'" in r.records["test_deploy_region[deploy-local.yml]"]["message"]
    assert "failure" in r.records["test_last_deploy_succeeded[deploy-local.yml]"]["message"]
