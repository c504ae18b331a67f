"""Issue 24, live AWS checks: misconfigurations a deployment drifts into, each found (and its correct form not).

Pure-function and view tests over hand-made snapshots (no world), plus one whole run that proves every
record names the resource it judged. The fault matrix (test_faults.py) proves each check in a real world:
DDB-04.vault, S3-02.external, S3-05.filter and S3-06.tls.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from checks.areas.dynamodb.views import Backup
from checks.areas.s3 import policy as pol
from checks.areas.s3.views import Bucket, filter_prefix
from checks.core.config import load
from checks.core.snapshot import Observation, Snapshot

REPO = Path(__file__).resolve().parent.parent
ENV = load()["local"]
ACCT = ENV.account
OTHER = "210987654321"
BUCKET = "drift-bucket"
ARN = f"arn:aws:s3:::{BUCKET}"
OWNER_ID = "a" * 64


def snapshot(*observations: tuple[str, str, dict[str, Any], Any]) -> Snapshot:
    snap = Snapshot()
    for service, operation, params, response in observations:
        snap.add(Observation(service, ENV.region, operation, params, "", response=response))
    return snap


def bucket_with(statements: list[dict[str, Any]], expected: list[str] = ()) -> Bucket:
    env = ENV.model_copy(update={"s3": ENV.s3.model_copy(update={"external_principals": list(expected)})})
    snap = snapshot(("s3", "GetBucketPolicy", {"Bucket": BUCKET}, {"Policy": json.dumps({"Statement": statements})}),
                    ("s3", "ListBuckets", {}, {"Buckets": [{"Name": BUCKET}], "Owner": {"ID": OWNER_ID}}))
    return Bucket(snap, env, BUCKET)


def allow(principal: Any, condition: dict[str, Any] | None = None, sid: str = "Grant", **extra: Any) -> dict[str, Any]:
    st = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"{ARN}/*"}
    return {**st, **({"Condition": condition} if condition else {}), **extra}


def module_of(path: str) -> Any:
    """A module of tests/ (not a package), to call its assertions on hand-made views."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- S3-02: principals outside the account

@pytest.mark.parametrize("statement,expected,found", [
    (allow({"AWS": f"arn:aws:iam::{ACCT}:role/app"}), [], []),
    (allow({"AWS": ACCT}), [], []),
    (allow({"AWS": f"arn:aws:iam::{OTHER}:root"}), [], [f"Grant: arn:aws:iam::{OTHER}:root"]),
    (allow({"AWS": [f"arn:aws:iam::{ACCT}:root", OTHER]}), [], [f"Grant: {OTHER}"]),
    (allow({"AWS": f"arn:aws:iam::{OTHER}:role/reader"}), [OTHER], []),
    (allow({"AWS": f"arn:aws:iam::{OTHER}:role/reader"}), [f"arn:aws:iam::{OTHER}:role/reader"], []),
    (allow({"AWS": f"arn:aws:iam::{OTHER}:role/writer"}), [f"arn:aws:iam::{OTHER}:role/reader"],
     [f"Grant: arn:aws:iam::{OTHER}:role/writer"]),
    (allow({"AWS": f"arn:aws:iam::{OTHER}:role/reader-eu"}), [f"arn:aws:iam::{OTHER}:role/reader-*"], []),
    (allow({"AWS": "AROAEXAMPLEDELETEDROLE"}), [],
     ["Grant: AROAEXAMPLEDELETEDROLE (names no account: deleted since?)"]),
    (allow({"Service": "logging.s3.amazonaws.com"}), [], []),
    (allow({"CanonicalUser": OWNER_ID}), [], []),
    (allow({"CanonicalUser": "b" * 64}), [], [f"Grant: CanonicalUser {'b' * 64}"]),
    (allow("*"), [], []),  # an unconditional '*' is test_bucket_policy_not_public's finding
    (allow("*", {"StringEquals": {"aws:SourceIp": "10.0.0.0/8"}}), [], []),
    (allow("*", {"StringEquals": {"aws:PrincipalAccount": ACCT}}), [], []),
    (allow({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": [ACCT, OTHER]}}), [],
     [f"Grant: {OTHER} (Principal '*' limited by a condition to it)"]),
    (allow("*", {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/*"}}), [OTHER], []),
    ({"Sid": "AllBut", "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "s3:*",
      "Resource": ARN}, [ACCT],
     [f"AllBut: every principal except arn:aws:iam::{ACCT}:root (Allow with NotPrincipal)"]),
    ({**allow({"AWS": f"arn:aws:iam::{OTHER}:root"}), "Effect": "Deny"}, [], []),
])
def test_external_grants(statement: dict[str, Any], expected: list[str], found: list[str]) -> None:
    assert [str(g) for g in bucket_with([statement], expected).external_grants()] == found


def test_external_grant_is_an_s3_02_finding_and_a_listed_one_is_not() -> None:
    check = module_of("tests/s3/test_buckets.py").test_bucket_policy_external_principals
    grant = allow({"AWS": f"arn:aws:iam::{OTHER}:role/partner"}, sid="PartnerRead")
    with pytest.raises(AssertionError, match=f"outside account {ACCT} that s3.external_principals does not list: "
                                             f"PartnerRead: arn:aws:iam::{OTHER}:role/partner"):
        check(bucket_with([grant]))
    check(bucket_with([grant], [OTHER]))


# --------------------------------------------------------------------------- S3-06: the TLS-only deny

def tls_deny(resource: Any, principal: Any = "*", action: Any = "s3:*", **extra: Any) -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": principal, "Action": action,
            "Resource": resource, "Condition": {"Bool": {"aws:SecureTransport": "false"}}, **extra}


@pytest.mark.parametrize("statements,gaps", [
    ([tls_deny([ARN, f"{ARN}/*"])], []),
    ([tls_deny(f"{ARN}*")], []),
    ([tls_deny("*")], []),
    ([tls_deny(ARN), tls_deny(f"{ARN}/*", principal={"AWS": "*"}, action="*")], []),
    ([{**tls_deny(None), "NotResource": "arn:aws:s3:::another-bucket/*"}], []),
    ([tls_deny(f"{ARN}/*")], [f"does not cover {ARN} (the bucket)"]),
    ([tls_deny(ARN)], [f"does not cover {ARN}/* (its objects)"]),
    ([tls_deny([ARN, f"{ARN}/private/*"])], [f"does not cover {ARN}/* (its objects)"]),
    ([tls_deny([ARN, f"{ARN}/*"], action=["s3:GetObject"])],
     [f"covers {ARN} (the bucket) only for principal * and actions s3:GetObject, expected '*' and s3:*",
      f"covers {ARN}/* (its objects) only for principal * and actions s3:GetObject, expected '*' and s3:*"]),
    ([tls_deny(f"{ARN}*", principal={"AWS": f"arn:aws:iam::{OTHER}:root"})],
     [f"covers {ARN} (the bucket) only for principal arn:aws:iam::{OTHER}:root and actions s3:*, "
      "expected '*' and s3:*",
      f"covers {ARN}/* (its objects) only for principal arn:aws:iam::{OTHER}:root and actions s3:*, "
      "expected '*' and s3:*"]),
])
def test_tls_deny_covers_the_bucket_and_its_objects(statements: list[dict[str, Any]], gaps: list[str]) -> None:
    assert pol.tls_gaps(statements, BUCKET) == gaps


def test_tls_deny_on_the_objects_only_is_an_s3_06_finding() -> None:
    check = module_of("tests/s3/test_buckets.py").test_policy_denies_insecure_transport
    with pytest.raises(AssertionError, match=r"Deny on aws:SecureTransport = false does not cover "
                                             rf"{ARN} \(the bucket\)$"):
        check(bucket_with([tls_deny(f"{ARN}/*")]))
    with pytest.raises(AssertionError, match="has no Deny on aws:SecureTransport = false"):
        check(bucket_with([]))
    check(bucket_with([tls_deny([f"{ARN}/*", ARN])]))


# --------------------------------------------------------------------------- S3-05: the replication filter

@pytest.mark.parametrize("rule,prefix", [
    ({"Filter": {}}, ""),
    ({"Filter": {"Prefix": ""}}, ""),
    ({"Filter": {"Prefix": "receipts/"}}, "receipts/"),
    ({"Filter": {"And": {"Prefix": "marketing/", "Tags": [{"Key": "k", "Value": "v"}]}}}, "marketing/"),
    ({"Filter": {"Tag": {"Key": "k", "Value": "v"}}}, ""),
    ({"Prefix": "invoices/"}, "invoices/"),  # the V1 rule schema
    ({}, ""),
])
def test_filter_prefix(rule: dict[str, Any], prefix: str) -> None:
    assert filter_prefix(rule) == prefix


def replicating(rule_filter: dict[str, Any]) -> Bucket:
    rep = ENV.s3.replication
    rule = {"ID": rep.rule, "Status": "Enabled", "Priority": 1, **rule_filter,
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{rep.destination}",
                            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": rep.time_control_minutes}}}}
    snap = snapshot(("s3", "GetBucketReplication", {"Bucket": ENV.s3.bucket}, {"ReplicationConfiguration": {
                        "Role": f"arn:aws:iam::{ACCT}:role/{rep.role}", "Rules": [rule]}}),
                    ("s3", "GetBucketVersioning", {"Bucket": ENV.s3.bucket}, {"Status": "Enabled"}))
    return Bucket(snap, ENV, ENV.s3.bucket)


def test_a_prefix_filter_that_leaves_templates_out_is_an_s3_05_finding() -> None:
    check = module_of("tests/s3/test_replication.py").test_replication_rule
    with pytest.raises(AssertionError, match=r"filter prefix 'notifications/' leaves out 8 of 12 templates "
                                             r"\(s3.templates\): receipts/payment_received.html, "
                                             r"receipts/payment_failed.html, receipts/refund_processed.html, ...$"):
        check(replicating({"Filter": {"Prefix": "notifications/"}}))
    for every in ({"Filter": {}}, {"Filter": {"And": {"Prefix": "", "Tags": []}}}, {"Prefix": ""}):
        check(replicating(every))


# --------------------------------------------------------------------------- DDB-04: the rule's target vault

def backup_plan(vault: str) -> Backup:
    b = ENV.backup
    plan = {"BackupPlanName": b.plan, "Rules": [{"RuleName": "hourly", "TargetBackupVaultName": vault,
                                                 "ScheduleExpression": "cron(0 * * * ? *)",
                                                 "Lifecycle": {"DeleteAfterDays": b.retention_days}}]}
    snap = snapshot(("backup", "ListBackupPlans", {}, {"BackupPlansList": [{"BackupPlanName": b.plan,
                                                                            "BackupPlanId": "p-1"}]}),
                    ("backup", "GetBackupPlan", {"BackupPlanId": "p-1"}, {"BackupPlan": plan}))
    return Backup(snap, ENV, b.plan)


def test_a_rule_backing_up_to_another_vault_is_a_ddb_04_finding() -> None:
    check = module_of("tests/dynamodb/test_backup.py").test_backup_plan
    wrong = backup_plan("leftover-vault")
    with pytest.raises(AssertionError, match=f"plan {ENV.backup.plan}'s hourly rule backs up to vault "
                                             f"leftover-vault, expected {ENV.backup.vault} \\(backup.vault\\)"):
        check(wrong)
    fix = wrong.context()["fix"]
    assert "aws backup update-backup-plan --backup-plan-id p-1 --region af-south-1" in fix
    assert f"TargetBackupVaultName to {ENV.backup.vault}" in fix
    right = backup_plan(ENV.backup.vault)
    check(right)
    assert right.context()["fix"] == ""


# --------------------------------------------------------------------------- every record names its resource

# Checks of the env as a whole: their record names the env (PDV-08 compares its whole configuration).
ENV_WIDE = {"test_parity"}
# The GitHub environment is named like the env by default ("{env}"): renamed here, so that a record naming
# the env can only be one whose resource fell back to the env's name.
LOCAL_GITHUB = 'github = { required_approvers = 3 }\ndynamodb = { deletion_protection = true, replicas = ["eu-west-1"]'


def test_every_record_names_the_resource_it_judged(suite, tmp_path):
    text = (REPO / "environments.toml").read_text()
    assert text.count(LOCAL_GITHUB) == 2 and text.rindex(LOCAL_GITHUB) > text.index("[envs.local]")
    head, _, tail = text.rpartition(LOCAL_GITHUB)
    path = tmp_path / "environments.toml"
    path.write_text(head + LOCAL_GITHUB.replace("required_approvers = 3", 'required_approvers = 3, '
                                                'environment = "approvals-{env}"') + tail)
    env = load(path)["local"]
    result = suite.run("--environments", str(path), "--infra-repo", str(REPO / "selftest" / "infra_repo"))
    assert result.failed == set() and result.errors == set(), result.stdout[-3000:]
    named_env = {t for t, r in result.records.items() if r["resource"] == env.name}
    assert {t.split("[")[0] for t in named_env} <= ENV_WIDE, named_env
    resources = {t: r["resource"] for t, r in result.records.items()}
    rep = env.s3.replication
    assert resources["test_replication_role"] == rep.role
    assert resources["test_backup_vault"] == env.backup.vault
    assert resources["test_backup_plan"] == env.backup.plan
    assert resources["test_nothing_unexpected"] == env.account
    assert resources["test_reads_allowed[account]"] == env.account
    assert resources["test_environment_reviewers[approvals-local]"] == "approvals-local"
    key = env.s3.templates[0]
    assert resources[f"test_template_replicated[{key}]"] == key, "the template it judged, not the DR bucket"
    replicated = result.records[f"test_template_replicated[{key}]"]["runbook"]["resolution"]
    assert f"get-bucket-replication --bucket {env.s3.bucket};" in replicated, "S3-05's commands: the source bucket"
    leftovers = result.records[f"test_no_leftover_canary_objects[{env.s3.bucket}]"]["runbook"]["resolution"]
    assert "--key healthcheck/bbws-canary/" in leftovers and key not in leftovers, "never a template to delete"
