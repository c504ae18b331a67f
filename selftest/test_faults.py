"""Every declared runbook fault makes exactly its checks fail, with id and resource, over the whole suite.

The oracle is each fault's declaration (`@fault(..., fails=..., errors=..., needs=..., removes=...)` in
checks/areas/<area>/faults.py), written from the runbook, apart from the checks: a fault on a resource
names the tests that must fail (or error) for that resource, and nothing else may.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from checks.core.catalog import entry, placeholders
from checks.core.config import load
from checks.world.faults import FAULTS, oracle
from selftest.world_diff import FaultProbe, changed_reads

ENV = load()["local"]
TABLES = list(ENV.tables)
BUCKET = ENV.s3.bucket
TEMPLATES = ENV.s3.templates
WORST = ("P0", "P1")


def resource_for(fid: str, draw_index: int = 0) -> str | None:
    found = FAULTS[fid].resources(ENV)
    return found[draw_index % len(found)] if found else None


def check(result, faults: list[tuple[str, str | None]]) -> None:
    want = oracle(faults, ENV)
    assert "INTERNALERROR" not in result.stdout, result.internal_error()
    assert result.failed == {t for t, w in want.items() if w.outcome == "failed"}, result.stdout[-3000:]
    assert result.errors == {t for t, w in want.items() if w.outcome == "error"}, result.stdout[-3000:]
    for test, w in want.items():
        assert result.check_of[test] == w.check
        assert result.records[test]["resource"] == w.resource, (test, result.records[test]["resource"])
    for test, rec in result.records.items():
        if rec["outcome"] in ("failed", "error"):
            assert rec["remediation"], test
            unfilled = [p for p in placeholders(entry(rec["check"]).resolution) if f"<{p}>" in rec["remediation"]]
            assert not unfilled, f"{test}: remediation leaves {unfilled} unfilled: {rec['remediation']}"
    blocking = any(w.outcome == "error" or entry(w.check).severity_for(t) in WORST for t, w in want.items())
    assert (result.ret != 0) == blocking, "exit status: NO-GO exactly when a P0/P1 fails or a check errors"


def test_clean_world_passes_and_the_probe_sees_no_change(suite):
    """A clean world passes every check the oracle names, for every fault on every resource. The reads taken
    before a fault and the run's own reads agree when nothing is injected: the diff judged below is the
    fault's, not the probe's."""
    probe = FaultProbe(None)
    result = suite.run(plugins=[probe])
    assert result.failed == set() and result.errors == set(), result.stdout[-3000:]
    named = set()
    for fid, f in FAULTS.items():
        for resource in f.resources(ENV) or [None]:
            named |= oracle([(fid, resource)], ENV).keys()
    assert named <= result.passed, named - result.passed
    assert result.ret == 0 and not probe.problems, probe.problems
    assert probe.before and changed_reads(probe.before, probe.after) == {}


@pytest.mark.parametrize("fid", list(FAULTS))
def test_fault_fails_exactly_its_checks_and_changes_only_what_it_declares(suite, fid):
    """One world, one run: the suite's world is read, the fault injected (FaultProbe), and the run's own reads
    and results judged. The run fails exactly the checks the oracle names (with id and resource); the fault
    changes the answers of the reads it declares (`changes`), and only those; a fault on a table or a bucket
    changes no read that names another of the env's tables or buckets."""
    f = FAULTS[fid]
    resource = resource_for(fid, 1)
    probe = FaultProbe(fid, resource)
    result = suite.run(plugins=[probe])
    check(result, [(fid, resource)])
    assert not probe.problems, probe.problems
    changed = changed_reads(probe.before, probe.after)
    assert changed, f"{fid} changed no read of the suite's"
    undeclared = {op for op in changed if tuple(op.split(":")) not in f.changes}
    assert not undeclared, f"{fid} also changed {sorted(undeclared)}: declare them in its `changes`, or narrow it"
    if f.kind in ("table", "bucket"):
        others = [n for n in (ENV.tables if f.kind == "table" else [BUCKET]) if n != resource]
        touched = {op: p for op, ps in changed.items() for p in ps
                   if f'"{resource}"' not in p and any(f'"{n}"' in p for n in others)}
        assert not touched, f"{fid} on {resource} changed reads of other {f.kind}s: {touched}"


def test_wrong_region_message_says_where(suite):
    result = suite.run(tests=("tests/dynamodb",), faults="DDB-01:products")
    msg = result.records["test_table_exists[products]"]["message"]
    assert "deployed to eu-west-1, expected af-south-1" in msg


def test_remediation_is_filled_with_the_real_names(suite):
    result = suite.run(tests=("tests/dynamodb",), faults="DDB-03:campaigns")
    rec = result.records["test_pitr_enabled[campaigns]"]
    assert rec["remediation"] == ("aws dynamodb update-continuous-backups --table-name campaigns --region af-south-1 "
                                  "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true")
    assert rec["severity"] == "P1"
    assert any(o["operation"] == "DescribeContinuousBackups" for o in rec["observations"])
    assert "runbook DDB-03" in result.stdout


# Each example is a full suite run (~3 s), so no shrinking: a failure is reported as drawn.
@settings(max_examples=3, deadline=None, phases=[Phase.generate], derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(list(FAULTS)), st.integers(0, 11)), min_size=2, max_size=4,
                unique_by=lambda t: t[0]))
def test_random_fault_sets_give_the_union(suite, picks):
    faults = [(fid, resource_for(fid, i)) for fid, i in picks]
    note(f"faults: {faults}")
    result = suite.run(faults=",".join(f"{f}:{r}" if r else f for f, r in faults))
    check(result, faults)


AWS_SUITES = ("tests/dynamodb", "tests/s3")


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
