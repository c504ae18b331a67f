"""The static checks (tests/static) on the sample infra repo and on broken copies of it.

`run_static` runs the real tests/static functions on a repo for an env, offline: the real static
collector records the files into a Snapshot, the real views and rules judge them. Each fault
test breaks one thing and asserts that exactly the expected check fails, with its catalog id,
resource, file:line and fix. Pytest-level runs (markers, gate, evidence) are in test_static_suite.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from checks.areas.static import collector
from checks.areas.static import views as v
from checks.areas.static.expr import Scope, evaluate
from checks.areas.static.model import build, find_tfvars
from checks.areas.static.values import Ref, Unresolved
from checks.areas.static.version_rules import within
from checks.core.collect import Context, Options, collect_all
from checks.core.config import load
from checks.core.outcome import Missing, Unverifiable
from checks.core.snapshot import Snapshot
from checks.core.tf_versions import has_upper_bound

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "selftest" / "infra_repo"
ENVS = load()
_FIXTURES = {"table_tf": v.TableTf, "backup_tf": v.BackupTf, "bucket_tf": v.BucketTf, "versions_tf": v.VersionsTf}


def _static_tests() -> list[tuple[str, Any, str]]:
    out = []
    for path in sorted((REPO / "tests" / "static").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"static_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        module_issue = [m.args[0] for m in getattr(mod, "pytestmark", []) if m.name == "issue"]
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("test_"):
                issue = [m.args[0] for m in getattr(fn, "pytestmark", []) if m.name == "issue"] + module_issue
                out.append((name, fn, issue[0]))
    return out


TESTS = _static_tests()


def snapshot_of(repo: Path, env) -> Snapshot:
    snap = Snapshot()
    aws = SimpleNamespace(calls=SimpleNamespace(sent=0, duplicates=lambda: 0))
    collect_all(Context(env, aws, snap, Options(infra_repo=repo)), [collector.collect])
    return snap


def run_static(repo: Path, env_name: str = "local", env=None) -> dict[str, tuple[str, str, str]]:
    """test id -> (outcome, catalog id, message) for every tests/static function and parameter."""
    env = env or ENVS[env_name]
    snap = snapshot_of(repo, env)
    v._CACHE.clear()
    out = {}
    for name, fn, issue in TESTS:
        args = list(inspect.signature(fn).parameters)
        combos: list[dict[str, Any]] = [{}]
        if "table_tf" in args:
            combos = [{"table_tf": t, **({"gsi_tf": g} if "gsi_tf" in args else {})}
                      for t in env.tables for g in (env.tables[t].gsis if "gsi_tf" in args else [""])]
        for arg, values in (("backup_tf", [env.backup.plan]), ("bucket_tf", [env.s3.bucket]),
                            ("versions_tf", ["terraform"])):
            if arg in args:
                combos = [{**c, arg: x} for c in combos for x in values]
        for combo in combos:
            tid = f"{name}[{'-'.join(str(x) for x in combo.values())}]"
            try:
                kwargs = {k: (_FIXTURES[k](snap, env, x) if k in _FIXTURES else x) for k, x in combo.items()}
                fn(**kwargs)
                out[tid] = ("passed", issue, "")
            except AssertionError as exc:
                out[tid] = ("failed", issue, str(exc))
            except (pytest.skip.Exception, Missing) as exc:
                out[tid] = ("skipped", issue, str(exc))
            except Unverifiable as exc:
                out[tid] = ("error", issue, exc.reason)
    return out


def failing(results: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    return {t: c for t, (o, c, _) in results.items() if o in ("failed", "error")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dst = tmp_path / "infra"
    shutil.copytree(SAMPLE, dst)
    return dst


def edit(repo: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    """Replace `old` (a regex) with `new` in one file; the fault must really change the file."""
    path = repo / rel
    text, n = re.subn(old, new, path.read_text(), count=count, flags=re.S | re.M)
    assert n, f"fault did not apply: {old!r} not in {rel}"
    path.write_text(text)


DDB = "terraform/dynamodb/main.tf"
S3 = "terraform/s3/main.tf"
BACKUP = "terraform/dynamodb/backup.tf"
REPL = "terraform/s3/replication.tf"


# the clean sample: zero static findings in every env it supports ------------------------------------------------

@pytest.mark.parametrize("env", ["dev", "sit", "prod", "local"])
def test_sample_repo_has_no_static_findings(env):
    results = run_static(SAMPLE, env)
    assert not failing(results), {t: results[t][2] for t in failing(results)}
    assert sum(o == "passed" for o, _, _ in results.values()) >= 40


def test_without_infra_repo_static_checks_skip():
    snap = Snapshot()
    collect_all(Context(ENVS["dev"], SimpleNamespace(calls=SimpleNamespace(sent=0, duplicates=lambda: 0)), snap,
                        Options()), [collector.collect])
    assert v.repo_texts(snap) is None
    with pytest.raises(Unverifiable, match="no infra repo"):
        v.TableTf(snap, ENVS["dev"], "tenants")


# one fault, exactly one check ------------------------------------------------------------------------------------

def _only(repo: Path, env: str, expected: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    results = run_static(repo, env)
    assert failing(results) == expected, {t: results[t][2] for t in failing(results)}
    return results


def test_ddb03_pitr_block_removed(repo):
    edit(repo, DDB, r"(resource \"aws_dynamodb_table\" \"tenants\".*?)"
         r"  point_in_time_recovery \{\n    enabled = true\n  \}\n",
         r"\1")
    r = _only(repo, "prod", {"test_pitr_declared[tenants]": "DDB-03"})
    msg = r["test_pitr_declared[tenants]"][2]
    assert "terraform/dynamodb/main.tf:15 aws_dynamodb_table.tenants" in msg
    assert "point_in_time_recovery { enabled = true }" in msg


def test_ddb03_pitr_disabled(repo):
    edit(repo, DDB, r"(resource \"aws_dynamodb_table\" \"products\".*?point_in_time_recovery \{\n    enabled = )true",
         r"\1false")
    r = _only(repo, "dev", {"test_pitr_declared[products]": "DDB-03"})
    assert "enabled = false" in r["test_pitr_declared[products]"][2]


def test_ddb01_table_missing(repo):
    edit(repo, DDB, r'name                        = "campaigns"', 'name                        = "campaign"')
    r = _only(repo, "sit", {"test_table_declared[campaigns]": "DDB-01"})
    for t in ("test_pitr_declared[campaigns]", "test_backup_selection_declared[campaigns-bbws-dynamodb-sit-daily]"):
        assert r[t][0] == "skipped"  # reported once, by test_table_declared
    assert "no aws_dynamodb_table named campaigns" in r["test_table_declared[campaigns]"][2]


def test_ddb01_wrong_range_key_type(repo):
    edit(repo, DDB, r'(resource "aws_dynamodb_table" "tenants".*?name = "SK"\n    type = )"S"', r'\1"N"')
    _only(repo, "dev", {"test_table_declared[tenants]": "DDB-01"})


def test_ddb02_gsi_projection_and_missing_index(repo):
    edit(repo, DDB, r'(name            = "EmailIndex"\n    hash_key        = "email"\n    projection_type = )"ALL"',
         r'\1"KEYS_ONLY"')
    edit(repo, DDB, r'name            = "CampaignProductIndex"', 'name            = "CampaignProductIdx"')
    r = _only(repo, "dev", {"test_gsi_declared[tenants-EmailIndex]": "DDB-02",
                            "test_gsi_declared[campaigns-CampaignProductIndex]": "DDB-02"})
    assert "projection_type is KEYS_ONLY" in r["test_gsi_declared[tenants-EmailIndex]"][2]


def test_pdv02_billing_stream_sse(repo):
    edit(repo, DDB, r'(resource "aws_dynamodb_table" "tenants".*?)  billing_mode                = "PAY_PER_REQUEST"\n',
         r"\1")
    edit(repo, DDB, r'(resource "aws_dynamodb_table" "products".*?stream_view_type            = )"NEW_AND_OLD_IMAGES"',
         r'\1"KEYS_ONLY"')
    edit(repo, DDB, r'(resource "aws_dynamodb_table" "campaigns".*?)'
         r"  server_side_encryption \{\n    enabled = true\n  \}\n",
         r"\1")
    r = _only(repo, "dev", {"test_billing_mode_declared[tenants]": "PDV-02", "test_stream_declared[products]": "PDV-02",
                            "test_sse_declared[campaigns]": "PDV-02"})
    assert "PROVISIONED (default)" in r["test_billing_mode_declared[tenants]"][2]
    assert "server_side_encryption { enabled = true }" in r["test_sse_declared[campaigns]"][2]


def test_pdv02_deletion_protection_from_tfvars(repo):
    edit(repo, "terraform/dynamodb/environments/prod.tfvars", r"deletion_protection = true",
         "deletion_protection = false")
    r = _only(repo, "prod", {f"test_deletion_protection_declared[{t}]": "PDV-02" for t in ENVS["prod"].tables})
    assert "deletion_protection_enabled = true" in r["test_deletion_protection_declared[tenants]"][2]
    assert run_static(repo, "dev")["test_deletion_protection_declared[tenants]"][0] == "skipped"  # not required


def test_ddb05_tag_dropped_from_tfvars(repo):
    edit(repo, "terraform/dynamodb/environments/prod.tfvars", r'  Owner       = "Tebogo"\n', "")
    r = _only(repo, "prod", {f"test_table_tags_declared[{t}]": "DDB-05" for t in ENVS["prod"].tables})
    assert "tag Owner is missing, expected 'Tebogo'" in r["test_table_tags_declared[tenants]"][2]


def test_ddb05_tags_on_the_resource_instead_of_default_tags_pass(repo):
    edit(repo, "terraform/s3/providers.tf", r"  default_tags \{\n    tags = local.tags\n  \}\n", "", count=2)
    results = _only(repo, "prod", {"test_bucket_tags_declared[bbws-templates-prod]": "DDB-05"})
    assert "tag Environment is missing" in results["test_bucket_tags_declared[bbws-templates-prod]"][2]
    edit(repo, S3, r"(  bucket        = local.bucket_name\n)", r"\1  tags          = local.tags\n")
    _only(repo, "prod", {})


def test_ddb04_selection_removed(repo):
    edit(repo, BACKUP, r'resource "aws_backup_selection" "tables" \{.*\n\}\n', "")
    r = _only(repo, "prod", {f"test_backup_selection_declared[{t}-bbws-dynamodb-prod-hourly]": "DDB-04"
                             for t in ENVS["prod"].tables})
    assert "no aws_backup_selection uses aws_backup_plan.tables" in next(iter(failing_msgs(r)))


def failing_msgs(results: dict[str, tuple[str, str, str]]) -> list[str]:
    return [m for o, _, m in results.values() if o in ("failed", "error")]


def test_ddb04_selection_misses_one_table(repo):
    edit(repo, BACKUP, r"    aws_dynamodb_table.products.arn,\n", "")
    _only(repo, "dev", {"test_backup_selection_declared[products-bbws-dynamodb-dev-daily]": "DDB-04"})


def test_ddb04_selection_by_tag_passes(repo):
    edit(repo, BACKUP, r"  resources = \[.*?\]\n",
         '  selection_tag {\n    type  = "STRINGEQUALS"\n    key   = "BackupPolicy"\n'
         "    value = var.backup_policy\n  }\n")
    _only(repo, "prod", {})


def test_ddb04_plan_schedule_retention_and_copy(repo):
    edit(repo, BACKUP, r"schedule          = .*?\n", 'schedule          = "cron(0 2 * * ? *)"\n')
    edit(repo, BACKUP, r"destination_vault_arn = aws_backup_vault.dr\[0\].arn",
         "destination_vault_arn = aws_backup_vault.tables.arn")
    r = _only(repo, "prod", {"test_backup_plan_declared[bbws-dynamodb-prod-hourly]": "DDB-04",
                             "test_backup_copy_declared[bbws-dynamodb-prod-hourly]": "DDB-04"})
    assert "copies to af-south-1, expected a vault in eu-west-1" in r[
        "test_backup_copy_declared[bbws-dynamodb-prod-hourly]"][2]
    assert run_static(repo, "dev")["test_backup_copy_declared[bbws-dynamodb-dev-daily]"][0] == "skipped"


def test_ddb04_no_tables_expected_no_backup_required(repo):
    dev = ENVS["dev"]
    env = dev.model_copy(update={"dynamodb": dev.dynamodb.model_copy(update={"tables": {}})})
    (repo / BACKUP).unlink()
    r = run_static(repo, env=env)
    assert not failing(r), failing(r)
    assert r["test_backup_vault_declared[bbws-dynamodb-dev-daily]"][0] == "skipped"


def test_ddb04_vault_and_plan_missing(repo):
    (repo / BACKUP).unlink()
    r = _only(repo, "dev", {"test_backup_vault_declared[bbws-dynamodb-dev-daily]": "DDB-04",
                            "test_backup_plan_declared[bbws-dynamodb-dev-daily]": "DDB-04"})
    assert r["test_backup_selection_declared[tenants-bbws-dynamodb-dev-daily]"][0] == "skipped"
    assert 'resource "aws_backup_vault"' in r["test_backup_vault_declared[bbws-dynamodb-dev-daily]"][2]


def test_s3_versioning_encryption_pab(repo):
    edit(repo, S3, r'status = "Enabled"\n  \}\n\}', 'status = "Suspended"\n  }\n}')
    edit(repo, S3, r'sse_algorithm = "AES256"', 'sse_algorithm = "aws:kms"')
    edit(repo, S3, r"  ignore_public_acls      = true\n", "")
    r = _only(repo, "sit", {"test_versioning_declared[bbws-templates-sit]": "S3-03",
                            "test_encryption_declared[bbws-templates-sit]": "S3-06",
                            "test_public_access_block_declared[bbws-templates-sit]": "S3-02"})
    assert "ignore_public_acls" in r["test_public_access_block_declared[bbws-templates-sit]"][2]
    assert "terraform/s3/main.tf:28 aws_s3_bucket_versioning.templates" in r[
        "test_versioning_declared[bbws-templates-sit]"][2]


def test_s3_policy_lifecycle_logging(repo):
    edit(repo, S3, r'Sid       = "DenyInsecureTransport"\n        Effect    = "Deny"',
         'Sid       = "TLS"\n        Effect    = "Allow"')
    edit(repo, S3, r'id     = "delete-old-versions"', 'id     = "expire"')
    edit(repo, "terraform/s3/environments/sit.tfvars", r'logging_bucket  = "bbws-logs-sit"', 'logging_bucket  = ""')
    _only(repo, "sit", {"test_policy_statements_declared[bbws-templates-sit]": "S3-02",
                        "test_policy_denies_insecure_transport_declared[bbws-templates-sit]": "S3-06",
                        "test_lifecycle_declared[bbws-templates-sit]": "S3-03",
                        "test_access_logging_declared[bbws-templates-sit]": "S3-02"})


def test_s3_lifecycle_days_from_tfvars(repo):
    edit(repo, "terraform/s3/environments/prod.tfvars", r"noncurrent_days = 90", "noncurrent_days = 30")
    r = _only(repo, "prod", {"test_lifecycle_declared[bbws-templates-prod]": "S3-03"})
    assert "noncurrent expiry 30 days, expected Enabled with 90" in r["test_lifecycle_declared[bbws-templates-prod]"][2]


def test_s3_bucket_missing(repo):
    edit(repo, S3, r'bucket_name = "bbws-templates-\$\{var.environment\}"',
         'bucket_name = "templates-${var.environment}"')
    r = _only(repo, "dev", {"test_bucket_declared[bbws-templates-dev]": "S3-01"})
    assert sum(o == "skipped" for o, _, _ in r.values()) >= 8


def test_s305_replication_faults(repo):
    edit(repo, REPL, r"    delete_marker_replication \{\n      status = \"Enabled\"\n    \}\n", "")
    edit(repo, REPL, r"minutes = 15\n        \}\n      \}\n      metrics",
         "minutes = 5\n        }\n      }\n      metrics")
    r = _only(repo, "prod", {"test_replication_declared[bbws-templates-prod]": "S3-05"})
    msg = r["test_replication_declared[bbws-templates-prod]"][2]
    assert "does not replicate delete markers" in msg and "no replication time control of 15" in msg
    assert 'aws_s3_bucket_replication_configuration.templates[0]' in msg


def test_s305_replication_removed(repo):
    (repo / REPL).unlink()
    _only(repo, "prod", {"test_replication_declared[bbws-templates-prod]": "S3-05"})
    _only(repo, "dev", {})  # dev does not replicate


def test_cicd02_versions_and_upper_bound(repo):
    edit(repo, "terraform/s3/versions.tf", r'version = "~> 5.0"', 'version = ">= 5.0"')
    r = _only(repo, "dev", {"test_aws_provider_version[terraform]": "CICD-02"})
    assert "terraform/s3/versions.tf:7" in r["test_aws_provider_version[terraform]"][2]
    (repo / "terraform/s3/.terraform.lock.hcl").unlink()
    r = _only(repo, "dev", {"test_aws_provider_version[terraform]": "CICD-02",
                            "test_provider_upper_bound[terraform]": "CICD-02"})
    assert "commit terraform/s3/.terraform.lock.hcl" in r["test_provider_upper_bound[terraform]"][2]
    edit(repo, "terraform/dynamodb/versions.tf", r'required_version = ">= 1.6"', 'required_version = ">= 1.3"')
    assert "test_required_version[terraform]" in failing(run_static(repo, "dev"))


def test_unresolvable_value_is_an_error_not_a_pass(repo):
    edit(repo, DDB, r"(resource \"aws_dynamodb_table\" \"tenants\".*?point_in_time_recovery \{\n    enabled = )true",
         r"\1data.external.flags.result.pitr")
    r = _only(repo, "dev", {"test_pitr_declared[tenants]": "DDB-03"})
    outcome, _, msg = r["test_pitr_declared[tenants]"]
    assert outcome == "error" and "cannot be resolved statically" in msg and "main.tf:15" in msg


def test_missing_tfvars_value_is_an_error(repo):
    edit(repo, "terraform/s3/environments/dev.tfvars", r"noncurrent_days = 30\n", "")
    r = _only(repo, "dev", {"test_lifecycle_declared[bbws-templates-dev]": "S3-03"})
    assert r["test_lifecycle_declared[bbws-templates-dev]"][0] == "error"
    assert "var.noncurrent_days" in r["test_lifecycle_declared[bbws-templates-dev]"][2]


def test_unparseable_file_is_an_error(repo):
    (repo / "terraform/s3/broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n')
    assert {o for o, _, _ in run_static(repo, "dev").values()} == {"error"}


# for_each over a map of tables, local modules, workspace-named envs ----------------------------------------------

FOR_EACH = '''
variable "tables" {
  type = map(object({ gsis = map(object({ hash = string, range = string })) }))
}
variable "environment" { type = string }
variable "tags" { type = map(string) }
provider "aws" {
  region = "eu-west-1"
  default_tags { tags = merge(var.tags, { Component = "dynamodb", BackupPolicy = "daily" }) }
}
module "tables" {
  source   = "./modules/table"
  for_each = var.tables
  name     = each.key
  gsis     = each.value.gsis
  pitr     = var.environment == "dev" ? true : false
}
'''
MODULE = '''
variable "name" { type = string }
variable "gsis" { type = map(any) }
variable "pitr" { type = bool }
resource "aws_dynamodb_table" "this" {
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"
  range_key    = "SK"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  dynamic "attribute" {
    for_each = toset(concat(["PK", "SK"], [for g in values(var.gsis) : g.hash],
                            [for g in values(var.gsis) : g.range if g.range != ""]))
    content {
      name = attribute.value
      type = "S"
    }
  }
  dynamic "global_secondary_index" {
    for_each = var.gsis
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash
      range_key       = global_secondary_index.value.range == "" ? null : global_secondary_index.value.range
      projection_type = "ALL"
    }
  }
  point_in_time_recovery { enabled = var.pitr }
  server_side_encryption { enabled = true }
}
'''


def _for_each_repo(root: Path) -> Path:
    env = ENVS["dev"]
    tf = root / "infra"
    (tf / "modules" / "table").mkdir(parents=True)
    (tf / "main.tf").write_text(FOR_EACH)
    (tf / "modules" / "table" / "main.tf").write_text(MODULE)
    tables = ",\n".join(
        f'  {t} = {{ gsis = {{ ' + ", ".join(
            f'{g} = {{ hash = "{s.hash_key.split(":")[0]}", range = "{s.range_key.split(":")[0]}" }}'
            for g, s in spec.gsis.items()) + " } }" for t, spec in env.tables.items())
    tags = "\n".join(f'  {k} = "{val}"' for k, val in env.tags.items())
    (tf / "terraform.dev.tfvars").write_text(f'environment = "dev"\ntables = {{\n{tables}\n}}\ntags = {{\n{tags}\n}}\n')
    return root


def test_for_each_module_of_tables_is_resolved(tmp_path):
    results = run_static(_for_each_repo(tmp_path), "dev")
    table_checks = {t: r for t, r in results.items() if r[1] in ("DDB-01", "DDB-02", "DDB-03", "PDV-02", "DDB-05")}
    assert table_checks and all(o in ("passed", "skipped") for o, _, _ in table_checks.values()), table_checks
    assert results["test_pitr_declared[tenants]"][0] == "passed"


def test_for_each_module_negative(tmp_path):
    repo = _for_each_repo(tmp_path)
    edit(repo, "infra/main.tf", r'var.environment == "dev" \? true : false', "false")
    edit(repo, "infra/terraform.dev.tfvars", r'EmailIndex = \{ hash = "email"', 'EmailIndex = { hash = "mail"')
    results = run_static(repo, "dev")
    fails = {t for t, (o, c, _) in results.items() if o == "failed" and c in ("DDB-02", "DDB-03")}
    assert fails == {f"test_pitr_declared[{t}]" for t in ENVS["dev"].tables} | {"test_gsi_declared[tenants-EmailIndex]"}
    assert 'module.tables["tenants"].aws_dynamodb_table.this' in results["test_pitr_declared[tenants]"][2]


# units: the evaluator, tfvars discovery, upper bounds -----------------------------------------------------------

def test_evaluator():
    s = Scope({"env": "prod", "m": {"a": 1}, "dr": ""}, {"name": "x-${var.env}", "t": "${merge(var.m, {b = 2})}"})
    assert evaluate("${local.name}", s) == "x-prod"
    assert evaluate("${local.t}", s) == {"a": 1, "b": 2}
    assert evaluate('${var.dr != "" ? 1 : 0}', s) == 0
    assert evaluate("${{ dev = 7, prod = 90 }[var.env]}", s) == 90
    assert evaluate("${aws_s3_bucket.b[0].arn}", s) == Ref("aws_s3_bucket", "b", 0, "arn")
    assert evaluate('${[for k, x in var.m : "${k}=${x}"]}', s) == ["a=1"]
    with pytest.raises(Unresolved):
        evaluate("${var.nope}", s)
    with pytest.raises(Unresolved):
        evaluate("${aws_s3_bucket.b.arn == \"x\"}", s)
    with pytest.raises(Unresolved, match="not evaluated statically"):
        evaluate('${file("x.json")}', s)


def test_tfvars_discovery():
    paths = {"tf/main.tf", "tf/environments/prod.tfvars", "tf/terraform.tfvars", "tf/b.auto.tfvars", "prod.tfvars"}
    assert find_tfvars("tf", paths, "prod") == ["tf/terraform.tfvars", "tf/b.auto.tfvars",
                                                "tf/environments/prod.tfvars"]
    assert find_tfvars("tf", paths, "dev") == ["tf/terraform.tfvars", "tf/b.auto.tfvars"]
    assert find_tfvars("tf", paths, "prod", "../prod.tfvars")[-1] == "prod.tfvars"


def test_roots_named_for_another_env_are_left_out():
    texts = {"envs/dev/main.tf": 'resource "aws_s3_bucket" "b" { bucket = "d" }',
             "envs/prod/main.tf": 'resource "aws_s3_bucket" "b" { bucket = "p" }'}
    m = build(texts, "prod", ["dev", "prod"])
    assert [r.dir for r in m.roots] == ["envs/prod"]


@pytest.mark.parametrize("found,want,ok", [("~> 5.0", "~> 5.0", True), ("~> 5.50", "~> 5.0", True),
                                           ("~> 6.14.1", "~> 5.0", False), ("~> 4.9", "~> 5.0", False),
                                           (">= 1.13.3", ">= 1.6", True), (">= 1.5.0", ">= 1.6", False),
                                           (">= 5.0", "~> 5.0", False)])
def test_constraint_within(found, want, ok):
    assert within(found, want) is ok


@pytest.mark.parametrize("constraint,bounded", [("~> 5.0", True), (">= 5.0", False), (">= 5.0, < 6.0", True),
                                                ("5.31.0", True), ("", False), ("!= 5.1.0", False)])
def test_upper_bound(constraint, bounded):
    assert has_upper_bound(constraint) is bounded


def test_a_nested_block_expectation_needs_no_rule_of_its_own():
    """TableTf.block(check, name, **want): a check of one nested block (ttl, say) is a line in its test."""
    env = ENVS["local"]
    table = next(iter(env.tables))
    v._CACHE.clear()
    view = v.TableTf(snapshot_of(SAMPLE, env), env, table)
    assert view.block("DDB-03", "point_in_time_recovery", enabled=True) == []
    [wrong] = view.block("DDB-03", "point_in_time_recovery", enabled=False)
    assert "enabled is True, expected False" in wrong.message and wrong.file.endswith(".tf") and wrong.line
    [missing] = view.block("DDB-07", "on_demand_throughput", max_read_request_units=100)
    assert missing.check == "DDB-07" and missing.message.startswith("declares no on_demand_throughput block")
    assert "on_demand_throughput { max_read_request_units = 100 }" in missing.fix
