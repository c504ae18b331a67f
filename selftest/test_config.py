"""Issue 2: environments.toml loads the reference deployment and rejects bad input clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    ("unknown key", GOOD.replace("retry_mode =", "retry_moed ="), "unknown key 'envs.dev.retry_moed'"),
    ("wrong type", GOOD.replace('account = "536580886816"', "account = 536580886816"),
     "key 'envs.dev.account' must be a string"),
    ("missing value", GOOD.replace('account = "815856636111"\n', ""), "required key 'envs.sit.account' is missing"),
    ("bad choice", GOOD.replace('frequency = "daily"', 'frequency = "weekly"'), "backup.frequency"),
    ("not toml", GOOD + "\n[envs.dev\n", "not valid TOML"),
    ("nested wrong type", GOOD.replace("retention_days = 14", 'retention_days = "14"'),
     "key 'envs.sit.backup.retention_days' must be an integer"),
    ("list of wrong items", GOOD.replace('replicas = []', 'replicas = [1]'), "envs.dev.dynamodb.replicas[0]"),
    ("bad account id", GOOD.replace('"536580886816"', '"5365"'), "12-digit account id"),
]


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
