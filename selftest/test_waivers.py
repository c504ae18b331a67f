"""Issue 21.1: accepted risks. The waivers file as pure functions: validation (every problem with file and
line), what may be waived (never an error, a P0 only where the env allows it), expiry against the run's
recorded start, and how a waived finding reads in the gate, results.json, SARIF and the job summary."""

from __future__ import annotations

import pytest

from checks.core import config
from checks.core.record import CheckRecord, Location
from checks.core.waivers import WaiverError, parse
from checks.evidence import gate as g
from checks.evidence import sarif
from checks.evidence.summary import decision_label, headline, markdown

ENVS = config.load()
SIT = ENVS["sit"]
START = "2027-03-01T09:30:00+00:00"


def waivers(text: str, env=SIT, started: str = START, known=("dev", "sit", "prod", "local")):
    return parse(text, "risks/accepted.toml", env, started, known)


def record(check="S3-06", outcome="failed", severity="P1", resource="bbws-templates-sit",
           name="test_default_encryption[bbws-templates-sit]", message="bucket encryption is aws:kms") -> CheckRecord:
    return CheckRecord(check=check, title="t", test=f"tests/s3/test_buckets.py::{name}", name=name,
                       resource=resource, outcome=outcome, severity=severity, message=message)


ONE = """
[[waiver]]
check = "S3-06"
resource = "bbws-templates-sit"
justification = "KMS rollout finishes with CHG-77"
approved_by = "Ops Lead"
ticket = "CHG-77"
expires = 2027-03-10
"""


def test_an_active_waiver_turns_a_failure_into_waived_and_keeps_the_finding() -> None:
    w = waivers(ONE)
    done = w.apply(record())
    assert done.outcome == "waived" and done.message == "bucket encryption is aws:kms"
    assert done.waiver["status"] == "applied" and done.waiver["expires"] == "2027-03-10"
    assert done.waiver["where"] == "waivers.toml:2" and done.waiver["days_left"] == 9
    assert done.result()["waiver"]["justification"] == "KMS rollout finishes with CHG-77"
    assert "waiver" not in record().result(), "a row no waiver matched keeps its shape"
    assert CheckRecord.from_dict(done.to_dict()) == done
    for other in (record(resource="bbws-logs-sit"), record(check="S3-03"), record(outcome="passed")):
        assert w.apply(other) == other


def test_a_waived_finding_decides_nothing_and_the_banner_counts_it() -> None:
    w = waivers(ONE)
    gate = g.decide([w.apply(record()), record(outcome="passed", check="DDB-03")])
    assert gate.decision == g.GO and gate.reasons == [] and gate.counts["by_outcome"]["waived"] == 1
    assert decision_label(gate) == "GO · 1 waived finding"
    assert "1 waived (accepted risk)" in headline(gate)
    md = markdown(gate, {"env": "sit"}, since="1 new since r1 (GO, t)")
    assert "**GO · 1 waived finding**" in md and "| waived |" in md and "1 new since r1 (GO, t)" in md
    assert g.decide([w.apply(record())]).decision == g.GO, "a run whose only finding is waived ran"


def test_an_expired_waiver_does_not_apply_and_the_message_says_so() -> None:
    w = waivers(ONE, started="2027-03-11T00:00:01Z")  # the day after 2027-03-10
    done = w.apply(record())
    assert done.outcome == "failed" and done.waiver["status"] == "expired"
    assert done.message == ("bucket encryption is aws:kms; waiver expired on 2027-03-10 (waivers.toml:2, "
                            "approved by Ops Lead, CHG-77)")
    assert g.decide([done]).decision == g.NO_GO
    assert waivers(ONE, started="2027-03-10T23:59:59Z").apply(record()).outcome == "waived", "through its day"


def test_an_error_is_never_waived() -> None:
    done = waivers(ONE).apply(record(outcome="error", message="AccessDenied on GetBucketEncryption"))
    assert done.outcome == "error" and done.waiver["status"].startswith("not applied: an error is never waived")
    assert "an error cannot be waived: what was not verified cannot be approved" in done.message
    assert g.decide([done]).decision == g.NO_GO


def test_a_p0_waiver_is_a_usage_error_unless_the_env_allows_p0() -> None:
    p0 = """
[[waiver]]
check = "PDV-01"
justification = "j"
approved_by = "a"
expires = 2027-03-10
"""
    with pytest.raises(WaiverError) as err:
        waivers(p0)
    assert "accepted.toml:2: waiver for PDV-01 (every resource): PDV-01 is P0, and env sit accepts waivers " \
           "only for P1, P2, P3 (`waivable` in environments.toml)" in str(err.value)
    allowing = SIT.model_copy(update={"waivable": ["P0", "P1"]})
    assert len(waivers(p0, env=allowing).waivers) == 1
    mixed = p0.replace('"PDV-01"', '"S3-02"')  # P0, with test_access_logging at P2
    with pytest.raises(WaiverError, match='name it: test = "test_access_logging"'):
        waivers(mixed)
    narrowed = waivers(mixed.replace('justification', 'test = "test_access_logging"\njustification'))
    logging = record(check="S3-02", severity="P2", name="test_access_logging[bbws-templates-sit]")
    assert narrowed.apply(logging).outcome == "waived"
    assert narrowed.apply(record(check="S3-02", severity="P0", name="test_bucket_policy_not_public[x]")) \
        .outcome == "failed", "the narrowed waiver leaves the P0 tests of the check alone"


def test_a_malformed_file_lists_every_problem_with_file_and_line() -> None:
    text = """[[waiver]]
check = "S3-6"
justification = "j"
expires = "2027-03-10"

[[waiver]]
check = "DDB-03"
justificaton = "typo"
approved_by = "a"
envs = ["sitt"]
expires = 2027-03-10T10:00:00Z

[[waiver]]
check = "DDB-05"
justification = "j"
approved_by = "a"
expires = 2027-09-01
"""
    with pytest.raises(WaiverError) as err:
        waivers(text)
    lines = str(err.value).splitlines()
    assert lines[0] == "risks/accepted.toml: 8 problem(s) in the waivers file:"
    found = "\n".join(lines[1:])
    for expected in ("accepted.toml:2: unknown check id 'S3-6'",
                     "accepted.toml:1: required key 'approved_by' is missing",
                     "accepted.toml:4: 'expires' must be a TOML date without quotes",
                     "accepted.toml:8: unknown key 'justificaton'",
                     "accepted.toml:6: required key 'justification' is missing",
                     "accepted.toml:10: unknown env(s) 'sitt'",
                     "accepted.toml:11: 'expires' must be a TOML date without quotes (expires = 2027-01-31), got a "
                     "date-time",
                     "accepted.toml:17: waiver for DDB-05 (every resource) expires 2027-09-01, 184 days after the "
                     "run's start (2027-03-01); env sit allows at most 90"):
        assert expected in found, f"{expected!r} not in:\n{found}"
    with pytest.raises(WaiverError, match=r"^risks/accepted.toml:3: not valid TOML"):
        waivers('[[waiver]]\ncheck = "DDB-03"\nexpires = 2027-13-45\n')


def test_other_envs_waivers_are_left_to_them_and_duplicates_are_refused() -> None:
    text = ONE + ONE.replace('resource = "bbws-templates-sit"', 'envs = ["prod"]')
    w = waivers(text)
    assert len(w.waivers) == 1 and w.other_envs == 1
    with pytest.raises(WaiverError, match="duplicates the one at line 2"):
        waivers(ONE + ONE)


def test_expiring_soon_and_unused_waivers_are_listed() -> None:
    text = ONE + """
[[waiver]]
check = "DDB-03"
resource = "tenants"
justification = "j"
approved_by = "a"
expires = 2027-05-01
"""
    w = waivers(text)
    summary = w.summary([w.apply(record())])
    assert [x["check"] for x in summary["applied"]] == ["S3-06"]
    assert [x["where"] for x in summary["expiring_soon"]] == ["waivers.toml:2"]  # 9 days ahead: within 14
    assert [x["where"] for x in summary["unused"]] == ["waivers.toml:10"]
    assert summary["judged_at"] == START and summary["file"] == "waivers.toml"


def test_sarif_marks_a_waived_finding_as_an_accepted_suppression() -> None:
    w = waivers(ONE.replace('"S3-06"', '"CICD-01"').replace('resource = "bbws-templates-sit"',
                                                            'resource = "deploy-sit.yml"'))
    found = w.apply(CheckRecord(check="CICD-01", title="Workflow", test="tests/cicd/t.py::test_x[deploy-sit.yml]",
                                name="test_x[deploy-sit.yml]", resource="deploy-sit.yml", outcome="failed",
                                severity="P1", message="bad label", location=Location(".github/workflows/d.yml", 7)))
    result = sarif.sarif([found], {"env": "sit"})["runs"][0]["results"][0]
    assert result["suppressions"][0]["kind"] == "external" and result["suppressions"][0]["status"] == "accepted"
    assert result["suppressions"][0]["justification"].startswith("KMS rollout finishes with CHG-77 (approved by")
    assert sarif.annotations([found]) == [], "an accepted finding is not annotated as an error"
