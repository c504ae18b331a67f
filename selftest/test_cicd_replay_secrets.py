"""Replay purity and secret-free evidence for the CI/CD suite.

- A replay parametrizes from the replayed snapshot (the repo listing recorded at collection), not from
  the infra repo on disk: adding a workflow after the run changes nothing.
- The state body and the plan JSON are not stored verbatim: a planted access-key secret in the state and a
  sensitive output in the plan reach no bundle file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from checks.world.build import put_state, state_document

SAMPLE = Path(__file__).resolve().parent / "infra_repo"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDSECRET"  # the planted aws_iam_access_key secret
SENSITIVE = "hunter2-planted-sensitive-output"


def _bundle_texts(bundle: Path) -> dict[str, str]:
    return {str(p.relative_to(bundle)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(bundle.rglob("*")) if p.is_file()}


def test_replay_after_adding_a_workflow_gives_identical_results(suite, tmp_path):
    repo = tmp_path / "infra"
    shutil.copytree(SAMPLE, repo)
    live = suite.run("--infra-repo", str(repo), tests=("tests/cicd", "tests/pdv"))
    assert live.bundle is not None, live.stdout[-3000:]
    (repo / ".github/workflows/extra.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: terraform apply\n")
    (repo / "terraform/extra").mkdir()
    (repo / "terraform/extra/main.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = "x"\n}\n')
    replay = suite.run("--replay", str(live.bundle), env="", tests=("tests/cicd", "tests/pdv"))
    assert replay.bundle is not None, replay.stdout[-3000:]
    assert replay.results_json["results"] == live.results_json["results"]
    assert len(replay.results_json["results"]) == len(live.results_json["results"])
    assert not any("extra" in r["test"] for r in replay.results_json["results"])
    meta = json.loads((live.bundle / "snapshot.json").read_text())["meta"]
    assert meta["cicd_listing"]["workflows"] == sorted(
        p.name for p in (SAMPLE / ".github/workflows").glob("*.yml"))


class PlantSecret:
    """Adds an aws_iam_access_key with its secret to the world's Terraform state (and its digest)."""

    def pytest_bbws_world_ready(self, world):
        doc = state_document(world.env)
        doc["resources"].append({"mode": "managed", "type": "aws_iam_access_key", "name": "deployer",
                                 "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                                 "instances": [{"schema_version": 0, "attributes": {
                                     "id": "AKIAPLANTEDKEY000001", "user": "deployer", "secret": SECRET_KEY,
                                     "ses_smtp_password_v4": SECRET_KEY}, "sensitive_attributes": [["secret"]]}]})
        doc["outputs"] = {"deployer_secret": {"value": SECRET_KEY, "type": "string", "sensitive": True}}
        put_state(world, doc)


def test_state_and_plan_secrets_reach_no_bundle_file(suite, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({
        "format_version": "1.2", "terraform_version": "1.11.4", "errored": False, "complete": True,
        "planned_values": {"outputs": {"db_password": {"sensitive": True, "value": SENSITIVE}}},
        "output_changes": {"db_password": {"actions": ["create"], "after": SENSITIVE, "after_sensitive": True}},
        "variables": {"token": {"value": SENSITIVE}},
        "resource_changes": [{"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table",
                              "mode": "managed", "name": "tenants", "change": {
                                  "actions": ["delete", "create"], "after": {"secret": SENSITIVE},
                                  "before": {"secret": SECRET_KEY}}}]}))
    r = suite.run("-m", "cicd", "--infra-repo", str(SAMPLE), "--plan-json", str(plan), tests=("tests/cicd",),
                  plugins=[PlantSecret()])
    assert r.bundle is not None, r.stdout[-3000:]
    # the checks still judge what they need: the replace, the digest, the resources in state
    assert r.outcomes["test_plan_no_stateful_destroy[plan.json]"] == "failed"
    assert r.outcomes["test_state_digest[2_1_bbws_dynamodb_schemas/terraform.tfstate]"] == "passed"
    assert r.outcomes["test_state_resources_live[2_1_bbws_dynamodb_schemas/terraform.tfstate]"] == "passed"
    texts = _bundle_texts(r.bundle)
    assert texts and "snapshot.json" in texts
    leaks = {name for name, text in texts.items() if SECRET_KEY in text or SENSITIVE in text}
    assert leaks == set()
    snap = json.loads(texts["snapshot.json"])
    kept = [o for o in snap["observations"] if o["operation"] == "GetObject" and
            o["params"].get("Key", "").endswith(".tfstate") and o.get("response")]
    assert kept and all(set(o["response"]["Body"]) == {"terraform_state"} for o in kept)
    assert any(r_["type"] == "aws_iam_access_key" for o in kept
               for r_ in o["response"]["Body"]["terraform_state"]["state"]["resources"])
