"""Issue 2: environments.toml loads the reference deployment and rejects bad input clearly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from checks.core import config

REPO = Path(__file__).resolve().parent.parent
GOOD = (REPO / "environments.toml").read_text()


def test_reference_deployment_is_encoded():
    envs = config.load()
    assert set(envs) == {"dev", "sit", "prod", "local"}
    prod = envs["prod"]
    assert (prod.account, prod.region, prod.dr_region) == ("093646564004", "af-south-1", "eu-west-1")
    assert (envs["dev"].account, envs["sit"].account) == ("536580886816", "815856636111")
    assert list(prod.tables) == ["tenants", "products", "campaigns"]
    assert prod.tables["campaigns"].gsis["CampaignProductIndex"].hash_key == "productId:S"
    assert prod.dynamodb.deletion_protection and not envs["sit"].dynamodb.deletion_protection
    assert prod.table_tags()["BackupPolicy"] == "hourly" and envs["dev"].table_tags()["BackupPolicy"] == "daily"
    assert prod.bucket_tags() == {"Environment": "prod", "Project": "BBWS WP Containers", "Owner": "Tebogo",
                                  "CostCenter": "AWS", "ManagedBy": "Terraform", "DR": "enabled", "Component": "s3"}
    assert [e.s3.lifecycle.noncurrent_days for e in (envs["dev"], envs["sit"], prod)] == [30, 60, 90]
    assert prod.s3.replication.destination == "bbws-templates-prod-dr-eu-west-1"
    assert [e.github.required_approvers for e in (envs["dev"], envs["sit"], prod)] == [1, 2, 3]
    assert (prod.backup.plan, prod.backup.retention_days, prod.backup.copy_to_region) == (
        "bbws-dynamodb-prod-hourly", 90, "eu-west-1")
    assert envs["sit"].terraform.lock_table == "terraform-state-lock-sit"
    assert len(prod.s3.templates) == 12 and envs["sit"].s3.logging_bucket == "bbws-logs-sit"


BROKEN = [
    ("unknown key", GOOD.replace("retry_mode =", "retry_moed ="),
     f":{next(n for n, t in enumerate(GOOD.splitlines(), 1) if 'retry_mode =' in t)}: "
     "unknown key 'defaults.retry_moed'"),
    ("wrong type", GOOD.replace('account = "536580886816"', "account = 536580886816"),
     "key 'envs.dev.account' must be a string"),
    ("missing value", GOOD.replace('account = "815856636111"\n', ""), "required key 'envs.sit.account' is missing"),
    ("bad choice", GOOD.replace('frequency = "daily"', 'frequency = "weekly"'),
     "key 'defaults.backup.frequency' is 'weekly'; expected one of daily or hourly"),
    ("not toml", GOOD + "\n[envs.dev\n", "not valid TOML"),
    ("nested wrong type", GOOD.replace("retention_days = 14", 'retention_days = "14"'),
     "key 'envs.sit.backup.retention_days' must be an integer"),
    ("list of wrong items", GOOD.replace('replicas = []', 'replicas = [1]'), "defaults.dynamodb.replicas[0]"),
    ("bad account id", GOOD.replace('"536580886816"', '"5365"'), "12-digit account id"),
    ("bad key type", GOOD.replace('hash_key = "email:S"', 'hash_key = "email:X"'), "must be NAME or NAME:S|N|B"),
    ("below minimum", GOOD.replace("concurrency = 16 ", "concurrency = 0 "),
     "key 'defaults.concurrency' must be at least 1, got 0"),
    ("quoted table name", GOOD.replace('bucket_actions = ["s3:GetObject"]', 'bucket_actoins = ["s3:GetObject"]'),
     "unknown key 'defaults.iam.app_roles.\"bbws-app-lambda-{env}\".bucket_actoins'; known keys here: bucket_actions, "
     "table_actions"),
    ("deeply nested", GOOD + "\n[envs.deep]\nx = " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32"),
]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_typo_in_defaults_is_reported_where_it_was_written_with_its_line(tmp_path):
    text = GOOD.replace('copy_to_region = ""', 'copy_to_regoin = ""')
    path = tmp_path / "environments.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    line = line_of(text, "copy_to_regoin")
    assert str(exc.value).startswith(f"{path}:{line}: unknown key 'defaults.backup.copy_to_regoin'; known keys here: "
                                     "copy_to_region, copy_vault, frequency,")
    assert "envs." not in str(exc.value)  # once, where the user wrote it: not once per env


QUOTED_14 = 'retention_days = "14"'


def test_every_problem_is_listed_at_once(tmp_path):
    text = (GOOD.replace('copy_to_region = ""', 'copy_to_regoin = ""')
            .replace("retention_days = 14", 'retention_days = "14"')
            .replace('account = "815856636111"\n', "")
            .replace('EmailIndex = { hash_key = "email:S" }', 'EmailIndex = { hash_kee = "email:S" }'))
    path = tmp_path / "environments.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{path}: 5 problem(s):"
    assert lines[1:] == [
        f"  {path}:{line_of(text, 'hash_kee')}: required key "
        "'defaults.dynamodb.tables.tenants.gsis.EmailIndex.hash_key' is missing",
        f"  {path}:{line_of(text, 'hash_kee')}: unknown key "
        "'defaults.dynamodb.tables.tenants.gsis.EmailIndex.hash_kee'; known keys here: hash_key, projection, range_key",
        f"  {path}:{line_of(text, 'copy_to_regoin')}: unknown key 'defaults.backup.copy_to_regoin'; known keys here: "
        "copy_to_region, copy_vault, frequency, plan, retention_days, selection, vault",
        f"  {path}:{line_of(text, '[envs.sit]')}: required key 'envs.sit.account' is missing",
        f"  {path}:{line_of(text, QUOTED_14)}: key 'envs.sit.backup.retention_days' must be an integer, "
        "got a string '14'",
    ]


def test_env_is_immutable_and_round_trips_through_the_snapshot_form():
    env = config.load()["local"]
    with pytest.raises(ValidationError):
        env.concurrency = 3  # type: ignore[misc]
    assert config.from_dict(env.model_dump(), "snapshot.json") == env
    assert env.model_copy(update={"concurrency": 3}).concurrency == 3 and env.concurrency == 16
    with pytest.raises(config.ConfigError, match="snapshot.json: key 'envs.local.concurrency' must be an integer"):
        config.from_dict({**env.model_dump(), "concurrency": "3"}, "snapshot.json")


def test_committed_schema_is_the_generated_one():
    committed = (REPO / "environments.schema.json").read_text()
    assert committed == config.schema_text(), "environments.schema.json is stale: python -m checks.derive"
    assert GOOD.startswith("#:schema ./environments.schema.json\n")


def test_schema_accepts_the_file_and_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft202012Validator(config.schema())
    assert not list(validator.iter_errors(tomllib.loads(GOOD)))
    bad = tomllib.loads(GOOD.replace('copy_to_region = ""', 'copy_to_regoin = ""')
                        .replace('frequency = "daily"', 'frequency = "weekly"'))
    found = " ".join(e.message for e in validator.iter_errors(bad)) + " ".join(
        c.message for e in validator.iter_errors(bad) for c in (e.context or []))
    assert "copy_to_regoin" in found and "'weekly'" in found


def test_readme_key_table_is_the_schema():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## environments.toml", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for row in re.findall(r"^\| `([^|]+?)` \|", section, flags=re.M):
        for group in re.split(r"`, `", row):
            m = re.fullmatch(r"(.*?)\{(.+)\}", group)
            listed |= {m.group(1) + k.strip() for k in m.group(2).split(",")} if m else {group}
    assert listed == set(config.honoured()) and set(config.keys()) <= listed


MINIMAL = """
[envs.small]
account = "123456789012"
region = "eu-west-1"
embedded = true
dynamodb = { tables = { orders = {} } }
s3 = { bucket = "small-templates", templates = ["a.html"] }
"""


def test_an_env_without_optional_areas_needs_none_of_their_keys(tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text(MINIMAL)
    env = config.load(path)["small"]
    assert (env.backup, env.terraform, env.github, env.s3.lifecycle) == (None, None, None, None)
    assert env.absent("terraform", "github") == ("env small does not check [terraform]: it has no such table "
                                                 "in environments.toml")
    path.write_text(GOOD.replace("[envs.dev]\n", '[envs.dev]\nomit = ["terraform", "github", "backup", '
                                                   '"s3.lifecycle"]\n'))
    dev = config.load(path)["dev"]
    assert (dev.backup, dev.terraform, dev.github, dev.s3.lifecycle) == (None, None, None, None)
    assert dev.absent("backup") == "env dev does not check [backup]: its `omit` drops it in environments.toml"
    assert config.load(path)["sit"].terraform is not None


def test_an_env_without_optional_areas_skips_their_checks_with_the_reason(suite, tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text(MINIMAL)
    result = suite.run("--environments", str(path), env="small",
                       tests=("tests/dynamodb", "tests/s3", "tests/cicd", "tests/pdv"))
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert result.failed == set() and result.errors == set(), result.stdout[-3000:]
    assert not any("NOTSET" in t for t in result.outcomes)
    reasons = {t: r["message"] for t, r in result.records.items() if r["outcome"] == "skipped"}
    assert reasons["test_backup_vault"] == ("env small does not check [backup]: it has no such table in "
                                            "environments.toml")
    assert "[s3.lifecycle]" in reasons["test_lifecycle_rule[small-templates]"]
    assert "[terraform]" in reasons["test_state_parses"] and "[terraform]" in reasons["test_no_drift[orders]"]
    assert reasons["test_app_role_permissions[none]"] == "env small has no app roles to check (iam.app_roles is empty)"
    assert {"test_table_exists[orders]", "test_template[a.html]", "test_pitr_enabled[orders]"} <= result.passed


def test_empty_fault_entries_are_a_usage_error(suite):
    for spec in (",,,", "DDB-03,", " "):
        result = suite.run(faults=spec)
        assert result.ret == pytest.ExitCode.USAGE_ERROR and not result.outcomes, spec
        assert "empty entry" in result.stdout and "Traceback" not in result.stdout


def test_deeply_nested_toml_is_a_usage_error(suite, tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text(GOOD + "\n[envs.deep]\nx = " + "[" * 100000 + "]" * 100000 + "\n")
    result = suite.run("--environments", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not result.outcomes
    assert "nested deeper than 32 levels" in result.stdout and "RecursionError" not in result.stdout


@pytest.mark.parametrize("name,text,needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_is_a_clear_error(tmp_path, name, text, needle):
    path = tmp_path / "environments.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    assert str(path) in str(exc.value) and needle in str(exc.value)


def test_broken_file_is_a_usage_error_not_a_traceback(suite, tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text(GOOD.replace("retention_days = 14", 'retention_days = "14"'))
    result = suite.run("--environments", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stdout
    assert not result.outcomes


def test_unknown_env_lists_the_valid_ones(pytester):
    result = pytester.runpytest_subprocess(str(REPO / "tests"), "--rootdir", str(REPO), "-c",
                                           str(REPO / "pytest.ini"), "--env", "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "'nosuch' is not in" in err and "dev, sit, prod, local" in err
    assert "Traceback" not in err + result.stdout.str()


def test_env_substitution_and_overrides(tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text(GOOD.replace('[envs.dev]\n', '[envs.dev]\nconcurrency = 3\n'))
    dev = config.load(path)["dev"]
    assert dev.concurrency == 3 and config.load(path)["sit"].concurrency == 16
    assert dev.s3.bucket == "bbws-templates-dev" and dev.github.role_secret == "AWS_ROLE_DEV"


def test_unknown_fault_is_a_usage_error(suite):
    result = suite.run(faults="DDB-99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not result.outcomes
