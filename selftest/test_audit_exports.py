"""Issue 22, audit views: every check mapped to the controls it evidences (each mapping sourced), the
compliance view and CSVs, the OCSF and ASFF exports (validated against the OCSF models and Security Hub's
own API model), `--list-checks` without credentials, and `--severity` as a labelled partial selection."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import botocore.session
import botocore.validate
import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import ValidationError

from checks.core import catalog as catalog_mod
from checks.core import controls as ctl
from checks.core.catalog import catalog
from checks.core.record import CheckRecord, Location
from checks.evidence import asff, compliance, csv_export, ocsf
from checks.evidence.hooks import export_names
from checks.plugin.selection import parse_severity

REPO = Path(__file__).resolve().parent.parent
# whose published pages a mapping may cite: AWS, NIST, CIS, the AICPA, ISO
PUBLISHERS = {"docs.aws.amazon.com", "csrc.nist.gov", "www.cisecurity.org", "www.aicpa-cima.com", "www.iso.org"}
META = {"env": "qa", "account": "210987654321", "region": "eu-west-1", "run_id": "20260102T030405Z-abc123",
        "started": "2026-01-02T03:04:05+00:00", "finished": "2026-01-02T03:05:00+00:00"}


def rec(check: str, name: str, outcome: str, **kw: Any) -> CheckRecord:
    e = catalog().get(check)
    return CheckRecord(check=check, title=e.title if e else "synthetic", test=f"tests/x/test_x.py::{name}",
                       name=name, resource=kw.pop("resource", "ledger"), outcome=outcome,  # type: ignore[arg-type]
                       severity=kw.pop("severity", e.severity_for(name) if e else "P1"),
                       controls=e.controls_for(name) if e else (), **kw)


def defined_tests() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        names |= {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
    return names


# ----- the mapping: sourced, complete where the issue says, a catalog field -----

def test_every_mapped_control_has_a_published_source() -> None:
    for ref, c in ctl.declared().items():
        assert urlparse(c.source).netloc in PUBLISHERS, f"{ref}: {c.source} is not a publisher's page"
        assert c.title, f"{ref} has no title"
    for fw in ctl.frameworks().values():
        assert urlparse(fw.source).netloc in PUBLISHERS and fw.short
    for e in catalog().values():
        for ref in e.all_controls():
            assert ctl.sources(ref), f"{e.id}: {ref} is mapped without a source"


def test_related_requirements_come_from_the_security_hub_pages() -> None:
    for ref, c in ctl.declared().items():
        if ref.startswith("securityhub:"):
            service, number = ctl.split(ref)[1].split(".")
            assert c.source == (f"https://docs.aws.amazon.com/securityhub/latest/userguide/"
                                f"{service.lower()}-controls.html#{service.lower()}-{number}")
            assert any(r.startswith("nist-800-53-r5:") for r in c.related), f"{ref} lists no NIST requirement"
        else:
            assert not c.related, f"{ref}: only a Security Hub page's related requirements are carried over"
    pitr = catalog()["DDB-03"].controls_for("test_pitr_enabled[orders]")
    assert {"securityhub:DynamoDB.2", "nist-800-53-r5:CP-9", "nist-800-53-r5:SI-12"} <= set(pitr)
    tls = catalog()["S3-06"].controls_for("test_policy_denies_insecure_transport[b]")
    assert {"securityhub:S3.5", "nist-800-53-r5:SC-8", "cis-aws-1-4:2.1.2"} <= set(tls)
    assert catalog()["S3-06"].controls_for("test_default_encryption[b]") == ()  # S3.4: not sourced (see README)


def test_change_management_and_backup_controls() -> None:
    change = {"nist-800-53-r5:CM-3", "nist-800-53-r5:CM-5", "soc2:CC8.1", "iso27001-2022:A.8.32"}
    for cid, e in catalog().items():
        if cid.startswith("CICD-"):
            assert change <= set(e.controls_for("test_anything")), cid
    for cid in ("DDB-03", "DDB-04"):
        assert {"nist-800-53-r5:CP-9", "iso27001-2022:A.8.13"} <= set(catalog()[cid].controls_for("test_any"))


def test_test_controls_name_real_test_functions() -> None:
    functions = defined_tests()
    for e in catalog().values():
        for name in e.test_controls:
            assert name in functions, f"{e.id}: test_controls names {name}, which no test in tests/ defines"


def test_an_unsourced_or_unknown_control_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(raw: dict[str, Any]) -> None:
        monkeypatch.setattr(ctl, "raw", lambda: raw)
        for f in (ctl.frameworks, ctl.declared, catalog_mod.catalog):
            f.cache_clear()
        catalog_mod.catalog()

    base = {"framework": {"nist-800-53-r5": {"title": "NIST", "source": "https://csrc.nist.gov/x"}},
            "Z-01": {"title": "t", "severity": "P1", "symptom": "", "cause": "", "resolution": "", "prevention": "",
                     "controls": ["nist-800-53-r5:AU-2"]}}
    try:
        with pytest.raises(ValueError, match="no \\[control"):
            load(base)  # a control with no table of its own
        with pytest.raises(ValueError, match="needs `source`"):
            load({**base, "control": {"nist-800-53-r5:AU-2": {"title": "Event Logging"}}})
        with pytest.raises(ValueError, match="unknown framework"):
            load({**base, "control": {"pci:1.2": {"title": "x", "source": "https://x.org"}}})
    finally:
        monkeypatch.undo()
        for f in (ctl.frameworks, ctl.declared, catalog_mod.catalog):
            f.cache_clear()


def test_a_record_carries_its_controls_through_xdist_and_results_json() -> None:
    r = rec("DDB-03", "test_pitr_enabled[orders]", "failed", arn="arn:aws:dynamodb:eu-west-1:1:table/orders")
    assert r.controls and CheckRecord.from_dict(r.to_dict()) == r
    row = r.result()
    assert row["controls"] == list(r.controls) and json.loads(json.dumps(row)) == row
    old = {k: v for k, v in row.items() if k != "controls"}  # a schema-1 row written before controls existed
    assert CheckRecord.from_dict(old).controls == ()


# ----- the compliance view and CSVs -----

def records() -> list[CheckRecord]:
    return [rec("DDB-03", "test_pitr_enabled[orders]", "failed", resource="orders",
                arn="arn:aws:dynamodb:eu-west-1:1:table/orders",
                message="PITR is DISABLED", remediation="aws dynamodb update-continuous-backups ..."),
            rec("DDB-03", "test_pitr_enabled[ledger]", "passed"),
            rec("S3-06", "test_policy_denies_insecure_transport[docs]", "error", resource="docs",
                arn="arn:aws:s3:::docs", message="AccessDenied on GetBucketPolicy"),
            rec("S3-02", "test_account_public_access_block", "skipped", resource="210987654321"),
            rec("CICD-04", "test_environment_reviewers[prod]", "passed", resource="prod"),
            rec("CICD-01", "test_runner_labels[deploy.yml]", "failed", resource="deploy.yml",
                location=Location(".github/workflows/deploy.yml", 12), message="=HYPERLINK(\"x\") is no label")]


def control(view: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    fw, cid = ctl.split(ref)
    return next(c for f in view if f["key"] == fw for c in f["controls"] if c["id"] == cid)


def test_compliance_status_is_the_worst_result_and_unrun_controls_say_so() -> None:
    view = compliance.view(records())
    assert [f["key"] for f in view] == list(ctl.frameworks())
    assert control(view, "securityhub:DynamoDB.2")["status"] == "failed"  # one table failed, one passed
    assert control(view, "securityhub:S3.5")["status"] == "not verified"  # an error is never a pass
    assert control(view, "securityhub:S3.1")["status"] == "skipped"
    assert control(view, "securityhub:S3.14")["status"] == "not tested"  # no result in this run
    cc81 = control(view, "soc2:CC8.1")
    assert cc81["status"] == "failed" and [c["check"] for c in cc81["checks"]] == ["CICD-01", "CICD-04"]
    assert compliance.status(["passed", "waived"]) == "waived" and compliance.status([]) == "not tested"
    cp9 = control(view, "nist-800-53-r5:CP-9")
    assert cp9["status"] == "failed" and "csrc.nist.gov" in cp9["sources"][0]


def test_csvs_have_a_row_per_result_and_no_formula_cells() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_export.results_csv(records()))))
    assert list(rows[0]) == list(csv_export.RESULT_COLUMNS) and len(rows) == len(records())
    labels = next(r for r in rows if r["check"] == "CICD-01")
    assert labels["message"].startswith("'=HYPERLINK") and "soc2:CC8.1" in labels["controls"]
    files = csv_export.compliance_csvs(records())
    assert sorted(files) == sorted(n for n in csv_export.names() if n != "results.csv")
    hub = list(csv.DictReader(io.StringIO(files["compliance_securityhub.csv"])))
    pitr = [r for r in hub if r["control"] == "DynamoDB.2"]
    assert {(r["resource"], r["outcome"], r["control_status"]) for r in pitr} == {("orders", "failed", "failed"),
                                                                               ("ledger", "passed", "failed")}
    assert any(r["control"] == "S3.14" and r["control_status"] == "not tested" and not r["test"] for r in hub)


# ----- OCSF and ASFF -----

def keys(data: Any, prefix: str = "") -> set[str]:
    if isinstance(data, dict):
        return {p for k, v in data.items() for p in {f"{prefix}{k}", *keys(v, f"{prefix}{k}.")}}
    if isinstance(data, list):
        return {p for v in data for p in keys(v, prefix)}
    return set()


def test_ocsf_detection_findings_validate_against_the_ocsf_models() -> None:
    waived = rec("S3-03", "test_versioning_enabled[docs]", "waived", resource="docs", arn="arn:aws:s3:::docs")
    found = ocsf.ocsf([*records(), waived], META)
    assert [f["unmapped"]["outcome"] for f in found].count("passed") == 0 and len(found) == 4
    for f in found:
        model = DetectionFinding.model_validate(f)
        dumped = model.model_dump(mode="json", exclude_none=True)
        known = keys(dumped) | {k for k in keys(f) if k.startswith("unmapped.")}
        assert keys(f) <= known, f"keys the OCSF model does not know: {keys(f) - known}"
        assert f["class_uid"] == 2004 and f["type_uid"] == 200401 and f["metadata"]["version"] == "1.5.0"
    pitr = next(f for f in found if f["metadata"]["event_code"] == "DDB-03")
    assert pitr["resources"][0]["uid"] == "arn:aws:dynamodb:eu-west-1:1:table/orders"
    assert pitr["severity"] == "High" and pitr["status"] == "New" and "CP-9" in pitr["unmapped"]["compliance"][
        "nist-800-53-r5"]
    assert pitr["remediation"]["desc"].startswith("aws dynamodb update-continuous-backups")
    assert any("dynamodb-controls.html#dynamodb-2" in u for u in pitr["remediation"]["references"])
    assert next(f for f in found if f["unmapped"]["outcome"] == "waived")["status"] == "Suppressed"
    labels = next(f for f in found if f["metadata"]["event_code"] == "CICD-01")
    assert labels["resources"][0] == {"uid": ".github/workflows/deploy.yml", "name": "deploy.yml", "type": "File",
                                      "region": "eu-west-1", "cloud_partition": "aws"}
    with pytest.raises(ValidationError):
        DetectionFinding.model_validate({**pitr, "severity_id": 7})  # the validator refuses what OCSF does not allow


def test_asff_findings_validate_against_security_hubs_api_model() -> None:
    found = asff.asff(records(), META)
    shape = botocore.session.get_session().get_service_model("securityhub").operation_model(
        "BatchImportFindings").input_shape
    botocore.validate.validate_parameters({"Findings": found}, shape)
    with pytest.raises(botocore.exceptions.ParamValidationError):
        botocore.validate.validate_parameters({"Findings": [{k: v for k, v in found[0].items()
                                                              if k != "AwsAccountId"}]}, shape)
    by_check = {f["GeneratorId"]: f for f in found}
    pitr = by_check["bbws-checks/DDB-03"]
    assert pitr["Compliance"]["Status"] == "FAILED" and "Security Hub DynamoDB.2" in pitr["Compliance"][
        "RelatedRequirements"]
    assert pitr["Resources"][0] == {"Type": "AwsDynamoDbTable", "Id": "arn:aws:dynamodb:eu-west-1:1:table/orders",
                                    "Partition": "aws", "Region": "eu-west-1"}
    assert by_check["bbws-checks/S3-06"]["Compliance"]["Status"] == "NOT_AVAILABLE"
    again = {f["GeneratorId"]: f["Id"] for f in asff.asff(records(), {**META, "run_id": "another"})}
    assert pitr["Id"] == again["bbws-checks/DDB-03"], "the same finding keeps its Id from run to run"


# ----- selection and discovery -----

def test_severity_values() -> None:
    assert parse_severity("p0, P1,P1") == ("P0", "P1") and parse_severity(None) == ()
    for bad in ("P5", "high", ","):
        with pytest.raises(pytest.UsageError, match="not a severity"):
            parse_severity(bad)


def test_list_checks_needs_no_credentials_and_reads_no_aws(suite, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    r = suite.run("--list-checks", env="prod")  # a real account's env: any AWS read would stop at the guard
    assert r.ret == 0, r.stdout
    out = r.stdout
    assert "DDB-03   P1  DynamoDB  PITR not enabled" in out and "static:   test_pitr_declared" in out
    assert "Security Hub DynamoDB.2; NIST 800-53 r5 CP-6(2), CP-9" in out
    assert "test_access_logging (P2)" in out and "test_policy_denies_insecure_transport: Security Hub S3.5" in out
    assert "PDV-01" in out and not r.bundles and not r.outcomes  # nothing ran, no bundle


def test_severity_selection_and_every_export_in_one_drill(suite) -> None:
    r = suite.run("--fault", "DDB-03", "--severity", "P0,P1", tests=("tests/dynamodb", "tests/s3"))
    assert r.ret == 1 and r.failed == {"test_pitr_enabled[tenants]"}, r.stdout
    assert {rec["severity"] for rec in r.records.values()} <= {"P0", "P1"}
    assert "test_access_logging[bbws-templates-local]" not in r.outcomes  # S3-02's P2 test is left out
    said = next(ln for ln in r.stdout.splitlines() if ln.startswith("not a gate run: drill"))  # issue 20: its kind
    assert "--severity P0,P1" in said and "deselected" in said
    bundle = r.bundle
    gate = json.loads((bundle / "gate.json").read_text())
    assert gate["selection"]["partial"] is True and gate["selection"]["deselected"] > 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert set(export_names()) <= set(manifest["files"])
    rows = {row["test"].split("::")[-1]: row for row in r.results_json["results"]}
    assert "securityhub:DynamoDB.2" in rows["test_pitr_enabled[tenants]"]["controls"]
    found = json.loads((bundle / "findings.ocsf.json").read_text())
    assert [f["resources"][0]["uid"] for f in found] == ["arn:aws:dynamodb:af-south-1:123456789012:table/tenants"]
    assert json.loads((bundle / "findings.asff.json").read_text())[0]["AwsAccountId"] == "123456789012"
    html = (bundle / "report.html").read_text()
    section = html[html.index('id="compliance"'):html.index('id="all-checks"')]
    assert "DynamoDB.2" in section and 'class="cstatus failed"' in section and "not tested" in section
    assert "--severity P0,P1" in html.split('<section id="kind"')[1].split("</section>")[0]
