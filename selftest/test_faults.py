"""Issue 3: each DynamoDB and S3 runbook fault makes exactly its checks fail, with id and resource.

The oracle below is written from the runbook, independently of the checks: a fault on a
resource names the tests that must fail (or error) for that resource, and nothing else may.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from checks.core.catalog import entry, placeholders
from checks.core.config import load

ENV = load()["local"]
TABLES = list(ENV.tables)
BUCKET = ENV.s3.bucket
TEMPLATES = ENV.s3.templates
AWS_SUITES = ("tests/dynamodb", "tests/s3")


def expected(faults: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(failed, errors, resources): short test id -> check id (and -> the resource it names), for
    a set of (fault id, resource)."""
    deleted_tables = {r for f, r in faults if f == "DDB-01"}
    bucket_deleted = any(f == "S3-01" for f, _ in faults)
    failed: dict[str, str] = {}
    errors: dict[str, str] = {}
    resources: dict[str, str] = {}
    for fid, r in faults:
        if fid.startswith("DDB") and fid not in ("DDB-01", "DDB-06") and r in deleted_tables:
            continue  # the table is gone: its other checks are skipped, DDB-01 reports it
        if fid.startswith("S3") and fid != "S3-01" and bucket_deleted:  # (the denied read still errors)
            continue
        tests = {
            "DDB-01": {f"test_table_exists[{r}]": "DDB-01"},
            "DDB-02": {f"test_gsi[{r}-ActiveIndex]": "DDB-02"},
            "DDB-03": {f"test_pitr_enabled[{r}]": "DDB-03"},
            "DDB-04": {f"test_backup_selection_covers[{r}]": "DDB-04"},
            "DDB-05": {f"test_table_tag[{r}-Environment]": "DDB-05"},
            "DDB-06": {f"test_reads_allowed[{r}]": "DDB-06"},
            "S3-01": {f"test_bucket_exists[{r}]": "S3-01"},
            "S3-02": {f"test_bucket_public_access_block[{r}]": "S3-02", f"test_bucket_policy_not_public[{r}]": "S3-02"},
            "S3-03": {f"test_versioning_enabled[{r}]": "S3-03", f"test_replication_rule[{r}]": "S3-05"},
            "S3-04": {f"test_template[{r}]": "S3-04"},
            "S3-05": {f"test_replication_rule[{r}]": "S3-05"},
            "S3-06": {f"test_default_encryption[{r}]": "S3-06"},
        }[fid]
        failed.update(tests)
        resources.update(dict.fromkeys(tests, r))
        if fid == "DDB-06":  # the denied read makes its assertion an error, never a pass or a fault
            errors[f"test_pitr_enabled[{r}]"] = "DDB-03"
            resources[f"test_pitr_enabled[{r}]"] = r
    for t in errors:
        failed.pop(t, None)
    return failed, errors, resources


def resource_for(fid: str, draw_index: int = 0) -> str:
    if fid.startswith("DDB"):
        return TABLES[draw_index % len(TABLES)]
    if fid == "S3-04":
        return TEMPLATES[draw_index % len(TEMPLATES)]
    return BUCKET


def check(result, faults: list[tuple[str, str]]) -> None:
    want_failed, want_errors, want_resources = expected(faults)
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert result.failed == set(want_failed), result.stdout[-3000:]
    assert result.errors == set(want_errors), result.stdout[-3000:]
    for test, check_id in {**want_failed, **want_errors}.items():
        assert result.check_of[test] == check_id
        rec = result.records[test]
        assert rec["resource"] == want_resources[test], (test, rec["resource"])
    for test, rec in result.records.items():
        if rec["outcome"] in ("failed", "error"):
            assert rec["remediation"], test
            unfilled = [p for p in placeholders(entry(rec["check"]).resolution) if f"<{p}>" in rec["remediation"]]
            assert not unfilled, f"{test}: remediation leaves {unfilled} unfilled: {rec['remediation']}"


def test_clean_world_passes(suite):
    result = suite.run(tests=AWS_SUITES)
    assert result.failed == set() and result.errors == set(), result.stdout[-3000:]
    assert result.skipped == set() and result.passed == set(result.outcomes)
    # every test the oracle names, for every fault on every resource, ran here and passed
    named = set()
    for fid in FAULT_IDS:
        for i in range(max(len(TABLES), len(TEMPLATES))):
            failed, errors, _ = expected([(fid, resource_for(fid, i))])
            named |= failed.keys() | errors.keys()
    assert named <= result.passed, named - result.passed
    assert result.ret == 0


FAULT_IDS = ["DDB-01", "DDB-02", "DDB-03", "DDB-04", "DDB-05", "DDB-06",
             "S3-01", "S3-02", "S3-03", "S3-04", "S3-05", "S3-06"]


@pytest.mark.parametrize("fid", FAULT_IDS)
def test_fault_fails_exactly_its_checks(suite, fid):
    resource = resource_for(fid, 1)
    result = suite.run(tests=AWS_SUITES, faults=f"{fid}:{resource}")
    check(result, [(fid, resource)])
    assert (result.ret != 0) == (fid != "DDB-05")  # a P2 finding alone is CONDITIONAL GO, exit 0


def test_wrong_region_message_says_where(suite):
    result = suite.run(tests=AWS_SUITES, faults="DDB-01:products")
    msg = result.records["test_table_exists[products]"]["message"]
    assert "deployed to eu-west-1, expected af-south-1" in msg


def test_remediation_is_filled_with_the_real_names(suite):
    result = suite.run(tests=AWS_SUITES, faults="DDB-03:campaigns")
    rec = result.records["test_pitr_enabled[campaigns]"]
    assert rec["remediation"] == ("aws dynamodb update-continuous-backups --table-name campaigns --region af-south-1 "
                                  "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true")
    assert rec["severity"] == "P1"
    assert any(o["operation"] == "DescribeContinuousBackups" for o in rec["observations"])
    assert "runbook DDB-03" in result.stdout


# Each example is a full suite run (~5 s), so no shrinking: a failure is reported as drawn.
@settings(max_examples=6, deadline=None, phases=[Phase.generate], derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(FAULT_IDS), st.integers(0, 11)), min_size=2, max_size=4,
                unique_by=lambda t: t[0]))
def test_random_fault_sets_give_the_union(suite, picks):
    faults = [(fid, resource_for(fid, i)) for fid, i in picks]
    note(f"faults: {faults}")
    result = suite.run(tests=AWS_SUITES, faults=",".join(f"{f}:{r}" for f, r in faults))
    check(result, faults)


@pytest.mark.parametrize("service,operation,test", [
    ("s3", "GetBucketVersioning", f"test_versioning_enabled[{BUCKET}]"),
    ("dynamodb", "ListTagsOfResource", "test_table_tag[products-Owner]"),
    ("s3", "GetBucketEncryption", f"test_default_encryption[{BUCKET}]"),
])
def test_access_denied_is_an_error_not_a_finding(suite, service, operation, test):
    class Deny:
        def pytest_bbws_world_ready(self, world):
            world.deny(service, operation)

    result = suite.run(tests=AWS_SUITES, plugins=[Deny()])
    assert test in result.errors
    assert test not in result.failed
    assert "could not verify" in result.records[test]["message"] and operation in result.records[test]["message"]
    assert result.failed and all(t.startswith("test_reads_allowed[") for t in result.failed), result.failed
    denied = " ".join(result.records[t]["message"] for t in result.failed)
    assert f"{service}:{operation}" in denied


def test_missing_resource_is_an_error_when_its_own_check_is_not_selected(suite):
    result = suite.run("-k", "pitr", tests=AWS_SUITES, faults="DDB-01:tenants")
    assert "test_pitr_enabled[tenants]" in result.errors
    assert "test_table_exists is not part of this run" in result.records["test_pitr_enabled[tenants]"]["message"]
    assert result.ret != 0
