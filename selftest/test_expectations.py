"""Issue 11.3: every key of environments.toml is honoured by the check it declares.

Each key says what honours it beside its type (`Honoured(...)` in checks/core/env_model.py): a test
function, or for a run setting the code; a new key that declares nothing fails `test_every_key_is_listed`.

The flips prove it for the DynamoDB, backup and S3 expectations: the skeleton env below is written twice,
with every key's first flip value (BASE) and with its second (FLIPPED). The world built from FLIPPED,
checked against FLIPPED, passes (each key's check passes, or skips where the value means "not required");
the same world checked against BASE fails each key's check. The world is the same in both runs, so each
outcome follows the expectation alone.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from checks import world as world_mod
from checks.core import config

REPO = Path(__file__).resolve().parent.parent

HONOURED = config.honoured()  # each key's declaration, beside its type in checks/core/env_model.py
TESTS = sorted((REPO / "tests").rglob("test_*.py"))


def where(by: str) -> tuple[str, str]:
    """(file, function) of what honours a key: a test function's name (found under tests/) or `path::name`."""
    if "::" in by:
        path, name = by.split("::")
        return path, name
    for path in TESTS:
        if re.search(rf"^def {by}\b", path.read_text(encoding="utf-8"), flags=re.M):
            return str(path.relative_to(REPO)), by
    raise AssertionError(f"no test function {by} under tests/")


def test_every_key_is_listed():
    """A key the schema gains must say what honours it (Honoured(...) in env_model.py), or it is dead."""
    keys = set(config.keys())
    assert keys - set(HONOURED) == set(), "keys without Honoured(...) in checks/core/env_model.py: make a check " \
                                          "read them and declare it, or remove them"


@pytest.mark.parametrize("key", sorted(HONOURED))
def test_the_listed_check_exists_and_reads_the_key(key):
    path, name = where(HONOURED[key].by)
    source = (REPO / path).read_text()
    assert re.search(rf"^\s*(def|class) {name}\b", source, flags=re.M), f"{path}::{name} does not exist"
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
logging_bucket = "base-logs"
tags = { Component = "s3" }
lifecycle = { rule = "base-rule", noncurrent_days = 30 }
"""

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

SUITES = ("tests/dynamodb", "tests/s3", "tests/pdv/test_design.py")
PLACES = {"<table>": "orders", "<index>": "ByStatus", "<role>": "app"}  # the skeletons' names


def flips(pair: str) -> dict[str, Any]:
    return {k: h for k, h in HONOURED.items() if h.flip is not None and h.pair == pair}


def with_values(skeleton: str, pair: str, which: int) -> str:
    """The skeleton env with every flip of the pair set to its first (0) or second (1) value."""
    doc = tomllib.loads(skeleton)
    for key, h in flips(pair).items():
        node = doc["envs"]["flip"]
        *parents, leaf = [PLACES.get(part, part) for part in key.split(".")]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = h.flip[which]
    return toml_text(doc)


def toml_text(doc: dict[str, Any], prefix: str = "") -> str:
    """TOML for the skeletons' shapes (tables, strings, booleans, integers, lists and inline tables)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"

    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict) or not v or prefix.count(".") >= 3}
    tables = {k: v for k, v in doc.items() if k not in scalars}
    out = [f"[{prefix}]"] if prefix and scalars else []
    out += [f"{json.dumps(k)} = {value(v)}" for k, v in scalars.items()]
    for k, v in tables.items():
        out.append(toml_text(v, f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k)))
    return "\n".join(out) + "\n"


def run_pair(suite, monkeypatch, tmp_path: Path, skeleton: str, pair: str) -> tuple:
    base_path, flip_path = tmp_path / "base.toml", tmp_path / "flipped.toml"
    base_path.write_text(with_values(skeleton, pair, 0))
    flip_path.write_text(with_values(skeleton, pair, 1))
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
    follows, differs = run_pair(suite, monkeypatch, tmp_path, BASE_A if pair == "A" else BASE_B, pair)
    for result in (follows, differs):
        assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert follows.failed == set() and follows.errors == set(), follows.stdout[-3000:]
    for key, h in flips(pair).items():
        mine = {t for t in follows.outcomes if t.split("[")[0] == h.by}
        assert mine, f"{key}: no {h.by} ran"
        want = {"passed", "skipped"} if h.may_skip else {"passed"}
        wrong = {t: follows.outcomes[t] for t in mine if follows.outcomes[t] not in want}
        assert not wrong, f"{key}: against the world built to its other value, {wrong}"
        failing = {t for t in differs.outcomes if t.split("[")[0] == h.by and differs.outcomes[t] == "failed"}
        assert failing, (f"{key}: no {h.by} failed against a world that differs from environments.toml: "
                         f"{ {t: differs.outcomes[t] for t in differs.outcomes if t.split('[')[0] == h.by} }")
    if pair == "A":
        skipped = {t: r["message"] for t, r in follows.records.items() if t == "test_account_public_access_block"}
        assert "s3.account_public_access_block = false" in skipped["test_account_public_access_block"]


def test_the_flips_cover_every_world_built_expectation():
    """A key the world builds either has a flip or says why not (Honoured(no_flip=...))."""
    areas = ("dynamodb.", "backup.", "s3.", "iam.", "tags", "dr_region", "region")
    missing = [k for k in config.keys() if k.startswith(areas) and HONOURED[k].flip is None and not HONOURED[k].no_flip]
    assert missing == [], f"world-built expectations without a flip (or a no_flip reason): {sorted(missing)}"


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
