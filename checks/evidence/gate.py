"""The Go/No-Go decision: a pure function of the check records and why the run is incomplete.

The matrix (SPEC "The gate"):
- NO-GO when any P0 or P1 check failed, any check could not be evaluated (outcome "error"),
  or the run is incomplete (interrupted, a collector crashed, the account guard stopped it,
  a collection error, stopped early, or no check ran at all);
- CONDITIONAL GO when the only failures are P2;
- GO otherwise; a failed P3 is information only.
Every failing or error record becomes a reason carrying the rollback runbook's action. A waived record
(a failure an active waiver accepts) is counted, and decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from checks.core.catalog import ROLLBACK, SEVERITIES
from checks.core.record import BAD, OUTCOMES, CheckRecord

GO = "GO"
CONDITIONAL = "CONDITIONAL GO"
NO_GO = "NO-GO"
RAN = ("passed", "failed", "error", "waived")
RERUN = "re-run the gate to completion; nothing can be promoted until it completes"
UNEVALUATED = "could not be evaluated: fix access or evidence and re-run the gate; if the deployment is at fault: "


@dataclass(frozen=True)
class Reason:
    """One line of the decision: a failing or unevaluated check, or why the run is incomplete."""
    effect: str  # NO-GO | CONDITIONAL GO | information
    outcome: str  # failed | error | incomplete
    message: str
    rollback: str
    check: str = ""
    title: str = ""
    test: str = ""
    resource: str = ""
    severity: str = ""
    remediation: str = ""


@dataclass(frozen=True)
class Gate:
    decision: str
    reasons: list[Reason]
    counts: dict[str, Any]
    incomplete: list[str] = field(default_factory=list)
    rollback: str | None = None  # the strongest action any reason calls for

    @property
    def complete(self) -> bool:
        return not self.incomplete

    @property
    def blocking(self) -> list[Reason]:
        return [r for r in self.reasons if r.effect == NO_GO]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "complete": self.complete, "incomplete": list(self.incomplete),
                "rollback": self.rollback, "counts": self.counts, "reasons": [asdict(r) for r in self.reasons]}


def counts_of(records: Sequence[CheckRecord]) -> dict[str, Any]:
    """Counts by outcome, and by severity then outcome."""
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    by_severity = {s: dict.fromkeys(OUTCOMES, 0) for s in SEVERITIES}
    for r in records:
        by_outcome[r.outcome] = by_outcome.get(r.outcome, 0) + 1
        sev = by_severity.setdefault(r.severity or "P0", dict.fromkeys(OUTCOMES, 0))
        sev[r.outcome] = sev.get(r.outcome, 0) + 1
    return {"total": len(records), "by_outcome": by_outcome, "by_severity": by_severity}


def _severity(record: CheckRecord) -> str:
    return record.severity if record.severity in SEVERITIES else "P0"  # an unknown severity is the worst


def reason_of(record: CheckRecord) -> Reason:
    sev = _severity(record)
    if record.outcome == "error":
        effect, rollback = NO_GO, UNEVALUATED + ROLLBACK[sev]
    else:
        effect = NO_GO if sev in ("P0", "P1") else CONDITIONAL if sev == "P2" else "information"
        rollback = ROLLBACK[sev]
    return Reason(effect=effect, outcome=record.outcome, message=record.message, rollback=rollback,
                  check=record.check, title=record.title, test=record.test, resource=record.resource,
                  severity=sev, remediation=record.remediation)


_ORDER = {NO_GO: 0, CONDITIONAL: 1, "information": 2}


def decide(records: Iterable[CheckRecord], incomplete: Sequence[str] = ()) -> Gate:
    """The decision for these check records and incompleteness reasons."""
    records = list(records)
    missing = list(incomplete)
    if not any(r.outcome in RAN for r in records):
        missing.append("no check ran: nothing was verified" if not records else
                       f"no check ran: all {len(records)} selected checks were skipped")
    reasons = [Reason(effect=NO_GO, outcome="incomplete", message=m, rollback=RERUN) for m in missing]
    failing = [reason_of(r) for r in records if r.outcome in BAD]
    failing.sort(key=lambda r: (_ORDER[r.effect], r.severity, r.check, r.resource, r.test))
    reasons += failing
    effects = {r.effect for r in reasons}
    decision = NO_GO if NO_GO in effects else CONDITIONAL if CONDITIONAL in effects else GO
    rollback = None
    if missing:
        rollback = RERUN
    worst = sorted(r.severity for r in failing if r.effect != "information")
    if worst:
        rollback = ROLLBACK[worst[0]] if rollback is None else f"{ROLLBACK[worst[0]]}; {rollback}"
    return Gate(decision=decision, reasons=reasons, counts=counts_of(records), incomplete=missing, rollback=rollback)


def exit_status(gate: Gate, pytest_status: int) -> int:
    """The process exit code: non-zero exactly when the decision is NO-GO.

    0 GO or CONDITIONAL GO (even when P2/P3 checks failed); 1 NO-GO; pytest's own
    2 (interrupted), 3 (internal error), 4 (usage error, e.g. the account guard) and
    5 (no tests collected) are kept, as they are NO-GO too.
    """
    if gate.decision != NO_GO:
        return 0
    return int(pytest_status) if int(pytest_status) in (1, 2, 3, 4, 5) else 1
