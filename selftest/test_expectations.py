"""Issue 11.3: every key of environments.toml is honoured by the check that HONOURED names.

HONOURED lists every key of the schema with the assertion (or, for run settings, the code)
that reads it: a new key that nothing reads fails `test_every_key_is_listed`.

The flips prove it for the DynamoDB, backup and S3 expectations: a temp environments.toml
gives one env twice, as BASE and as FLIPPED (each key in FLIPS changed). The world built from
FLIPPED, checked against FLIPPED, passes (each listed check passes, or skips where the flipped
value means "not required"); the same world checked against BASE fails each listed check. The
world is the same in both runs, so each outcome follows the expectation alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks import world as world_mod
from checks.core import config

REPO = Path(__file__).resolve().parent.parent

HONOURED = {
    "account": "checks/plugin/live.py::guard_account",  # PDV-01, and S3-01's ownership
    "region": "tests/dynamodb/test_tables.py::test_table_exists",
    "dr_region": "tests/s3/test_replication.py::test_dr_bucket",
    "profile": "checks/core/aws.py::Aws",  # run setting: credentials
    "role_arn": "checks/core/aws.py::Aws",  # run setting: credentials
    "embedded": "checks/plugin/live.py::start_live",  # run setting: the embedded world
    "concurrency": "checks/core/collect.py::collect_all",  # run setting
    "retry_mode": "checks/core/aws.py::Aws",  # run setting
    "max_attempts": "checks/core/aws.py::Aws",  # run setting
    "canary_allowed": "checks/plugin/run.py::canary_skip_reason",
    "infra_repo": "checks/plugin/options.py::run_options",
    "approvers": "checks/evidence/report.py::view",
    "env_specific": "tests/pdv/test_parity.py::test_parity",
    "omit": "checks/core/config.py::_drop_omitted",
    "tags": "tests/dynamodb/test_tags_access.py::test_table_tag",
    "dynamodb.tables.<table>.gsis.<index>.hash_key": "tests/dynamodb/test_tables.py::test_gsi",
    "dynamodb.tables.<table>.gsis.<index>.range_key": "tests/dynamodb/test_tables.py::test_gsi",
    "dynamodb.tables.<table>.gsis.<index>.projection": "tests/dynamodb/test_tables.py::test_gsi",
    "dynamodb.hash_key": "tests/dynamodb/test_tables.py::test_table_exists",
    "dynamodb.range_key": "tests/dynamodb/test_tables.py::test_table_exists",
    "dynamodb.billing_mode": "tests/pdv/test_design.py::test_billing_mode",
    "dynamodb.stream_view_type": "tests/pdv/test_design.py::test_stream",
    "dynamodb.pitr": "tests/dynamodb/test_tables.py::test_pitr_enabled",
    "dynamodb.sse": "tests/dynamodb/test_tables.py::test_table_encryption",
    "dynamodb.deletion_protection": "tests/pdv/test_design.py::test_deletion_protection",
    "dynamodb.replicas": "tests/dynamodb/test_tables.py::test_table_replicas",
    "dynamodb.tags": "tests/dynamodb/test_tags_access.py::test_table_tag",
    "backup.vault": "tests/dynamodb/test_backup.py::test_backup_vault",
    "backup.plan": "tests/dynamodb/test_backup.py::test_backup_plan",
    "backup.selection": "tests/dynamodb/test_backup.py::test_backup_selection_covers",
    "backup.frequency": "tests/dynamodb/test_backup.py::test_backup_plan",
    "backup.retention_days": "tests/dynamodb/test_backup.py::test_backup_plan",
    "backup.copy_to_region": "tests/dynamodb/test_backup.py::test_backup_copy_to_dr",
    "backup.copy_vault": "tests/dynamodb/test_backup.py::test_backup_copy_to_dr",
    "s3.bucket": "tests/s3/test_buckets.py::test_bucket_exists",
    "s3.templates": "tests/s3/test_templates.py::test_template",
    "s3.lifecycle.rule": "tests/s3/test_buckets.py::test_lifecycle_rule",
    "s3.lifecycle.noncurrent_days": "tests/s3/test_buckets.py::test_lifecycle_rule",
    "s3.versioning": "tests/s3/test_buckets.py::test_versioning_enabled",
    "s3.encryption": "tests/s3/test_buckets.py::test_default_encryption",
    "s3.bucket_key": "tests/s3/test_buckets.py::test_default_encryption",
    "s3.account_public_access_block": "tests/s3/test_buckets.py::test_account_public_access_block",
    "s3.policy_statements": "tests/s3/test_buckets.py::test_bucket_policy_not_public",
    "s3.external_principals": "tests/s3/test_buckets.py::test_bucket_policy_external_principals",
    "s3.logging_bucket": "tests/s3/test_buckets.py::test_access_logging",
    "s3.template_manifest": "tests/s3/test_templates.py::test_template",
    "s3.replication.rule": "tests/s3/test_replication.py::test_replication_rule",
    "s3.replication.destination": "tests/s3/test_replication.py::test_dr_bucket",
    "s3.replication.role": "tests/s3/test_replication.py::test_replication_role",
    "s3.replication.delete_markers": "tests/s3/test_replication.py::test_replication_rule",
    "s3.replication.time_control_minutes": "tests/s3/test_replication.py::test_replication_rule",
    "s3.tags": "tests/s3/test_buckets.py::test_bucket_tag",
    "iam.app_roles.<role>.table_actions": "tests/dynamodb/test_tags_access.py::test_app_role_permissions",
    "iam.app_roles.<role>.bucket_actions": "tests/dynamodb/test_tags_access.py::test_app_role_permissions",
    "terraform.state_bucket": "tests/cicd/test_plan.py::test_state_bucket",
    "terraform.lock_table": "tests/cicd/test_plan.py::test_lock_table_key",
    "terraform.state_key": "tests/cicd/test_apply.py::test_state_parses",
    "terraform.required_version": "tests/cicd/test_plan.py::test_terraform_parses",
    "terraform.aws_provider": "tests/static/test_versions_tf.py::test_aws_provider_version",
    "terraform.tfvars": "tests/static/test_dynamodb_tf.py::test_table_declared",
    "terraform.stale_lock_minutes": "tests/cicd/test_state_locks.py::test_lock_not_stale",
    "terraform.allow_destroy": "tests/cicd/test_plan.py::test_plan_no_stateful_destroy",
    "github.workflow": "tests/cicd/test_workflows.py::test_workflow_exists",
    "github.environment": "tests/cicd/test_approval.py::test_environment_reviewers",
    "github.repo": "checks/areas/cicd/collector.py::github_settings",
    "github.api_url": "checks/areas/cicd/collector.py::github_settings",
    "github.required_approvers": "tests/cicd/test_approval.py::test_environment_reviewers",
    "github.approval_timeout_hours": "tests/cicd/test_approval.py::test_no_approval_timeout",
    "github.approval_exempt": "tests/cicd/test_workflows.py::test_apply_needs_approval",
    "github.role_secret": "tests/cicd/test_workflows.py::test_oidc_id_token",
    "github.release_tag": "tests/cicd/test_deployment.py::test_release_tag",
    "pdv.metrics_window_minutes": "tests/pdv/test_metrics.py::test_no_throttling",
    "pdv.replication_timeout_seconds": "tests/pdv/test_replication.py::test_replication_round_trip",
}


def test_every_key_is_listed():
    """A key the schema gains must name the check that honours it here (or it is dead: delete it)."""
    keys = set(config.keys())
    assert set(HONOURED) - keys == set(), "HONOURED lists keys the schema no longer has"
    assert keys - set(HONOURED) == set(), "keys no check is listed for: make a check read them, or remove them"


PENDING: dict[str, str] = {}


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=PENDING[k]))
                                 if k in PENDING else k for k in sorted(HONOURED)])
def test_the_listed_check_exists_and_reads_the_key(key):
    path, name = HONOURED[key].split("::")
    source = (REPO / path).read_text()
    assert re.search(rf"^\s*(def|class) {name}\b", source, flags=re.M), f"{HONOURED[key]} does not exist"
    leaf = key.rsplit(".", 1)[-1]
    area = Path(path).parts[1] if path.startswith("tests/") else ""
    code = source + "".join(p.read_text() for p in (REPO / "checks/areas" / area).glob("*.py")) if area else source
    assert re.search(rf"\b{leaf}\b", code) or key == "tags", f"neither {path} nor its area's code reads {leaf!r}"


# --------------------------------------------------------------------------- the flips

COMMON = """
[envs.flip]
account = "123456789012"
region = "eu-west-1"
embedded = true
omit = ["terraform", "github"]
"""

# Pair A: values of DynamoDB, backup and S3 (no replication: versioning is flipped off).
BASE_A = COMMON + """
tags = { Environment = "base", Project = "P" }
iam = { app_roles = { app = { table_actions = ["dynamodb:GetItem"], bucket_actions = ["s3:GetObject"] } } }
[envs.flip.dynamodb]
hash_key = "PK:S"
range_key = "SK:S"
billing_mode = "PAY_PER_REQUEST"
stream_view_type = "NEW_AND_OLD_IMAGES"
pitr = true
sse = "KMS"
deletion_protection = true
replicas = ["eu-west-2"]
tags = { BackupPolicy = "daily" }
tables = { orders = { gsis = { ByStatus = { hash_key = "status:S", range_key = "created:S", projection = "ALL" } } } }
[envs.flip.backup]
vault = "flip-vault"
plan = "flip-plan"
selection = "base-selection"
frequency = "daily"
retention_days = 7
copy_to_region = "eu-west-2"
copy_vault = "base-dr-vault"
[envs.flip.s3]
bucket = "flip-templates"
templates = ["base/a.html"]
versioning = true
encryption = "AES256"
bucket_key = true
account_public_access_block = true
policy_statements = ["DenyInsecureTransport", "DenyPublicAccess",
                     "AllowLambdaReadTemplates", "AllowTerraformManagement"]
external_principals = ["111122223333"]
logging_bucket = "base-logs"
tags = { Component = "s3" }
lifecycle = { rule = "base-rule", noncurrent_days = 30 }
"""

FLIPS_A = {  # key: (text in BASE_A, its flip, the checks that follow it: an id, or (id if flipped, id if not))
    "tags": ('Environment = "base"', 'Environment = "flipped"',
             ["test_table_tag[orders-Environment]", "test_bucket_tag[flip-templates-Environment]"]),
    "iam.app_roles.<role>.table_actions": ('table_actions = ["dynamodb:GetItem"]', 'table_actions = ["dynamodb:Query"]',
                                           ["test_app_role_permissions[app]"]),
    "iam.app_roles.<role>.bucket_actions": ('bucket_actions = ["s3:GetObject"]', 'bucket_actions = ["s3:PutObject"]',
                                            ["test_app_role_permissions[app]"]),
    "dynamodb.hash_key": ('hash_key = "PK:S"', 'hash_key = "id:S"', ["test_table_exists[orders]"]),
    "dynamodb.range_key": ('range_key = "SK:S"', 'range_key = "sort:N"', ["test_table_exists[orders]"]),
    "dynamodb.billing_mode": ('billing_mode = "PAY_PER_REQUEST"', 'billing_mode = "PROVISIONED"',
                              ["test_billing_mode[orders]"]),
    "dynamodb.stream_view_type": ('stream_view_type = "NEW_AND_OLD_IMAGES"', 'stream_view_type = "KEYS_ONLY"',
                                  ["test_stream[orders]"]),
    "dynamodb.pitr": ("pitr = true", "pitr = false", ["test_pitr_enabled[orders]"]),
    "dynamodb.sse": ('sse = "KMS"', 'sse = "DEFAULT"', ["test_table_encryption[orders]"]),
    "dynamodb.deletion_protection": ("deletion_protection = true", "deletion_protection = false",
                                     ["test_deletion_protection[orders]"]),
    "dynamodb.replicas": ('replicas = ["eu-west-2"]', "replicas = []", ["test_table_replicas[orders]"]),
    "dynamodb.tags": ('BackupPolicy = "daily"', 'BackupPolicy = "hourly"', ["test_table_tag[orders-BackupPolicy]"]),
    "dynamodb.tables.<table>.gsis.<index>.hash_key": ('hash_key = "status:S"', 'hash_key = "state:S"',
                                                      ["test_gsi[orders-ByStatus]"]),
    "dynamodb.tables.<table>.gsis.<index>.range_key": ('range_key = "created:S"', 'range_key = "updated:S"',
                                                       ["test_gsi[orders-ByStatus]"]),
    "dynamodb.tables.<table>.gsis.<index>.projection": ('projection = "ALL"', 'projection = "KEYS_ONLY"',
                                                        ["test_gsi[orders-ByStatus]"]),
    "backup.selection": ('selection = "base-selection"', 'selection = "flipped-selection"',
                         ["test_backup_selection_covers[orders]"]),
    "backup.frequency": ('frequency = "daily"', 'frequency = "hourly"', ["test_backup_plan"]),
    "backup.retention_days": ("retention_days = 7", "retention_days = 35", ["test_backup_plan"]),
    "backup.copy_to_region": ('copy_to_region = "eu-west-2"', 'copy_to_region = "eu-central-1"',
                              ["test_backup_copy_to_dr"]),
    "backup.copy_vault": ('copy_vault = "base-dr-vault"', 'copy_vault = "flipped-dr-vault"',
                          ["test_backup_copy_to_dr"]),
    "s3.templates": ('templates = ["base/a.html"]', 'templates = ["flipped/b.html"]',
                     [("test_template[flipped/b.html]", "test_template[base/a.html]")]),
    "s3.versioning": ("versioning = true", "versioning = false", ["test_versioning_enabled[flip-templates]"]),
    "s3.encryption": ('encryption = "AES256"', 'encryption = "aws:kms"', ["test_default_encryption[flip-templates]"]),
    "s3.bucket_key": ("bucket_key = true", "bucket_key = false", ["test_default_encryption[flip-templates]"]),
    "s3.account_public_access_block": ("account_public_access_block = true", "account_public_access_block = false",
                                       ["test_account_public_access_block"]),
    "s3.policy_statements": ('"AllowLambdaReadTemplates", "AllowTerraformManagement"]', "]",
                             ["test_bucket_policy_not_public[flip-templates]"]),
    "s3.external_principals": ('external_principals = ["111122223333"]',
                               'external_principals = ["arn:aws:iam::444455556666:role/partner-reader"]',
                               ["test_bucket_policy_external_principals[flip-templates]"]),
    "s3.logging_bucket": ('logging_bucket = "base-logs"', 'logging_bucket = "flipped-logs"',
                          ["test_access_logging[flip-templates]"]),
    "s3.tags": ('Component = "s3"', 'Component = "templates"', ["test_bucket_tag[flip-templates-Component]"]),
    "s3.lifecycle.rule": ('rule = "base-rule"', 'rule = "flipped-rule"', ["test_lifecycle_rule[flip-templates]"]),
    "s3.lifecycle.noncurrent_days": ("noncurrent_days = 30", "noncurrent_days = 60",
                                     ["test_lifecycle_rule[flip-templates]"]),
}

# Pair B: names (the table, the vault, the plan) and replication, which needs versioning on.
BASE_B = COMMON + """
dr_region = "eu-west-2"
[envs.flip.dynamodb]
tables = { orders = {} }
[envs.flip.backup]
vault = "base-vault"
plan = "base-plan"
[envs.flip.s3]
bucket = "flip-templates"
templates = ["a.html"]
[envs.flip.s3.replication]
rule = "base-rule"
destination = "base-dr-bucket"
role = "base-replication-role"
delete_markers = true
time_control_minutes = 15
"""

FLIPS_B = {
    "dr_region": ('dr_region = "eu-west-2"', 'dr_region = "eu-central-1"', ["test_dr_bucket"]),
    "dynamodb.tables.<table>": ("orders = {}", "invoices = {}",
                                [("test_table_exists[invoices]", "test_table_exists[orders]")]),
    "backup.vault": ('vault = "base-vault"', 'vault = "flipped-vault"', ["test_backup_vault"]),
    "backup.plan": ('plan = "base-plan"', 'plan = "flipped-plan"', ["test_backup_plan"]),
    "s3.replication.rule": ('rule = "base-rule"', 'rule = "flipped-rule"', ["test_replication_rule[flip-templates]"]),
    "s3.replication.destination": ('destination = "base-dr-bucket"', 'destination = "flipped-dr-bucket"',
                                   ["test_dr_bucket", "test_replication_rule[flip-templates]"]),
    "s3.replication.role": ('role = "base-replication-role"', 'role = "flipped-replication-role"',
                            ["test_replication_role", "test_replication_rule[flip-templates]"]),
    "s3.replication.delete_markers": ("delete_markers = true", "delete_markers = false",
                                      ["test_replication_rule[flip-templates]"]),
    "s3.replication.time_control_minutes": ("time_control_minutes = 15", "time_control_minutes = 5",
                                            ["test_replication_rule[flip-templates]"]),
}

# Passes or skips (with the reason) against the world built to the flipped value.
NOT_REQUIRED = {"test_account_public_access_block", "test_table_replicas[orders]", "test_deletion_protection[orders]"}
SUITES = ("tests/dynamodb", "tests/s3", "tests/pdv/test_design.py")


def flipped(base: str, flips: dict[str, tuple[str, str, list[str]]]) -> str:
    text = base
    for key, (was, now, _) in flips.items():
        assert text.count(was) == 1, f"{key}: {was!r} must occur once in the base"
        text = text.replace(was, now)
    return text


def run_pair(suite, monkeypatch, tmp_path: Path, base: str, flips: dict) -> tuple:
    base_path, flip_path = tmp_path / "base.toml", tmp_path / "flipped.toml"
    base_path.write_text(base)
    flip_path.write_text(flipped(base, flips))
    world_env = config.load(flip_path)["flip"]
    config.load(base_path)  # both are valid files
    follows = suite.run("--environments", str(flip_path), env="flip", tests=SUITES)
    original = world_mod.World.__init__

    def flipped_world(self, env, *args, **kwargs):  # the world of the flipped file, whatever env is checked
        original(self, world_env, *args, **kwargs)

    monkeypatch.setattr(world_mod.World, "__init__", flipped_world)
    differs = suite.run("--environments", str(base_path), env="flip", tests=SUITES)
    monkeypatch.setattr(world_mod.World, "__init__", original)
    return follows, differs


@pytest.mark.parametrize("pair", ["A", "B"])
def test_each_expectation_is_followed_by_its_check(suite, monkeypatch, tmp_path, pair):
    base, flips = (BASE_A, FLIPS_A) if pair == "A" else (BASE_B, FLIPS_B)
    follows, differs = run_pair(suite, monkeypatch, tmp_path, base, flips)
    for result in (follows, differs):
        assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert follows.failed == set() and follows.errors == set(), follows.stdout[-3000:]
    for key, (_, _, checks) in flips.items():
        for check in checks:
            test, other = check if isinstance(check, tuple) else (check, check)
            want = {"passed", "skipped"} if test in NOT_REQUIRED else {"passed"}
            assert follows.outcomes.get(test) in want, f"{key}: {test} is {follows.outcomes.get(test)} " \
                                                      "against the world built to the flipped value"
            assert differs.outcomes.get(other) == "failed", (
                f"{key}: {other} is {differs.outcomes.get(other)} against a world that differs from "
                f"environments.toml; {differs.records.get(other, {}).get('message')}")
    if pair == "A":
        skipped = {t: r["message"] for t, r in follows.records.items() if t in NOT_REQUIRED}
        assert "s3.account_public_access_block = false" in skipped["test_account_public_access_block"]


def test_the_flips_cover_every_world_built_expectation():
    """Keys of the flipped areas that no flip changes must be listed here with why."""
    not_flipped = {
        "region": "every resource is in it: a flip fails every check (the DDB-01 fault moves a table away)",
        "s3.bucket": "every S3 check reads it: a flip hides the other S3 flips (the S3-01 fault deletes it)",
        "s3.template_manifest": "a file of digests the user writes, not something the world builds",
    }
    areas = ("dynamodb.", "backup.", "s3.", "iam.", "tags", "dr_region", "region")
    expectations = {k for k in config.keys() if k.startswith(areas)}
    missing = expectations - set(FLIPS_A) - set(FLIPS_B) - set(not_flipped)
    assert missing == set(), f"world-built expectations without a flip: {sorted(missing)}"


# --------------------------------------------------------------------------- names from the user's deployment

GOOD = (REPO / "environments.toml").read_text()
LOCAL_COPY_VAULT = 'copy_to_region = "eu-west-1", copy_vault = "bbws-backup-vault-{env}-dr" }\npdv'


class _Break:
    """A plugin that changes the built world (the hook the suite offers to self-tests)."""

    def __init__(self, fn):
        self.fn = fn

    def pytest_bbws_world_ready(self, world):
        self.fn(world)


def test_dr_copy_vault_is_the_one_the_plan_names(suite, monkeypatch, tmp_path):
    """A deployment whose copy action names bbws-backup-vault-local-dr passes with no copy_vault set:
    DDB-04 reads the vault the plan names, in the region it names, not the primary's name."""
    assert GOOD.count(LOCAL_COPY_VAULT) == 1
    path = tmp_path / "environments.toml"
    path.write_text(GOOD.replace(LOCAL_COPY_VAULT, 'copy_to_region = "eu-west-1" }\npdv'))
    world_env = config.load()["local"]
    assert config.load(path)["local"].backup.copy_vault == "" and world_env.backup.copy_vault.endswith("-dr")
    original = world_mod.World.__init__
    monkeypatch.setattr(world_mod.World, "__init__", lambda self, env, *a, **k: original(self, world_env, *a, **k))
    result = suite.run("--environments", str(path), tests=("tests/dynamodb/test_backup.py",))
    assert result.outcomes["test_backup_copy_to_dr"] == "passed", result.stdout[-3000:]
    assert result.failed == set() and result.errors == set()
    seen = [o for o in result.records["test_backup_copy_to_dr"]["observations"]
            if o["operation"] == "DescribeBackupVault"]
    assert [(o["region"], o["params"]["BackupVaultName"]) for o in seen] == [("eu-west-1",
                                                                              "bbws-backup-vault-local-dr")]


def test_a_missing_vault_is_the_resource_of_its_finding(suite, monkeypatch, tmp_path):
    env = config.load()["local"]
    path = tmp_path / "environments.toml"
    elsewhere = LOCAL_COPY_VAULT.replace(" }", ', vault = "bbws-vault-elsewhere" }')
    path.write_text(GOOD.replace(LOCAL_COPY_VAULT, elsewhere))
    original = world_mod.World.__init__
    monkeypatch.setattr(world_mod.World, "__init__", lambda self, _, *a, **k: original(self, env, *a, **k))
    drop_dr = _Break(lambda w: w.client("backup", env.backup.copy_to_region).delete_backup_vault(
        BackupVaultName=env.backup.copy_vault))
    result = suite.run("--environments", str(path), tests=("tests/dynamodb/test_backup.py",), plugins=[drop_dr])
    primary, dr = result.records["test_backup_vault"], result.records["test_backup_copy_to_dr"]
    assert (primary["outcome"], primary["resource"]) == ("failed", "bbws-vault-elsewhere")
    assert primary["message"] == "backup vault bbws-vault-elsewhere does not exist in af-south-1"
    assert (dr["outcome"], dr["resource"]) == ("failed", "bbws-backup-vault-local-dr")
    assert dr["message"] == ("backup vault bbws-backup-vault-local-dr does not exist in eu-west-1 "
                             "(the plan's copy action names it)")
    assert "--region eu-west-1" in dr["remediation"] and "bbws-backup-vault-local-dr" in dr["remediation"]


def test_drift_dependants_are_errors_when_their_reporter_is_not_selected(suite):
    env = config.load()["local"]
    no_state = _Break(lambda w: w.client("s3").delete_object(Bucket=env.terraform.state_bucket,
                                                             Key=env.terraform.state_key))
    alone = suite.run(tests=("tests/pdv/test_drift.py",), plugins=[no_state])
    rec = alone.records["test_no_drift[tenants]"]
    assert rec["outcome"] == "error", alone.stdout[-3000:]
    assert ("does not exist (reported by CICD-03), and the test that reports it (CICD-03/state) is not part of "
            "this run") in rec["message"]
    with_reporter = suite.run("-k", "test_no_drift or test_state_parses",
                              tests=("tests/pdv/test_drift.py", "tests/cicd/test_apply.py"), plugins=[no_state])
    assert with_reporter.outcomes["test_state_parses[2_1_bbws_dynamodb_schemas/terraform.tfstate]"] == "failed"
    assert with_reporter.outcomes["test_no_drift[tenants]"] == "skipped"
