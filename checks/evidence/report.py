"""report.html: the page a gate approver signs. pytest-html 4 hooks plus our own sections.

Layout, top to bottom: decision banner; run metadata; checks by id and resource; one card
per failing or unevaluated check (runbook entry, filled-in remediation, raw observations);
the sign-off block; then pytest-html's own interactive results table, whose rows carry the
check id, resource and severity, and the same evidence card in the expanded row.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

from checks.core.catalog import SEVERITIES
from checks.evidence.gate import CONDITIONAL, GO, NO_GO, Gate
from checks.evidence.summary import headline

if TYPE_CHECKING:
    from checks.evidence.hooks import Evidence

BANNER = {GO: "go", CONDITIONAL: "conditional", NO_GO: "nogo"}
OUTCOME_ORDER = {"error": 0, "failed": 1, "skipped": 2, "passed": 3}

CSS = """
body { font-size: 13px; display: flex; flex-direction: column; max-width: 1500px; }
#title { order: 0; } body > p:first-of-type { order: 1; }
.summary { order: 2; display: block; }
#environment-header { order: 3; } #environment { order: 4; }
#results-table { order: 5; } footer { order: 6; }
.summary__data { flex: none; } .summary__spacer { display: none; }
.bbws { color: #222; } #results-table { color: #444; }
.bbws h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 3px; }
.bbws table { border-collapse: collapse; width: 100%; margin-bottom: 6px; }
.bbws th, .bbws td { border: 1px solid #d6d6d6; padding: 4px 7px; text-align: left; vertical-align: top; }
.bbws th { background: #f0f0f0; color: #222; } .bbws td { color: #222; }
.bbws td.id { white-space: nowrap; font-weight: bold; } .bbws td.n { white-space: nowrap; color: #555; }
.bbws .meta th { width: 160px; }
.bbws code, .bbws pre { font-family: Menlo, Consolas, monospace; font-size: 12px; }
.bbws pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7; border: 1px solid #e2e2e2;
  padding: 6px 8px; margin: 4px 0; }
.banner { border-radius: 6px; padding: 14px 18px; margin: 10px 0 6px; color: #fff; }
.banner .decision { font-size: 30px; font-weight: bold; letter-spacing: 1px; }
.banner .why { font-size: 15px; margin-top: 4px; }
.banner table { width: auto; margin-top: 10px; background: rgba(255,255,255,.93); color: #222; }
.banner .rollback { font-size: 15px; margin-top: 8px; font-weight: bold; }
.banner ul { margin: 8px 0 0 0; padding-left: 20px; font-size: 13px; }
.banner.go { background: #1e7e34; } .banner.conditional { background: #b8860b; } .banner.nogo { background: #b52a2a; }
.sev { font-weight: bold; padding: 1px 6px; border-radius: 3px; color: #fff; white-space: nowrap; }
.sev.P0 { background: #7a0000; } .sev.P1 { background: #c0392b; } .sev.P2 { background: #d68910; }
.sev.P3 { background: #5d6d7e; }
.out { font-weight: bold; } .out.failed, .out.error { color: #b52a2a; } .out.passed { color: #1e7e34; }
.out.skipped { color: #777; }
tr.row-failed, tr.row-error { background: #fff3f3; }
.card { border: 1px solid #d6d6d6; border-left: 6px solid #b52a2a; border-radius: 4px; padding: 8px 12px;
  margin: 10px 0; background: #fff; }
.card.P2 { border-left-color: #d68910; } .card.P3 { border-left-color: #5d6d7e; }
.card h3 { font-size: 14px; margin: 2px 0 6px; }
.card dl { display: grid; grid-template-columns: 110px 1fr; gap: 3px 10px; margin: 6px 0; }
.card dt { font-weight: bold; color: #555; } .card dd { margin: 0; }
.card details summary { cursor: pointer; color: #2b5ea7; margin-top: 4px; }
.signoff table td { height: 34px; } .signoff th:first-child { width: 220px; }
.extraHTML .card { margin: 4px 0 8px; max-width: 1300px; } #results-table { table-layout: fixed; width: 100%; }
#results-table .log { white-space: pre-wrap; word-break: break-word; }
#results-table th[data-column-type="result"] { width: 80px; }
#results-table th[data-column-type="testId"] { width: 40%; }
#results-table th[data-column-type="check"] { width: 80px; }
#results-table th[data-column-type="severity"] { width: 70px; }
#results-table th[data-column-type="duration"] { width: 80px; } #results-table th:last-child { width: 60px; }
#results-table td { overflow-wrap: anywhere; }
"""


def _e(value: Any) -> str:
    return escape(str(value if value is not None else ""))


def sev_badge(sev: str) -> str:
    return f'<span class="sev {_e(sev)}">{_e(sev)}</span>' if sev else ""


def outcome_span(outcome: str) -> str:
    return f'<span class="out {_e(outcome)}">{_e(outcome)}</span>'


def banner(gate: Gate) -> str:
    rows = "".join(
        f"<tr><td>{sev_badge(s)}</td><td>{c.get('passed', 0)}</td><td>{c.get('failed', 0)}</td>"
        f"<td>{c.get('error', 0)}</td><td>{c.get('skipped', 0)}</td></tr>"
        for s in SEVERITIES for c in [gate.counts["by_severity"].get(s, {})])
    reasons = "".join(
        f"<li><b>[{_e(r.effect)}]</b> {_e(r.severity)} {_e(r.check)} {_e(r.resource)} ({_e(r.outcome)}): "
        f"{_e(r.message)}</li>" for r in gate.reasons[:12])
    more = f"<li>… and {len(gate.reasons) - 12} more below</li>" if len(gate.reasons) > 12 else ""
    rollback = f'<div class="rollback">Rollback: {_e(gate.rollback)}</div>' if gate.rollback else ""
    complete = "" if gate.complete else " · <b>INCOMPLETE RUN</b>"
    return (f'<div class="bbws"><div class="banner {BANNER[gate.decision]}" id="bbws-decision">'
            f'<div class="decision">Gate decision: {_e(gate.decision)}</div>'
            f'<div class="why">{_e(headline(gate))}{complete}</div>{rollback}'
            f"{'<ul>' + reasons + more + '</ul>' if reasons else ''}"
            f"<table><tr><th>severity</th><th>passed</th><th>failed</th><th>error</th><th>skipped</th></tr>"
            f"{rows}</table></div></div>")


def metadata(meta: dict[str, Any]) -> str:
    fields = [("Environment", meta.get("env")), ("Account", meta.get("account")), ("Region", meta.get("region")),
              ("DR region", meta.get("dr_region") or "–"), ("Caller ARN", meta.get("caller_arn") or "unknown"),
              ("Caller account", meta.get("caller_account") or "unknown"), ("Endpoint", meta.get("endpoint")),
              ("Suite version", meta.get("suite_version")), ("Git SHA", meta.get("git_sha") or "unknown"),
              ("Run id", meta.get("run_id")), ("Started (UTC)", meta.get("started")),
              ("Finished (UTC)", meta.get("finished")), ("Command", meta.get("command")),
              ("Evidence bundle", meta.get("bundle"))]
    if meta.get("replay_of"):
        fields.append(("Replay of", meta["replay_of"]))
    rows = "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>" if k in ("Command", "Caller ARN")
                   else f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in fields)
    return f'<div class="bbws"><h2>Run</h2><table class="meta">{rows}</table></div>'


WORST = ("error", "failed", "passed", "skipped")


def _group(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (check, resource): the worst outcome, the highest severity, the tests behind it."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r.get("check", ""), r.get("resource", "")), []).append(r)
    rows = []
    for (check, resource), rs in sorted(groups.items()):
        worst = min(rs, key=lambda r: (WORST.index(r.get("outcome")) if r.get("outcome") in WORST else 0,
                                       r.get("severity", "")))
        counts = {o: sum(r.get("outcome") == o for r in rs) for o in WORST}
        rows.append({"check": check, "resource": resource, "title": worst.get("title", ""),
                     "severity": min((r.get("severity") or "P0") for r in rs), "outcome": worst.get("outcome", ""),
                     "message": worst.get("message", "") if worst.get("outcome") != "passed" else "",
                     "tests": len(rs), "counts": counts})
    return rows


def checks_table(records: list[dict[str, Any]]) -> str:
    rows = []
    for g in _group(records):
        detail = ", ".join(f"{n} {o}" for o, n in g["counts"].items() if n)
        rows.append(f'<tr class="row-{_e(g["outcome"])}"><td class="id">{_e(g["check"])}</td><td>{_e(g["title"])}</td>'
                    f'<td>{_e(g["resource"])}</td><td>{sev_badge(g["severity"])}</td>'
                    f'<td>{outcome_span(g["outcome"])}</td><td class="n">{_e(detail)}</td><td>{_e(g["message"])}</td>'
                    f"</tr>")
    return (f'<div class="bbws"><h2>Checks by id and resource ({len(rows)} rows, {len(records)} assertions)</h2>'
            f"<table><tr><th>check</th><th>title</th><th>resource</th><th>severity</th><th>outcome</th>"
            f"<th>assertions</th><th>message (worst)</th></tr>{''.join(rows)}</table></div>")


def card(record: dict[str, Any], rollback: str = "") -> str:
    """The evidence for one failing or unevaluated check: runbook, remediation, raw observations."""
    rb = record.get("runbook") or {}
    obs = record.get("observations") or []
    raw = escape(json.dumps(obs, indent=2, sort_keys=True, default=str))
    rows = [("Outcome", outcome_span(record.get("outcome", "")) + " " + sev_badge(record.get("severity", ""))),
            ("Test", f"<code>{_e(record.get('test'))}</code>"), ("Message", _e(record.get("message")))]
    if rollback:
        rows.append(("Rollback", _e(rollback)))
    if rb:
        rows += [("Symptom", _e(rb.get("symptom"))), ("Root cause", _e(rb.get("cause"))),
                 ("Resolution", f"<pre>{_e(rb.get('resolution'))}</pre>"), ("Prevention", _e(rb.get("prevention")))]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<div class="bbws card {_e(record.get("severity"))}"><h3>{_e(record.get("check"))} '
            f'{_e(rb.get("title") or record.get("title"))} — {_e(record.get("resource"))}</h3><dl>{dl}</dl>'
            f"<details><summary>Raw observations ({len(obs)}) as JSON</summary><pre>{raw}</pre></details></div>")


def findings(records: list[dict[str, Any]], gate: Gate) -> str:
    rollback = {(r.test, r.check): r.rollback for r in gate.reasons}
    bad = [r for r in records if r.get("outcome") in ("failed", "error")]
    bad.sort(key=lambda r: (OUTCOME_ORDER.get(r.get("outcome", ""), 9), r.get("severity", ""), r.get("check", ""),
                            r.get("resource", "")))
    incomplete = "".join(f"<li>{_e(m)}</li>" for m in gate.incomplete)
    body = "".join(card(r, rollback.get((r.get("test", ""), r.get("check", "")), "")) for r in bad)
    if incomplete:
        body = f"<p><b>The run is incomplete:</b></p><ul>{incomplete}</ul>" + body
    if not body:
        body = "<p>No check failed and none was left unevaluated.</p>"
    return f'<div class="bbws"><h2>Findings and runbook</h2>{body}</div>'


def signoff(approvers: list[str], decision: str) -> str:
    rows = "".join(f"<tr><th>{_e(a)}</th><td></td><td></td><td></td></tr>" for a in approvers or ["Approver"])
    return (f'<div class="bbws signoff" id="signoff"><h2>Sign-off</h2>'
            f"<p>I have reviewed this evidence and the gate decision "
            f"<b>{_e(decision)}</b>.</p><table><tr><th>role</th><th>name</th><th>date</th><th>signature</th></tr>"
            f"{rows}</table></div>")


class HtmlEvidence:
    """The pytest-html 4 hooks; registered only when pytest-html is active."""

    def __init__(self, evidence: Evidence):
        self.ev = evidence

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"BBWS post-deploy gate evidence: env {self.ev.run.env.name}"

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: Any) -> None:
        gate = self.ev.gate
        if gate is None:
            return
        records = list(self.ev.records.values())
        prefix.append(f"<style>{CSS}</style>")
        prefix.append(banner(gate))
        prefix.append(metadata(self.ev.meta()))
        prefix.append(findings(records, gate))
        postfix.append(checks_table(records))
        postfix.append(signoff(list(self.ev.run.env.approvers), gate.decision))

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[2:2] = ['<th class="sortable" data-column-type="check">Check</th>',
                      '<th class="sortable" data-column-type="resource">Resource</th>',
                      '<th class="sortable" data-column-type="severity">Severity</th>']

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        record = self.ev.records.get(getattr(report, "nodeid", ""), {})
        cells[2:2] = [f'<td class="col-check">{_e(record.get("check"))}</td>',
                      f'<td class="col-resource">{_e(record.get("resource"))}</td>',
                      f'<td class="col-severity">{_e(record.get("severity"))}</td>']
