"""Issue 23 (8): no secret of a hostile infra repo or state reaches the evidence.

The planted set (selftest/planted_secrets.py: hyphen, underscore and camel field names, PEM and
OpenSSH keys, session tokens, key ids in either case or cut short, an upper-case secret key) is
masked in raw, JSON-escaped and HTML-escaped text; a git checkout's ignored and untracked files are
never listed (so never read); a plan file that does not parse is kept as digest and size; state keeps
identity attributes of AWS resources only. The bundle end to end: selftest/test_safety_secrets.py.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from checks.areas.cicd import collector
from checks.areas.cicd.plan import parse as parse_plan
from checks.core.repo import repo_files, repo_tree
from checks.evidence import redact
from selftest.planted_secrets import NOT_SECRETS, PLANTED


@pytest.mark.parametrize("name, text, secret", PLANTED, ids=[p[0] for p in PLANTED])
def test_every_planted_secret_is_masked_in_every_form(name: str, text: str, secret: str) -> None:
    for form in (text, json.dumps(text), html.escape(json.dumps(text)), html.escape(text)):
        out = redact.text(form, [])
        assert secret not in out and json.dumps(secret)[1:-1] not in out, (name, out)


def test_look_alikes_stay_readable() -> None:
    for text in NOT_SECRETS:
        assert redact.text(text, []) == text


def test_what_a_cut_leaves_of_a_key_id_is_masked() -> None:
    cut = "denied for AKIAZZPLANTEDKEY0042"[:23] + "..."  # a message cut after 13 characters of the id
    assert "AKIAZZPLANTED" not in redact.text(cut, []) and redact.text(cut, []).endswith("***...")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args], check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")
def test_a_git_checkouts_ignored_and_untracked_files_are_never_listed(tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    (repo / "stack").mkdir(parents=True)
    (repo / "stack" / "main.tf").write_text('variable "db_password" {}\n')
    (repo / ".gitignore").write_text("*.auto.tfvars\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    (repo / "stack" / "local.auto.tfvars").write_text('db_password = "hunter2-but-longer"\n')  # ignored
    (repo / "stack" / "scratch.tf").write_text('locals { token = "not-committed-yet" }\n')  # untracked
    assert repo_files(repo, repo_tree(repo)) == [".gitignore", "stack/main.tf"]


def test_a_plan_that_does_not_parse_is_kept_as_digest_and_size_only() -> None:
    plan = json.dumps({"format_version": "1.2", "variables": {"db_password": {"value": "plan-var-secret-77"}},
                       "resource_changes": []})
    truncated = plan[:-20]
    kept = collector.minimal_plan(truncated)
    assert "plan-var-secret-77" not in kept and "db_password" not in kept
    assert json.loads(kept)["bytes"] == len(truncated)
    _, problems = parse_plan("plan.json", kept)
    assert [p.message for p in problems][0].startswith("is not a plan JSON: not valid JSON")


def test_state_keeps_identity_attributes_of_aws_resources_only() -> None:
    state = {"version": 4, "serial": 1, "lineage": "x", "resources": [
        {"mode": "managed", "type": "random_string", "name": "suffix", "instances": [
            {"attributes": {"id": "rand-result-secret-99", "result": "rand-result-secret-99"}}]},
        {"mode": "managed", "type": "aws_dynamodb_table", "name": "t", "instances": [
            {"attributes": {"id": "tenants", "name": "tenants", "arn": "arn:aws:dynamodb:x:1:table/tenants"}}]}]}
    _, keep = collector.minimal_state(json.dumps(state).encode())
    text = json.dumps(keep)
    assert "rand-result-secret-99" not in text
    table = keep["state"]["resources"][1]["instances"][0]["attributes"]
    assert table == {"name": "tenants", "id": "tenants", "arn": "arn:aws:dynamodb:x:1:table/tenants"}
