"""The gate's governance in a bundle: accepted risks, what changed since the previous gate run, approvals.

`govern` gathers them once the gate has decided (gate.json's `waivers`, `changes` and `approvals`) and
copies the waivers file into the bundle (listed in the manifest, covered by its signature). The view
functions feed the report's partials: `_waived.html.jinja2`, `_changes.html.jinja2` and
`_approvals.html.jinja2`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from checks.core.waivers import BUNDLE_NAME
from checks.evidence import approvals, bundle, remedy
from checks.evidence.changes import changes, replayed_changes, since_line
from checks.evidence.ci_text import code
from checks.evidence.evidence import Evidence
from checks.evidence.summary import _cell


def govern(ev: Evidence, directory: Path) -> dict[str, Any]:
    """gate.json's governance blocks; writes the bundle's copy of the waivers file into `directory` (the bundle
    being staged)."""
    run, records = ev.run, list(ev.records.values())
    waivers = None
    if run.waivers is not None:
        bundle.write_text(directory / BUNDLE_NAME, run.waivers.text)
        waivers = run.waivers.summary(records)
    if run.replay is not None:
        compared = replayed_changes(run.replay)
        found = approvals.status(bundle.resolve(run.replay), signers=ev.signers)
        of = (run.snapshot.meta.get("run_id") if run.snapshot is not None else None) or ""
    else:
        compared = changes(ev.previous, records, run.env.name)
        found = approvals.pending(run.env.approvals_required)
        of = run.run_id
    ev.governance = {"waivers": waivers, "changes": compared,
                     "approvals": {**found.to_dict(), "of_run": of, "approvers": list(run.env.approvers)}}
    return ev.governance


def _part(ev: Evidence, name: str) -> Any:
    return (ev.governance or {}).get(name)


def changes_view(ev: Evidence) -> dict[str, Any]:
    """The first screen's "2 new since <run id> (GO, <time>)" and the lists behind it."""
    found = _part(ev, "changes") or {}
    return {"line": since_line(found), "previous": found.get("previous"), "replayed": bool(found.get("replayed")),
            "lists": [(k.replace("_", " "), found.get(k) or []) for k in ("new", "fixed", "still_failing",
                                                                           "newly_waived")]}


def waived_view(ev: Evidence) -> dict[str, Any]:
    """The accepted risks: each waived finding with its waiver, and the waivers to act on."""
    summary = _part(ev, "waivers")
    if not summary:
        return {"any": False}
    cards = []
    for r in sorted((r for r in ev.records.values() if r.outcome == "waived"), key=lambda r: (r.check, r.resource)):
        w = dict(r.waiver or {})
        cards.append({"anchor": waived_anchor(r.test), "check": r.check, "title": r.title, "resource": r.resource,
                      "severity": r.severity, "test": r.test, "message": r.message,
                      "steps": remedy.steps(r.remediation), "waiver": w,
                      "soon": 0 <= int(w.get("days_left", -1)) <= int(summary["warning_days"])})
    return {"any": True, "cards": cards, "file": summary["file"], "sha256": summary["sha256"],
            "judged_at": summary["judged_at"], "expired": summary["expired"], "not_applied": summary["not_applied"],
            "expiring_soon": summary["expiring_soon"], "unused": summary["unused"],
            "warning_days": summary["warning_days"], "waivers": summary["waivers"]}


def waived_anchor(nodeid: str) -> str:
    """The id of a waived finding's card (the results table's row links there)."""
    return "waived-" + hashlib.sha1(nodeid.encode()).hexdigest()[:12]


def approvals_view(ev: Evidence) -> dict[str, Any]:
    """The recorded approvals (a replay: its original's) and the command each awaited role runs."""
    found = _part(ev, "approvals") or {}
    status = approvals.Status(required=list(found.get("required") or []), pinned=bool(found.get("pinned")),
                              approved=[approvals.Approval(**a) for a in found.get("approved") or []],
                              refused=[(x["file"], x["why"]) for x in found.get("refused") or []])
    name = ev.meta().get("bundle_name") if ev.run.replay is None else None
    decision = ev.gate.decision if ev.gate is not None else "NO-GO"
    return {**approvals.view(status, name, decision), "replay": ev.run.replay is not None}


def since_of(ev: Evidence) -> str:
    return since_line(_part(ev, "changes"))


def text_lines(ev: Evidence) -> list[str]:
    """The terminal's lines: what changed, the waivers to act on, the approvals."""
    out = []
    line = since_of(ev)
    if line:
        out.append(f"changes:  {line}")
    summary = _part(ev, "waivers")
    if summary:
        for item in summary["applied"]:
            w = item["waiver"]
            out.append(f"  [waived] {item['severity']} {item['check']} {item['resource']}: accepted by "
                       f"{w['approved_by']} until {w['expires']} ({w['where']})")
        for w in summary["expiring_soon"]:
            out.append(f"waiver expiring soon: {w['where']} {w['check']} {w['resource'] or '(every resource)'} "
                       f"expires {w['expires']} ({w['days_left']} days)")
        for w in summary["unused"]:
            out.append(f"waiver unused: {w['where']} {w['check']} {w['resource'] or '(every resource)'} applied to "
                       "no finding in this run")
    found = _part(ev, "approvals")
    if found and (found.get("required") or found.get("approved")):
        out.append(f"approvals: {found['line']}")
    return out


def markdown_lines(ev: Evidence) -> list[str]:
    """The job summary's governance section: accepted risks and approvals."""
    out: list[str] = []
    summary = _part(ev, "waivers")
    if summary and (summary["applied"] or summary["expired"] or summary["expiring_soon"] or summary["unused"]):
        out += ["", "### Accepted risks (waived findings)", "",
                "| check | resource | severity | approved by | ticket | expires | justification |",
                "|---|---|---|---|---|---|---|"]
        for item in summary["applied"]:
            w = item["waiver"]
            out.append(f"| {item['check']} | {_cell(item['resource'])} | {item['severity']} | "
                       f"{_cell(w['approved_by'])} | {_cell(w['ticket'])} | {w['expires']} | "
                       f"{_cell(w['justification'])} |")
        out += [""] if summary["expired"] or summary["expiring_soon"] or summary["unused"] else []
        out += [f"- expired, not applied: {i['check']} {code(i['resource'])} (expired {i['waiver']['expires']})"
                for i in summary["expired"]]
        out += [f"- expiring soon: {_cell(w['where'])} {w['check']} expires {w['expires']} ({w['days_left']} days)"
                for w in summary["expiring_soon"]]
        out += [f"- unused: {_cell(w['where'])} {w['check']} {_cell(w['resource']) or '(every resource)'}"
                for w in summary["unused"]]
    found = _part(ev, "approvals")
    if found and found.get("required"):
        out += ["", f"**Approvals:** {_cell(found['line'])}"]
    return out
