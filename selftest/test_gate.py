"""Issue 5: the Go/No-Go matrix as a pure function, the exit status, and how the decision is shown."""

from __future__ import annotations

import pytest

from checks.core.catalog import ROLLBACK
from checks.core.record import CheckRecord
from checks.evidence import gate as g
from checks.evidence.summary import markdown, terminal_lines


def rec(check: str = "DDB-03", outcome: str = "passed", severity: str = "P1", resource: str = "tenants",
        message: str = "") -> CheckRecord:
    return CheckRecord(check=check, title="t", test=f"tests/x.py::test_{check}[{resource}]", name=f"test_{check}",
                       resource=resource, outcome=outcome, severity=severity, message=message or f"{check} {outcome}",
                       remediation="aws do-something" if outcome in ("failed", "error") else "")


PASSING = [rec("DDB-01", severity="P0"), rec("DDB-03"), rec("S3-03", severity="P2"), rec("DDB-05", severity="P3")]


@pytest.mark.parametrize(("records", "incomplete", "decision"), [
    pytest.param(PASSING, [], g.GO, id="all-pass"),
    pytest.param(PASSING + [rec("S3-02", "failed", "P0")], [], g.NO_GO, id="P0-failed"),
    pytest.param(PASSING + [rec("DDB-03", "failed", "P1")], [], g.NO_GO, id="P1-failed"),
    pytest.param(PASSING + [rec("DDB-05", "failed", "P2")], [], g.CONDITIONAL, id="P2-failed"),
    pytest.param(PASSING + [rec("DDB-05", "failed", "P3")], [], g.GO, id="P3-failed-is-information"),
    pytest.param(PASSING + [rec("DDB-05", "failed", "P2"), rec("DDB-05", "failed", "P3")], [], g.CONDITIONAL,
                 id="P2-and-P3"),
    pytest.param(PASSING + [rec("DDB-06", "error", "P3")], [], g.NO_GO, id="error-of-any-severity"),
    pytest.param(PASSING + [rec("DDB-05", "failed", "P2")], ["interrupted"], g.NO_GO, id="incomplete"),
    pytest.param([], [], g.NO_GO, id="none-ran"),
    pytest.param([rec(outcome="skipped"), rec("S3-05", outcome="skipped")], [], g.NO_GO, id="all-skipped"),
    pytest.param(PASSING + [rec(outcome="skipped")], [], g.GO, id="pass-with-skips"),
])
def test_matrix(records: list[CheckRecord], incomplete: list[str], decision: str) -> None:
    assert g.decide(records, incomplete).decision == decision


def test_each_reason_carries_resource_severity_and_rollback() -> None:
    gate = g.decide(PASSING + [rec("S3-02", "failed", "P0", "bbws-templates-sit"), rec("DDB-05", "failed", "P2"),
                               rec("DDB-03", "failed", "P1"), rec("DDB-06", "error", "P2")])
    by_check = {r.check: r for r in gate.reasons}
    assert by_check["S3-02"].rollback == ROLLBACK["P0"] == "emergency rollback"
    assert by_check["S3-02"].resource == "bbws-templates-sit" and by_check["S3-02"].severity == "P0"
    assert by_check["DDB-03"].rollback == ROLLBACK["P1"]
    assert by_check["DDB-05"].rollback == "fix forward" and by_check["DDB-05"].effect == g.CONDITIONAL
    assert by_check["DDB-06"].effect == g.NO_GO and ROLLBACK["P2"] in by_check["DDB-06"].rollback
    assert [r.check for r in gate.reasons][0] in ("S3-02", "DDB-03", "DDB-06")  # blocking reasons first
    assert gate.rollback == ROLLBACK["P0"]
    assert gate.counts["by_severity"]["P0"]["failed"] == 1 and gate.counts["by_outcome"]["error"] == 1


def test_incomplete_reasons_are_listed_first_and_mark_the_gate() -> None:
    gate = g.decide(PASSING, ["collector dynamodb crashed: boom"])
    assert not gate.complete and gate.incomplete == ["collector dynamodb crashed: boom"]
    assert gate.reasons[0].outcome == "incomplete" and gate.reasons[0].rollback == g.RERUN
    assert g.decide([]).incomplete == ["no check ran: nothing was verified"]


def test_unknown_severity_counts_as_the_worst() -> None:
    assert g.decide([rec(outcome="failed", severity="")]).decision == g.NO_GO


@pytest.mark.parametrize(("decision_records", "pytest_status", "expected"), [
    ([rec(outcome="failed", severity="P2")], 1, 0),  # CONDITIONAL GO exits 0 although a test failed
    ([rec(outcome="failed", severity="P3")], 1, 0),
    (PASSING, 0, 0),
    ([rec(outcome="failed", severity="P1")], 1, 1),
    (PASSING + [rec(outcome="error")], 1, 1),
    ([], 5, 5),  # nothing collected/selected: pytest's 5, NO-GO
    ([], 2, 2),  # interrupted
    ([], 4, 4),  # usage error (the account guard)
    ([], 0, 1),
])
def test_exit_status(decision_records: list[CheckRecord], pytest_status: int, expected: int) -> None:
    incomplete = ["interrupted"] if pytest_status in (2, 4) else []
    assert g.exit_status(g.decide(decision_records, incomplete), pytest_status) == expected


def test_terminal_and_markdown_show_decision_counts_and_rollback() -> None:
    gate = g.decide(PASSING + [rec("S3-02", "failed", "P0", "bbws-templates-sit", "policy allows *")])
    text = "\n".join(terminal_lines(gate, "/r/sit/x"))
    assert "emergency rollback" in text and "S3-02 bbws-templates-sit" in text and "P0 1 failed" in text
    md = markdown(gate, {"env": "sit", "account": "815856636111", "region": "eu-west-1", "bundle": "/r/sit/x"})
    assert "**NO-GO**" in md and "| P0 | 1 | 1 | 0 | 0 |" in md and "emergency rollback" in md
    assert "| NO-GO | S3-02 | bbws-templates-sit | P0 | failed | policy allows \\* |" in md
