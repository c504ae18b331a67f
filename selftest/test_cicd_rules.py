"""Each CI/CD rule of issue 12 on small workflows and roots: a positive and a negative case, and each false
alarm the issue names; the GitHub client's origin rules; the minimal state and plan the collector keeps."""

from __future__ import annotations

import json

import pytest

from checks.areas.cicd import collector
from checks.areas.cicd import github as gh
from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.github_views import reviewer_problems
from checks.areas.cicd.model import Repo, parse
from checks.areas.cicd.rules import approval, backend, expressions, lockfile, oidc, paths, providers
from checks.areas.cicd.views import actionlint_note
from checks.core.outcome import Missing
from checks.core.snapshot import Snapshot

WF = ".github/workflows/w.yml"
HEAD = "on:\n  workflow_dispatch:\n    inputs:\n      flag: {type: boolean}\n      note: {type: string}\n" \
       "      pick: {type: choice, options: [a, b]}\njobs:\n"


def wf(jobs: str, head: str = HEAD):
    w = parse(WF, head + jobs)
    assert w.ok, w.problems
    return w


def job(steps: str, extra: str = "") -> str:
    return f"  j:\n    runs-on: ubuntu-latest\n{extra}    steps:\n{steps}"


# ----- expression types

def test_boolean_input_compared_as_string_context_is_found():
    found = expressions.boolean_inputs(wf(job("      - run: echo\n", "    if: github.event.inputs.flag == false\n")))
    assert [(f.rule, f.location, f.line) for f in found] == [("expression-type", "jobs.j.if", 10)]
    assert "inputs.flag == false" in found[0].fix


def test_typed_input_and_string_compare_are_fine():
    for cond in ("inputs.flag == false", "github.event.inputs.flag == 'false'", "${{ !inputs.flag }}",
                 "github.event.inputs.note == false"):  # note is a string input: not this rule's business
        assert expressions.boolean_inputs(wf(job("      - run: echo\n", f"    if: {cond}\n"))) == [], cond


def test_typed_boolean_compared_with_a_string_is_found():
    found = expressions.boolean_inputs(wf(job("      - run: echo\n", "    if: inputs.flag == 'true'\n")))
    assert [f.rule for f in found] == ["expression-type"]


def test_ref_compared_with_a_quoted_literal_is_found():
    bad = expressions.ref_literals(wf(job("      - run: echo\n", "    if: github.ref == 'refs/heads/\"master\"'\n")))
    assert [(f.rule, f.location) for f in bad] == [("expression-type", "jobs.j.if")]
    assert expressions.ref_literals(wf(job("      - run: echo\n", "    if: github.ref == 'refs/heads/master'\n"))) == []


# ----- script injection

@pytest.mark.parametrize("expr", ["github.event.inputs.note", "inputs.note", "github.head_ref",
                                  "github.event.pull_request.title", "github.event.issue.body"])
def test_free_text_in_run_is_injection(expr):
    found = expressions.injection(wf(job(f"      - run: echo ${{{{ {expr} }}}}\n")))
    assert [(f.rule, f.location) for f in found] == [("injection", "jobs.j.steps[0].run")]
    assert found[0].fix.startswith("move the input to env:")


@pytest.mark.parametrize("step", ["      - run: echo \"$NOTE\"\n        env:\n          NOTE: ${{ inputs.note }}\n",
                                  "      - run: echo ${{ inputs.flag }} ${{ inputs.pick }} ${{ github.sha }}\n"])
def test_env_and_typed_values_are_not_injection(step):
    assert expressions.injection(wf(job(step))) == []


# ----- missing paths

TREE = paths.Tree(["infra/main.tf", "scripts/ok.sh", "scripts/check.py", ".github/workflows/w.yml"])


def test_missing_paths_found():
    text = (job("      - run: ./scripts/nope.sh\n        working-directory: .\n"
                "      - run: terraform -chdir=infra2 plan\n"
                "      - run: python scripts/missing.py\n"
                "      - run: echo\n        working-directory: gone\n"
                "      - uses: actions/cache@v4\n        with: {key: \"${{ hashFiles('**/*.lock') }}\"}\n"))
    found = paths.missing_paths(wf(text), TREE)
    assert sorted(f.message.split(" does not")[0] for f in found) == sorted([
        "step 'run' runs script 'scripts/nope.sh'".replace("'run'", "'step 1'"),
        "step 'step 2' terraform -chdir 'infra2'", "step 'step 3' runs script 'scripts/missing.py'",
        "step 'step 4' working-directory 'gone'", "hashFiles pattern '**/*.lock'"])


def test_existing_paths_and_unknowable_ones_pass():
    text = (job("      - run: ./scripts/ok.sh && bash scripts/ok.sh\n"
                "      - run: terraform -chdir=infra plan\n      - run: python ../scripts/check.py\n"
                "        working-directory: infra\n"
                "      - run: ./${{ matrix.x }}.sh\n"
                "      - uses: actions/cache@v4\n        with: {key: \"${{ hashFiles('infra/*.tf') }}\"}\n"))
    assert paths.missing_paths(wf(text), TREE) == []
    foreign = job("      - uses: actions/checkout@v4\n        with: {repository: o/other}\n"
                  "      - run: ./scripts/elsewhere.sh\n")
    assert paths.missing_paths(wf(foreign), TREE) == []


def test_paths_filter_that_matches_nothing_is_found():
    head = "on:\n  push:\n    paths: ['infra/**', 'modules/**', '!docs/**']\njobs:\n"
    found = paths.missing_paths(wf(job("      - run: echo\n"), head), TREE)
    assert [(f.location, f.line) for f in found] == [("on.push.paths[1]", 3)]


# ----- approval: the <env>-approval job pattern; plan and apply in one job

APPLY = ("  plan:\n    runs-on: ubuntu-latest\n    steps: [{run: terraform plan -out=p}]\n"
         "  approve:\n    needs: plan\n    runs-on: ubuntu-latest\n    environment: {env}\n    steps: [{run: echo}]\n"
         "  apply:\n    needs: approve\n    runs-on: ubuntu-latest\n    steps: [{run: terraform apply p}]\n")


@pytest.mark.parametrize("name", ["prod-approval", "approve-prod", "prod"])
def test_approval_job_pattern_is_not_a_false_alarm(name):
    assert approval.approval(wf(APPLY.replace("{env}", name)), expected_environment="prod", env="prod") == []


def test_truly_different_approval_environment_names_the_config_key():
    found = approval.approval(wf(APPLY.replace("{env}", "release-gate")), expected_environment="prod", env="prod")
    assert [(f.rule, f.location) for f in found] == [("approval", "jobs.approve.environment")]
    assert "github.environment" in found[0].fix and "approve" in found[0].message


def test_plan_and_apply_in_one_gated_job_is_found():
    one = job("      - run: terraform plan -out=p\n      - run: terraform apply p\n", "    environment: prod\n")
    assert [f.rule for f in approval.approval(wf(one))] == ["plan-apply-same-job"]
    assert approval.approval(wf(APPLY.replace("{env}", "prod"))) == []


# ----- OIDC role in a differently named secret

def role(v: str) -> str:
    return job("      - uses: aws-actions/configure-aws-credentials@v4\n"
               f"        with: {{role-to-assume: '{v}', aws-region: eu-west-1}}\n",
               "    permissions: {id-token: write}\n")


@pytest.mark.parametrize("v", ["${{ secrets.AWS_ROLE_ARN }}", "${{ secrets.AWS_ROLE_PROD }}",
                               "${{ secrets.DEPLOY_ROLE }}", "arn:aws:iam::093646564004:role/deploy"])
def test_per_environment_secret_names_are_accepted(v):
    w = wf(role(v))
    assert oidc.id_token(w) == [] and oidc.role_secret(w, "prod", "093646564004", ["dev", "sit", "prod"]) == []


@pytest.mark.parametrize("v", ["${{ secrets.AWS_ROLE_DEV }}", "arn:aws:iam::536580886816:role/deploy"])
def test_another_envs_role_is_found(v):
    found = oidc.role_secret(wf(role(v)), "prod", "093646564004", ["dev", "sit", "prod"])
    assert [f.rule for f in found] == ["role-secret"]


# ----- backend from -backend-config flags

ROOT = tfm.Root("infra", {"infra/versions.tf": {"terraform": [{"backend": [{"s3": {}}]}]}})


def init(flags: str) -> str:
    return job(f"      - run: terraform init {flags}\n        working-directory: infra\n")


def test_backend_config_flags_are_locking_and_key():
    for flags in ('-backend-config="key=a.tfstate" -backend-config="use_lockfile=true" -backend-config=encrypt=true',
                  '-backend-config="key=${{ vars.KEY }}" -backend-config="dynamodb_table=${{ vars.T }}" '
                  '-backend-config="encrypt=${{ vars.E }}"',
                  "-backend-config=backend.hcl"):  # a file written at run time: not judged
        w = wf(init(flags))
        assert backend.backend(ROOT, backend.init_sources([w], "infra"), {}, mine={"w.yml"}) == [], flags


def test_no_key_and_no_locking_anywhere_is_found():
    w = wf(init('-backend-config="bucket=b"'))
    found = backend.backend(ROOT, backend.init_sources([w], "infra"), {}, mine={"w.yml"})
    assert [(f.path, f.location) for f in found] == [(WF, "jobs.j.steps[0].run")] * 3  # the init that completes it
    assert sorted(f.fix.split('"')[1].split("=")[0] for f in found) == ["encrypt", "key", "use_lockfile"]


# ----- provider constraints and the lock file

def versions(constraint: str, rv: str = ">= 1.6") -> tfm.Root:
    return tfm.Root("infra", {"infra/versions.tf": {"terraform": [{
        "required_version": rv, "backend": [{"s3": {}}],
        "required_providers": [{"aws": {"source": "hashicorp/aws", "version": constraint}}]}]},
        "infra/main.tf": {"resource": [{"aws_s3_bucket": {"b": {"bucket": "x"}}}]}})


def test_unbounded_provider_without_lock_is_found_and_config_keys_are_checked():
    assert [f.rule for f in providers.providers(versions(">= 5.0"), locked=False)] == ["provider-version"]
    assert providers.providers(versions(">= 5.0"), locked=True) == []
    assert providers.providers(versions("~> 5.0"), locked=False, required_version=">= 1.6",
                               aws_provider="~> 5.0") == []
    got = providers.providers(versions("~> 4.0", ">= 1.3"), locked=True, required_version=">= 1.6",
                              aws_provider="~> 5.0")
    assert [f.rule for f in got] == ["required-version", "provider-version"]
    assert "terraform.required_version" in got[0].message and "terraform.aws_provider" in got[1].message


def test_gitignored_lock_file_names_the_line():
    found = lockfile.lock_file("infra", ["infra/main.tf"], {".gitignore": ".terraform/\n.terraform.lock.hcl\n"})
    assert [(f.path, f.line) for f in found] == [(".gitignore", 2)]
    assert found[0].fix.startswith("delete line 2 of .gitignore")
    assert lockfile.lock_file("infra", ["infra/.terraform.lock.hcl"], {".gitignore": "*.hcl\n"}) == []
    plain = lockfile.lock_file("infra", [], {})
    assert plain[0].path == "infra/.terraform.lock.hcl" and "providers lock" in plain[0].fix


# ----- actionlint kinds -> severities

def test_actionlint_notes_are_deprecations_and_minor_shellcheck():
    assert actionlint_note({"kind": "action", "message": 'the runner of "actions/checkout@v2" action is too old '
                            "to run on GitHub Actions"})
    assert actionlint_note({"kind": "shellcheck", "message": "shellcheck reported issue in this script: "
                            "SC2086:info:1:6: Double quote"})
    assert not actionlint_note({"kind": "shellcheck", "message": "SC2154:warning:1:1: x is referenced"})
    assert not actionlint_note({"kind": "syntax-check", "message": "unexpected key"})
    assert not actionlint_note({"kind": "expression", "message": "property not defined"})


# ----- CICD-04 with a fine-grained token

def test_reviewers_without_the_list_skips_naming_the_permission():
    env = {"protection_rules": [{"type": "required_reviewers"}]}
    with pytest.raises(Missing, match='"Actions: Read-only"'):
        reviewer_problems(env, "prod", 3)
    ok = {"protection_rules": [{"type": "required_reviewers", "reviewers": [{}, {}, {}]}]}
    assert reviewer_problems(ok, "prod", 3) == []
    assert "2 required reviewer(s), expected 3" in reviewer_problems(
        {"protection_rules": [{"type": "required_reviewers", "reviewers": [{}, {}]}]}, "prod", 3)[0]


# ----- the GitHub client: the token goes only to the API origin

@pytest.mark.parametrize("base", ["http://api.github.com", "ftp://x", "file:///etc/passwd", "http://10.0.0.1"])
def test_token_never_goes_to_plain_http_or_other_schemes(base):
    obs = gh.GitHub(base, "t", Snapshot()).get("/repos/o/r/environments/x")
    assert obs.code == "BadURL" and "https" in obs.error["message"]


def test_link_to_another_origin_is_not_followed(monkeypatch):
    client = gh.GitHub("https://api.example.test", "t", Snapshot())
    calls = []

    def fake(url):
        calls.append(url)
        return {"workflow_runs": [{"id": 1}]}, "https://evil.example.test/steal?page=2"
    monkeypatch.setattr(client, "_request", fake)
    obs = client.get("/repos/o/r/actions/runs", paginate=True)
    assert calls == ["https://api.example.test/repos/o/r/actions/runs"]
    assert obs.code == "ForeignLink" and "https://evil.example.test/steal?page=2" in obs.error["message"]


def test_same_origin_links_are_followed(monkeypatch):
    client = gh.GitHub("https://api.example.test", "t", Snapshot())
    pages = iter([({"workflow_runs": [{"id": 1}]}, "https://api.example.test/x?page=2"),
                  ({"workflow_runs": [{"id": 2}]}, None)])
    monkeypatch.setattr(client, "_request", lambda url: next(pages))
    obs = client.get("/x", paginate=True)
    assert obs.ok and [r["id"] for r in obs.response["items"]] == [1, 2]


# ----- the collector keeps only what the checks need

def test_minimal_state_and_plan_drop_values():
    state = {"version": 4, "serial": 3, "lineage": "l", "outputs": {"s": {"value": "SECRET", "sensitive": True}},
             "resources": [{"mode": "managed", "type": "aws_iam_access_key", "name": "k",
                            "instances": [{"attributes": {"id": "AKIA1", "secret": "SECRET"}}]}]}
    data = json.dumps(state).encode()
    parsed, keep = collector.minimal_state(data)
    assert parsed == state and "SECRET" not in json.dumps(keep) and keep["state"]["serial"] == 3
    assert keep["md5"] == __import__("hashlib").md5(data).hexdigest()
    assert keep["state"]["resources"][0]["instances"][0]["attributes"] == {"id": "AKIA1"}
    plan = {"format_version": "1.2", "errored": False, "variables": {"t": {"value": "SECRET"}},
            "resource_changes": [{"address": "a.b", "type": "a", "change": {"actions": ["delete"], "before": {
                "p": "SECRET"}}}], "output_changes": {"o": {"after": "SECRET"}}}
    small = json.loads(collector.minimal_plan(json.dumps(plan)))
    assert "SECRET" not in json.dumps(small)
    assert small["resource_changes"] == [{"address": "a.b", "type": "a", "change": {"actions": ["delete"]}}]


def test_repo_calls_are_followed_for_concurrency():
    from checks.areas.cicd.rules.concurrency import concurrency
    callee = parse(".github/workflows/d.yml", "on: {workflow_call: {}}\nconcurrency: {group: g}\njobs:\n"
                   "  a:\n    runs-on: ubuntu-latest\n    steps: [{run: terraform apply p}]\n")
    caller = parse(".github/workflows/m.yml", "on: push\njobs:\n  c:\n    uses: ./.github/workflows/d.yml\n")
    assert concurrency(caller, Repo([caller, callee])) == [] and concurrency(callee, Repo([caller, callee])) == []
    bare = parse(".github/workflows/d.yml", "on: {workflow_call: {}}\njobs:\n"
                 "  a:\n    runs-on: ubuntu-latest\n    steps: [{run: terraform apply p}]\n")
    assert [f.location for f in concurrency(caller, Repo([caller, bare]))] == ["jobs.c"]
