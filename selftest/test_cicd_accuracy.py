"""Issue 24, CI/CD and static review: each missed defect class as a rule (a positive and a negative case, with
file:line, job and step), and each false alarm on a correct pattern, on small hand-written repos (no AWS)."""

from __future__ import annotations

import re

import pytest

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd import views
from checks.areas.cicd.fixtures import params
from checks.areas.cicd.model import Repo, parse
from checks.areas.cicd.rules import (
    approval,
    backend,
    cli_version,
    committed,
    concurrency,
    credentials,
    env_files,
    expressions,
    failures,
    isolation,
    oidc,
    paths,
    region,
    reviewed_plan,
)
from checks.areas.cicd.schema import schema_errors
from checks.areas.static import views as static_views
from checks.core import config
from checks.core.hcl import parse as parse_hcl
from checks.core.outcome import Missing
from checks.core.snapshot import Observation, Snapshot
from checks.evidence.sarif import _rule

W = ".github/workflows"
SHA = "@" + "a" * 40


@pytest.fixture(scope="module")
def envs() -> dict[str, config.Env]:
    return config.load()


def infra(files: dict[str, str], env: config.Env, **meta) -> views.InfraRepo:
    """The InfraRepo view of a repo given as {path: text}, recorded the way the collector records it."""
    meta = {"cicd_listing": {"bound": False}, **meta}  # a foreign repo under --env local: the env-free checks
    snap = Snapshot({"collected_at": "2025-06-01T12:00:00+00:00", "infra_repo": "/repo", **meta})
    snap.add(Observation("file", "", "List", {"path": "."}, "t", response={"files": sorted(files),
                                                                          "tree": sorted(files)}))
    for rel, text in files.items():
        snap.add(Observation("file", "", "Read", {"path": rel}, "t", response={"text": text}))
    return views.InfraRepo(snap, env)


def wfs(files: dict[str, str]) -> tuple[list, Repo]:
    got = [parse(p, t) for p, t in files.items() if p.startswith(W)]
    return got, Repo(got)


def roots(files: dict[str, str]) -> dict[str, tfm.Root]:
    out: dict[str, tfm.Root] = {}
    for rel, text in files.items():
        if rel.endswith(".tf"):
            d = rel.rsplit("/", 1)[0] if "/" in rel else "."
            out.setdefault(d, tfm.Root(d)).files[rel] = tfm.parse_hcl(rel, text)[0]
    return out


def where(findings) -> list[str]:
    return sorted(f.where() for f in findings)


BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "st"\n    key    = "app/terraform.tfstate"\n' \
          '    region = "eu-west-1"\n    use_lockfile = true\n    encrypt = true\n  }\n}\n'


def job(steps: str, extra: str = "", name: str = "deploy") -> str:
    return f"  {name}:\n    runs-on: ubuntu-latest\n{extra}    steps:\n{steps}"


# ---------------------------------------------------------------- long-lived keys

@pytest.mark.parametrize("text,at", [
    ("on: push\nenv:\n  AWS_ACCESS_KEY_ID: ${{ secrets.KEY }}\n  AWS_SECRET_ACCESS_KEY: ${{ secrets.SECRET }}\n"
     "jobs:\n" + job("      - run: aws s3 ls\n"), "w.yml:3 env.AWS_ACCESS_KEY_ID"),
    ("on: push\njobs:\n" + job(f"      - uses: aws-actions/configure-aws-credentials{SHA}\n        with:\n"
                                "          aws-access-key-id: ${{ secrets.ID }}\n"
                                "          aws-secret-access-key: ${{ secrets.S }}\n"),
     "w.yml:8 jobs.deploy.steps[0].with.aws-access-key-id"),
    ("on: push\njobs:\n" + job('      - run: echo "AWS_ACCESS_KEY_ID=${{ secrets.ID }}" >> "$GITHUB_ENV"\n'),
     "w.yml:6 jobs.deploy.steps[0].run"),
    ("on: push\njobs:\n  call:\n    uses: o/r/.github/workflows/tf.yml@v1\n    secrets:\n"
     "      aws_access_key_id: ${{ secrets.ID }}\n", "w.yml:6 jobs.call.secrets.aws_access_key_id"),
])
def test_long_lived_keys_are_found_with_job_and_step(text, at):
    found = credentials.long_lived_keys(parse("w.yml", text))
    assert [f.where() for f in found] == [at]
    assert "OIDC" in found[0].message and "role-to-assume" in found[0].fix


def test_oidc_and_temporary_credentials_are_not_long_lived_keys():
    text = ("on: push\npermissions: {id-token: write}\njobs:\n" + job(
        f"      - id: creds\n        uses: aws-actions/configure-aws-credentials{SHA}\n"
        "        with: {role-to-assume: arn:aws:iam::1:role/x, aws-region: eu-west-1, output-credentials: true}\n"
        "      - run: ./deploy.sh\n        env:\n"
        "          AWS_ACCESS_KEY_ID: ${{ steps.creds.outputs.aws-access-key-id }}\n"))
    assert credentials.long_lived_keys(parse("w.yml", text)) == []
    local = "on: push\nenv: {AWS_ACCESS_KEY_ID: test, AWS_SECRET_ACCESS_KEY: test}\njobs:\n" + job("      - run: x\n")
    assert credentials.long_lived_keys(parse("w.yml", local)) == []  # LocalStack's placeholders
    leaked = local.replace("AWS_ACCESS_KEY_ID: test", "AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE")
    assert [f.location for f in credentials.long_lived_keys(parse("w.yml", leaked))] == ["env.AWS_ACCESS_KEY_ID"]


def test_terraform_created_ci_user_and_access_key_are_found():
    files = {"iam/main.tf": 'resource "aws_iam_user" "ci" {\n  name = "gha-terraform"\n}\n'
             'resource "aws_iam_access_key" "ci" {\n  user = aws_iam_user.ci.name\n}\n'
             'resource "aws_iam_user" "alice" {\n  name = "alice"\n}\n'}
    found = credentials.ci_access_keys(roots(files)["iam"], files)
    assert where(found) == ["iam/main.tf:1 aws_iam_user.ci", "iam/main.tf:4 aws_iam_access_key.ci"]
    ok = {"iam/main.tf": 'resource "aws_iam_role" "ci" {\n  name = "gha-terraform"\n  assume_role_policy = "{}"\n}\n'}
    assert credentials.ci_access_keys(roots(ok)["iam"], ok) == []


# ---------------------------------------------------------------- id-token along a workflow_call chain

CALLEE = ("on: {workflow_call: {}}\npermissions: {id-token: write, contents: read}\njobs:\n" + job(
    f"      - uses: aws-actions/configure-aws-credentials{SHA}\n        with: {{role-to-assume: r, aws-region: x}}\n"))


@pytest.mark.parametrize("calling", [
    "on: push\njobs:\n  go:\n    uses: ./.github/workflows/tf.yml\n",  # no permissions anywhere: the default token
    "on: push\npermissions: {contents: read}\njobs:\n  go:\n    uses: ./.github/workflows/tf.yml\n",
    "on: push\njobs:\n  go:\n    uses: ./.github/workflows/mid.yml\n",  # two calls deep
])
def test_a_caller_that_does_not_grant_id_token_is_found(calling):
    mid = "on: {workflow_call: {}}\npermissions: {id-token: write}\njobs:\n  x:\n    uses: ./.github/workflows/tf.yml\n"
    got, repo = wfs({f"{W}/tf.yml": CALLEE, f"{W}/mid.yml": mid, f"{W}/main.yml": calling})
    found = oidc.id_token(repo.by_path[f"{W}/main.yml"], repo)
    assert [(f.location, f.rule) for f in found] == [("jobs.go", "id-token")]
    assert "can only keep or reduce" in found[0].message and "id-token: write" in found[0].fix


def test_a_caller_that_grants_id_token_is_fine():
    caller = "on: push\njobs:\n  go:\n    permissions: {id-token: write}\n    uses: ./.github/workflows/tf.yml\n"
    got, repo = wfs({f"{W}/tf.yml": CALLEE, f"{W}/main.yml": caller})
    assert oidc.id_token(repo.by_path[f"{W}/main.yml"], repo) == []


# ---------------------------------------------------------------- backend completed by -backend-config

def init(flags: str) -> str:
    return "on: push\njobs:\n" + job(f"      - run: terraform init {flags}\n        working-directory: infra\n")


def test_backend_config_flags_are_checked_like_a_literal_backend():
    root = tfm.Root("infra", {"infra/versions.tf": {"terraform": [{"backend": [{"s3": {}}]}]}})
    # a run-time bucket used to hide the whole backend from the check
    w = parse(f"{W}/w.yml", init('-backend-config="bucket=${{ vars.B }}" -backend-config="key=a.tfstate"'))
    found = backend.backend(root, backend.init_sources([w], "infra"), {}, mine={"w.yml"})
    assert {f.fix.split('"')[1] for f in found} == {"use_lockfile=true", "encrypt=true"}
    assert all(f.where() == f"{W}/w.yml:6 jobs.deploy.steps[0].run" for f in found)  # the init step
    good = parse(f"{W}/w.yml", init('-backend-config="bucket=${{ vars.B }}" -backend-config="key=a.tfstate" '
                                    '-backend-config="use_lockfile=true" -backend-config="encrypt=true"'))
    assert backend.backend(root, backend.init_sources([good], "infra"), {}, mine={"w.yml"}) == []


def test_a_literal_backend_without_encrypt_names_its_line():
    files = {"app/backend.tf": BACKEND.replace("    encrypt = true\n", "")}
    found = backend.backend(roots(files)["app"], [], {}, mine=set(), texts=files)
    assert [(f.where(), f.fix) for f in found] == [("app/backend.tf:2 encrypt", "encrypt = true in the backend block")]


# ---------------------------------------------------------------- state isolation

def plan_apply(var_file: str, init_flags: str = "", extra: str = "", on: str = "push") -> str:
    return (f"on: {on}\njobs:\n" + job(f"      - run: terraform init {init_flags}\n"
                                        f"      - run: terraform plan -var-file={var_file} -out=p\n"
                                        "      - run: terraform apply p\n",
                                        extra + "    defaults: {run: {working-directory: app}}\n"))


def test_one_state_for_several_envs_is_found():
    files = {"app/backend.tf": BACKEND, f"{W}/w.yml": plan_apply(
        "envs/${{ matrix.env }}.tfvars", extra="    strategy: {matrix: {env: [dev, prod]}}\n")}
    got, repo = wfs(files)
    found = isolation.shared_state(roots(files), got, {}, files, repo)
    assert [(f.rule, f.where()) for f in found] == [("state-isolation", f"{W}/w.yml:9 jobs.deploy.steps[1].run")]
    assert "app/envs/dev.tfvars, app/envs/prod.tfvars" in found[0].message and "s3://st/app/" in found[0].message


@pytest.mark.parametrize("flags,extra", [
    ('-backend-config="key=app/${{ matrix.env }}.tfstate"', ""),  # the key follows the env
    ("", "    env: {TF_WORKSPACE: '${{ matrix.env }}'}\n"),  # a workspace per env
])
def test_a_state_per_env_is_fine(flags, extra):
    files = {"app/backend.tf": BACKEND, f"{W}/w.yml": plan_apply(
        "envs/${{ matrix.env }}.tfvars", flags, extra + "    strategy: {matrix: {env: [dev, prod]}}\n")}
    got, repo = wfs(files)
    assert isolation.shared_state(roots(files), got, {}, files, repo) == []


def test_two_roots_on_one_state_are_found():
    files = {"a/backend.tf": BACKEND, "b/backend.tf": BACKEND}
    found = isolation.shared_state(roots(files), [], {}, files)
    assert [f.where() for f in found] == ["b/backend.tf:4 key"] and "roots a, b" in found[0].message
    files["b/backend.tf"] = BACKEND.replace("app/terraform", "b/terraform")
    assert isolation.shared_state(roots(files), [], {}, files) == []


# ---------------------------------------------------------------- Terraform CLI version

def setup(version: str) -> str:
    line = f"        with: {{terraform_version: '{version}'}}\n" if version else ""
    return ("on: push\njobs:\n" + job(f"      - uses: hashicorp/setup-terraform{SHA}\n{line}"
                                       "      - run: terraform init\n        working-directory: app\n"))


@pytest.mark.parametrize("version,rv,rule", [
    ("1.9.8", ">= 1.5", "cli-version"),     # use_lockfile needs 1.10, and required_version lets 1.9.8 through
    ("1.5.7", ">= 1.10", "cli-version"),    # required_version refuses the pinned CLI
    ("", ">= 1.10", "cli-unpinned"),        # latest Terraform, no upper bound
    ("latest", "", "cli-unpinned"),
])
def test_the_installed_terraform_against_the_root(version, rv, rule):
    files = {"app/backend.tf": BACKEND.replace("terraform {\n", f'terraform {{\n  required_version = "{rv}"\n'
                                               if rv else "terraform {\n"), f"{W}/w.yml": setup(version)}
    got, repo = wfs(files)
    found = cli_version.cli_version(got[0], roots(files), {}, repo)
    assert {f.rule for f in found} == {rule} and all(f.location.startswith("jobs.deploy.steps[0]") for f in found)


@pytest.mark.parametrize("version,rv", [("1.10.5", ">= 1.10"), ("", "~> 1.10.0"), ("${{ inputs.tf }}", ">= 1.5")])
def test_a_terraform_that_reads_the_root_is_fine(version, rv):
    files = {"app/backend.tf": BACKEND.replace("terraform {\n", f'terraform {{\n  required_version = "{rv}"\n'),
             f"{W}/w.yml": setup(version)}
    got, repo = wfs(files)
    assert cli_version.cli_version(got[0], roots(files), {}, repo) == []


# ---------------------------------------------------------------- another env's var file; two workflows, one push

@pytest.mark.parametrize("on,extra", [
    ("{push: {branches: [develop]}}", ""),
    ("{push: {branches: [main]}}", "    environment: development\n"),
])
def test_another_envs_var_file_is_found(on, extra):
    w = parse(f"{W}/w.yml", plan_apply("envs/prod.tfvars", on=on, extra=extra))
    found = env_files.wrong_var_files(w)
    assert [(f.check, f.where()) for f in found] == [("CICD-06", f"{W}/w.yml:{9 if extra else 8} "
                                                                 "jobs.deploy.steps[1].run")]
    assert "(env prod)" in found[0].message and "deploys env dev" in found[0].message


@pytest.mark.parametrize("on,vf", [("{push: {branches: [main]}}", "envs/prod.tfvars"),
                                   ("{push: {branches: [develop]}}", "envs/dev/main.tfvars"),
                                   ("pull_request", "envs/prod.tfvars")])
def test_the_envs_own_var_file_is_fine(on, vf):
    assert env_files.wrong_var_files(parse(f"{W}/w.yml", plan_apply(vf, on=on))) == []


def test_two_workflows_applying_one_state_on_one_push_are_found():
    one = plan_apply("envs/prod.tfvars", on="{push: {branches: [main]}}")
    files = {"app/backend.tf": BACKEND, f"{W}/a.yml": one, f"{W}/b.yml": one}
    got, repo = wfs(files)
    tree = paths.Tree(files)
    found = isolation.same_push(got[0], repo, roots(files), {}, tree)
    assert [(f.check, f.location) for f in found] == [("CICD-05", "jobs.deploy")] and "b.yml" in found[0].message
    files[f"{W}/b.yml"] = one.replace("[main]", "[release]")
    got, repo = wfs(files)
    assert isolation.same_push(got[0], repo, roots(files), {}, tree) == []
    files[f"{W}/b.yml"] = one.replace("jobs:\n", "concurrency: {group: app-state}\njobs:\n")
    files[f"{W}/a.yml"] = files[f"{W}/b.yml"]
    got, repo = wfs(files)
    assert isolation.same_push(got[0], repo, roots(files), {}, tree) == []  # one group: they queue


# ---------------------------------------------------------------- required variables, empty var files

VARS = 'variable "env" {\n  type = string\n}\nvariable "owner" {\n  type = string\n}\n'


def vars_repo(wf: str, **more: str) -> dict[str, str]:
    return {"app/backend.tf": BACKEND, "app/variables.tf": VARS, "app/envs/prod.tfvars": 'env = "prod"\n',
            f"{W}/w.yml": wf, **more}


def test_a_plan_without_a_required_variable_is_found(envs):
    view = views.TerraformRoot(infra(vars_repo(plan_apply("envs/prod.tfvars")), envs["local"]), "app")
    found = view.variables()
    assert [f.where() for f in found] == [f"{W}/w.yml:8 jobs.deploy.steps[1].run"]
    assert "var.owner" in found[0].message and "TF_VAR_owner" in found[0].fix


@pytest.mark.parametrize("wf", [
    plan_apply("envs/prod.tfvars").replace("terraform plan", "terraform plan -var owner=me"),
    plan_apply("envs/prod.tfvars", extra="    env: {TF_VAR_owner: team}\n"),
    plan_apply("envs/prod.tfvars").replace("      - run: terraform init",
                                           '      - run: echo "TF_VAR_owner=x" >> "$GITHUB_ENV"\n'
                                           "      - run: terraform init"),
])
def test_a_variable_from_var_env_or_github_env_is_supplied(envs, wf):
    assert views.TerraformRoot(infra(vars_repo(wf), envs["local"]), "app").variables() == []


def test_a_missing_var_file_and_an_empty_one_are_found(envs):
    files = vars_repo(plan_apply("envs/${{ matrix.e }}.tfvars", extra="    strategy: {matrix: {e: [uat, dev]}}\n"),
                      **{"app/envs/dev.tfvars": "# to do\n"})
    found = views.TerraformRoot(infra(files, envs["local"]), "app").variables()
    msgs = " | ".join(f"{f.where()} {f.message}" for f in found)
    assert "app/envs/uat.tfvars, which is not in the repo" in msgs and "app/envs/dev.tfvars:1" in msgs
    assert "sets no variable" in msgs


# ---------------------------------------------------------------- invalid workflows, cancel-in-progress, -lock

def test_a_workflow_without_on_says_what_it_would_have_done_and_is_still_judged():
    w = parse(f"{W}/w.yml", "# on: push\njobs:\n" + job("      - run: terraform apply -auto-approve\n"
                                                        "      - run: echo ${{ github.event.inputs.x }}\n"))
    found = schema_errors(w)
    assert [f.message for f in found] == ["no `on:` trigger: GitHub never runs this workflow; it would have: run "
                                          "terraform apply in job deploy"]
    assert [f.rule for f in expressions.injection(w)] == ["injection"]


def test_cancel_in_progress_through_two_called_workflows_is_found():
    leaf = "on: {workflow_call: {}}\njobs:\n" + job("      - run: terraform apply p\n")
    mid = "on: {workflow_call: {}}\njobs:\n  m:\n    uses: ./.github/workflows/leaf.yml\n"
    top = ("on: push\nconcurrency: {group: g, cancel-in-progress: true}\njobs:\n"
           "  t:\n    uses: ./.github/workflows/mid.yml\n")
    got, repo = wfs({f"{W}/leaf.yml": leaf, f"{W}/mid.yml": mid, f"{W}/top.yml": top})
    found = concurrency.concurrency(repo.by_path[f"{W}/top.yml"], repo)
    assert [f.location for f in found] == ["concurrency"] and "calls mid.yml" in found[0].message
    pr_only = top.replace("cancel-in-progress: true", "cancel-in-progress: ${{ github.event_name == 'pull_request' }}")
    got, repo = wfs({f"{W}/leaf.yml": leaf, f"{W}/mid.yml": mid, f"{W}/top.yml": pr_only})
    assert concurrency.concurrency(repo.by_path[f"{W}/top.yml"], repo) == []


def test_apply_with_the_lock_off_is_found():
    w = parse(f"{W}/w.yml", "on: push\njobs:\n" + job("      - run: terraform plan -lock=false -out=p\n"
                                                      "      - run: terraform apply -lock=false p\n"))
    assert [f.location for f in concurrency.lock_disabled(w)] == ["jobs.deploy.steps[1].run"]


# ---------------------------------------------------------------- committed state and plans

def test_committed_state_and_plan_files_are_found():
    tree = ["app/main.tf", "app/terraform.tfstate", "app/terraform.tfstate.backup", "app/tfplan", "plans/x.tfplan",
            "local/terraform.tfstate", "docs/plan.md"]
    found = committed.committed(tree, {".gitignore": "local/\n"})
    assert sorted(f.path for f in found) == ["app/terraform.tfstate", "app/terraform.tfstate.backup", "app/tfplan",
                                             "plans/x.tfplan"]
    assert committed.committed(["app/main.tf", "docs/plan.md"], {}) == []


# ---------------------------------------------------------------- false alarms that no longer happen

def test_a_tf_file_with_a_byte_order_mark_parses(envs):
    body, error = parse_hcl('\ufeffresource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    assert error is None and body == {"resource": [{"aws_s3_bucket": {"b": {"bucket": "x"}}}]}
    repo = infra({"app/main.tf": "\ufeff" + BACKEND + 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'},
                 envs["local"])
    assert views.TerraformRoot(repo, "app").parse_problems() == []
    model, _ = static_views.model_of(repo.snapshot, envs["prod"])  # the static checks of that root
    assert model.errors == [] and [(i.address, i.line) for i in model.instances("aws_s3_bucket")] == \
        [("aws_s3_bucket.b", 10)]


@pytest.mark.parametrize("name", ["pick", "flag", "count", "where"])
def test_typed_dispatch_inputs_are_not_script_injection(name):
    head = ("on:\n  workflow_dispatch:\n    inputs:\n      pick: {type: choice, options: [a, b]}\n"
            "      flag: {type: boolean}\n      count: {type: number}\n      where: {type: environment}\njobs:\n")
    w = parse(f"{W}/w.yml", head + job(f"      - run: echo ${{{{ github.event.inputs.{name} }}}}\n"))
    assert expressions.injection(w) == []


def test_hashfiles_expressions_are_evaluated_or_left_unjudged():
    tree = paths.Tree(["infra/dev/a.tf", "infra/prod/a.tf"])
    for key, missing in [("format('infra/{0}/*.tf', matrix.env)", []),
                         ("format('infra/{0}/*.tf', env.DIR)", []),           # unknown: not judged
                         ("format('infra/{0}/*.lock', matrix.env)", ["infra/dev/*.lock", "infra/prod/*.lock"])]:
        w = parse(f"{W}/w.yml", "on: push\njobs:\n" + job(
            f"      - uses: actions/cache{SHA}\n        with: {{path: x, key: \"${{{{ hashFiles({key}) }}}}\"}}\n",
            "    strategy: {matrix: {env: [dev, prod]}}\n"))
        got = paths.missing_paths(w, tree)
        assert sorted(re.findall(r"'([^']+)' does not exist", " ".join(f.message for f in got))) == missing, key


def test_download_by_pattern_and_other_artifacts_are_not_a_plan_hand_off_mismatch():
    text = ("on: push\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: terraform plan -out=p\n"
            f"      - uses: actions/upload-artifact{SHA}\n        with: {{name: plan-prod, path: p}}\n"
            "  build:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - uses: actions/upload-artifact{SHA}\n        with: {{name: lambda-zip, path: d}}\n"
            "  apply:\n    needs: [plan, build]\n    runs-on: ubuntu-latest\n    environment: prod\n    steps:\n"
            f"      - uses: actions/download-artifact{SHA}\n        with: {{pattern: plan-*}}\n"
            "      - run: terraform apply p\n")
    assert reviewed_plan.reviewed_plan(parse(f"{W}/w.yml", text)) == []
    wrong = text.replace("pattern: plan-*", "pattern: docs-*")
    assert "none of them is fetched" in str(reviewed_plan.reviewed_plan(parse(f"{W}/w.yml", wrong)))


def test_a_fresh_plan_without_approval_does_not_claim_one():
    found = reviewed_plan.reviewed_plan(parse(f"{W}/w.yml", "on: push\njobs:\n" + job(
        "      - run: terraform plan\n      - run: terraform apply -auto-approve\n")))
    assert found and all("after approval" not in f.message for f in found)
    assert "with no approval before it" in found[0].message


def test_a_lock_file_is_required_per_root_module_only(envs):
    files = {"app/backend.tf": BACKEND, "app/main.tf": 'module "t" {\n  source = "../modules/t"\n}\n',
             "app/.terraform.lock.hcl": "", "modules/t/main.tf": 'resource "aws_s3_bucket" "b" {}\n'}
    repo = infra(files, envs["local"])
    assert views.TerraformRoot(repo, "modules/t").lock_file() == []
    del files["app/.terraform.lock.hcl"]
    assert views.TerraformRoot(infra(files, envs["local"]), "app").lock_file()


def test_attribute_blocks_with_a_variable_key_are_not_undeclared():
    body = tfm.parse_hcl("t.tf", 'resource "aws_dynamodb_table" "t" {\n  hash_key = "PK"\n  range_key = var.sk\n'
                                 '  attribute {\n    name = "PK"\n    type = "S"\n  }\n'
                                 '  attribute {\n    name = "SK"\n    type = "S"\n  }\n}\n')[0]
    assert tfm.gsi_attributes(tfm.Root(".", {"t.tf": body})) == []


def test_the_region_of_a_called_workflow_is_the_callers():
    callee = ("on:\n  workflow_call:\n    inputs: {region: {type: string}}\njobs:\n" + job(
        f"      - uses: aws-actions/configure-aws-credentials{SHA}\n"
        "        with: {role-to-assume: r, aws-region: '${{ inputs.region }}'}\n"))
    for given, found in (("af-south-1", []), ("eu-west-1", [f"{W}/main.yml:5 jobs.go.with.region"])):
        caller = f"on: push\njobs:\n  go:\n    uses: ./.github/workflows/tf.yml\n    with: {{region: {given}}}\n"
        got, repo = wfs({f"{W}/tf.yml": callee, f"{W}/main.yml": caller})
        assert where(region.region(repo.by_path[f"{W}/main.yml"], "af-south-1", repo)) == found
    remote = parse(f"{W}/r.yml", "on: push\njobs:\n  go:\n    uses: o/r/.github/workflows/tf.yml@v1\n")
    with pytest.raises(Missing, match="outside this repo"):
        region.region(remote, "af-south-1", Repo([remote]))


def test_local_env_on_a_foreign_repo_skips_env_bound_static_checks(envs):
    snap = Snapshot({"infra_repo": "/elsewhere"})
    snap.add(Observation("file", "", "List", {"path": "."}, "t", response={"files": [], "tree": ["main.tf"]}))
    assert "not its sample repo" in static_views.unbound(snap, envs["local"])
    assert static_views.unbound(snap, envs["prod"]) == ""  # a real env is always bound
    sample = Snapshot()
    sample.add(Observation("file", "", "List", {"path": "."}, "t",
                           response={"files": [], "tree": [f"{W}/{envs['local'].github.workflow}"]}))
    assert static_views.unbound(sample, envs["local"]) == ""


def test_a_prod_run_does_not_demand_other_envs_deploy_workflows(envs):
    got = {"workflows": ["deploy-prod.yml"], "apply_workflows": ["deploy-prod.yml"], "roots": ["infra"],
           "env_workflows": {"dev": "deploy-dev.yml", "sit": "deploy-sit.yml", "prod": "deploy-prod.yml"}}
    p = params(envs["prod"], got)
    assert p["expected_workflow"] == ["deploy-prod.yml"] and p["workflow"] == ["deploy-prod.yml"]


def test_sarif_rule_help_has_no_raw_placeholder():
    for check in ("CICD-01", "CICD-02", "CICD-03", "CICD-05", "CICD-06"):
        rule = _rule(check, "P1")
        text = rule["help"]["text"] + rule["fullDescription"]["text"]
        assert not re.search(r"\{[a-z_]+\}", text), (check, text)


# ---------------------------------------------------------------- what the real repositories showed

def test_apply_of_a_root_without_backend_is_local_state(envs):
    files = {"boot/main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
             f"{W}/w.yml": "on: push\njobs:\n" + job("      - run: terraform init && terraform apply -auto-approve\n"
                                                     "        working-directory: boot\n")}
    found = views.TerraformRoot(infra(files, envs["local"]), "boot").backend()
    assert [f.where() for f in found] == [f"{W}/w.yml:6 jobs.deploy.steps[0].run"] and "no backend" in found[0].message
    files["boot/main.tf"] += BACKEND
    assert views.TerraformRoot(infra(files, envs["local"]), "boot").backend() == []


def test_state_written_into_a_commit_is_found():
    bad = parse(f"{W}/w.yml", "on: push\njobs:\n" + job(
        "      - run: |\n          terraform show -json > state.json\n          git add state.json && git push\n"))
    assert [f.location for f in committed.published([bad])] == ["jobs.deploy.steps[0].run"]
    ok = parse(f"{W}/w.yml", "on: push\njobs:\n" + job("      - run: terraform output -json > out.json\n"))
    assert committed.published([ok]) == []


@pytest.mark.parametrize("cond,found", [("", ["apply-on-pr"]), ("github.event_name == 'push'", []),
                                        ("github.ref == 'refs/heads/main'", [])])
def test_apply_on_pull_request_is_found_unless_guarded(cond, found):
    extra = f"    if: {cond}\n" if cond else ""
    w = parse(f"{W}/w.yml", "on: [push, pull_request]\njobs:\n" + job("      - run: terraform apply -auto-approve\n",
                                                                       extra + "    environment: prod\n"))
    assert [f.rule for f in approval.applies_on_pull_request(w)] == found


def test_a_condition_no_trigger_satisfies_is_found():
    head = "on:\n  push:\n    branches: [stage]\n  pull_request:\njobs:\n"
    dead = parse(f"{W}/w.yml", head + job("      - run: terraform apply p\n        if: github.ref == 'refs/heads/main' "
                                          "&& github.event_name == 'push'\n"))
    assert [f.location for f in expressions.unreachable(dead)] == ["jobs.deploy.steps[0].if"]
    live = parse(f"{W}/w.yml", head.replace("[stage]", "[stage, main]") + job(
        "      - run: terraform apply p\n        if: github.ref == 'refs/heads/main' && github.event_name == 'push'\n"))
    assert expressions.unreachable(live) == []


def test_destroy_without_approval_is_found():
    w = parse(f"{W}/w.yml", "on: workflow_dispatch\njobs:\n" + job("      - run: terraform destroy -auto-approve\n"))
    assert "runs terraform destroy without an approval environment" in str(approval.approval(w))


def test_lock_off_inside_a_wrapped_command_is_found():
    w = parse(f"{W}/w.yml", "on: push\njobs:\n" + job(
        "      - run: ./retry.sh \"terraform destroy ${{ inputs.x && '-lock=false' || '' }} -auto-approve\"\n"))
    assert [f.rule for f in concurrency.lock_disabled(w)] == ["lock-disabled"]


def test_continue_on_error_whose_outcome_fails_the_job_is_not_hidden():
    steps = ("      - id: plan\n        run: terraform plan -input=false\n        continue-on-error: true\n"
             "      - if: steps.plan.outcome == 'failure'\n        run: exit 1\n")
    assert failures.hidden_failures(parse(f"{W}/w.yml", "on: push\njobs:\n" + job(steps))) == []
    unchecked = steps.replace("      - if: steps.plan.outcome == 'failure'\n        run: exit 1\n", "")
    assert failures.hidden_failures(parse(f"{W}/w.yml", "on: push\njobs:\n" + job(unchecked)))


def test_a_partial_backend_whose_init_is_not_visible_is_not_judged():
    root = tfm.Root("app", {"app/main.tf": {"terraform": [{"backend": [{"s3": {}}]}]}})
    assert backend.backend(root, [], {}, mine=set()) == []


def test_init_migrate_state_in_ci_is_found():
    root = tfm.Root("infra", {"infra/versions.tf": {"terraform": [{"backend": [{"remote": {}}]}]}})
    w = parse(f"{W}/w.yml", init("-migrate-state"))
    found = backend.backend(root, backend.init_sources([w], "infra"), {}, mine=set())
    assert [f.where() for f in found if "migrate" in f.message] == [f"{W}/w.yml:6 jobs.deploy.steps[0].run"]
    plain = backend.init_sources([parse(f"{W}/w.yml", init("-reconfigure"))], "infra")
    assert not [f for f in backend.backend(root, plain, {}, mine=set()) if "migrate" in f.message]
