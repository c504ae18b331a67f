"""The report's first-screen strip (templates/_run_kind.html.jinja2): what kind of run made the page, and where
its evidence came from (the infra commit checked, the CI run). Plain data for the template.

A page of a run that is not a gate run says so before anything else, in the decision line ("Result, not a gate
decision"), in a grey banner instead of a green one, and instead of the sign-off block; a page of a run that
evaluated no check says "not a gate run" where the findings would be, never "No check failed".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.evidence.gate import RAN
from checks.evidence.provenance import describe_ci, describe_git
from checks.evidence.runkind import selected
from checks.plugin.selected import Selection

NO_FINDINGS = "No check failed and none was left unevaluated."


def selection_text(recorded: Mapping[str, Any]) -> str:
    """The run's selection as the report's run section names it: "-m smoke, 160 deselected"."""
    return selected(Selection.from_dict(dict(recorded)))


def provenance_rows(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows: the infra commit checked, the CI run that made the bundle, the suite's tree."""
    prov = meta.get("provenance") or {}
    rows = [("Infra repo commit", describe_git(prov.get("infra"))), ("CI run", describe_ci(prov.get("ci")))]
    if prov.get("suite_dirty"):
        rows.append(("Suite tree", "dirty: the suite ran with uncommitted changes"))
    return rows


def run_kind_view(ev: Any) -> dict[str, Any]:
    """What the strip and the run-kind-dependent lines of report.html show."""
    kind, meta = ev.kind, ev.meta()
    gate_run = kind is None or kind.gate_run
    label = kind.label if kind is not None else "gate run"
    evaluated = any(r.outcome in RAN for r in ev.records.values())
    return {"gate_run": gate_run, "label": label, "kind": kind.kind if kind is not None else "gate",
            "decision_prefix": "Gate decision" if gate_run else "Result (not a gate decision)",
            "banner_cls": "" if gate_run else "notgate",
            "note": "" if gate_run else "This result approves no release and did not move the latest pointer.",
            "no_findings": NO_FINDINGS if evaluated else "No check was evaluated: this is not a gate run.",
            "provenance": provenance_rows(meta)}
