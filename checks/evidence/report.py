"""report.html: the page a gate approver signs, rendered from templates/report.html.jinja2 (autoescaped).

First screen: what kind of run made the page and its provenance (report_run.py, _run_kind.html.jinja2), the
decision, why, and for each blocking finding the one command that fixes it (with a
copy button); beside it an at-a-glance picture (area x outcome, counts by severity). Then one card per
failing or unevaluated check (message, remediation steps, runbook, raw observations and traceback one
click away), the sign-off block, pytest-html's interactive table with its filters above it, and the
run metadata. A print puts the decision and the sign-off on page 1.

Nothing from a test, a resource, a file or a message reaches the page unescaped: our template is
autoescaped, pytest-html's JSON blob is sanitised before it is rendered (its JS inserts cells, logs,
extras and environment values with innerHTML), and a Content-Security-Policy allows only the two
inline scripts by their SHA-256 (no inline event handlers, no remote loads).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from checks import areas
from checks.core.catalog import SEVERITIES
from checks.core.record import OUTCOMES, CheckRecord
from checks.evidence import compliance, remedy
from checks.evidence.evidence import Evidence
from checks.evidence.gate import CONDITIONAL, GO, NO_GO, Gate, reason_of
from checks.evidence.governance import approvals_view, changes_view, waived_anchor, waived_view
from checks.evidence.report_run import provenance_rows, run_kind_view, selection_text
from checks.evidence.summary import decision_label, headline
from checks.plugin.outcomes import RUNBOOK_SECTION
from checks.plugin.pytest_internals import HtmlPage, html_resource, self_contained_html_report

TEMPLATES = Path(__file__).with_name("templates")
BANNER = {GO: "go", CONDITIONAL: "conditional", NO_GO: "nogo"}
OUTCOME_ORDER = {"error": 0, "failed": 1, "waived": 2, "skipped": 3, "passed": 4}
BANNER_REASONS = 8


def area_of(record: CheckRecord) -> str:
    """The record's area ("other" outside any); a record without one, by its catalog id's prefix."""
    return record.area or areas.area_of_check(record.check) or "other"


def anchor(nodeid: str) -> str:
    return "finding-" + hashlib.sha1(nodeid.encode()).hexdigest()[:12]


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def picture(records: list[CheckRecord], gate: Gate) -> dict[str, Any]:
    """Area x outcome rows (with bar widths in %) and counts by severity."""
    by_area: dict[str, dict[str, int]] = {}
    for r in records:
        row = by_area.setdefault(area_of(r), dict.fromkeys(OUTCOMES, 0))
        row[r.outcome] = row.get(r.outcome, 0) + 1
    order = [*areas.names(), "other"]
    rows = []
    for name in sorted(by_area, key=order.index):
        counts, total = by_area[name], sum(by_area[name].values())
        rows.append({"label": areas.label(name), "total": total, "counts": counts,
                     "segments": [{"outcome": o, "n": counts[o], "pct": round(100 * counts[o] / total, 2)}
                                  for o in ("failed", "error", "waived", "skipped", "passed") if counts.get(o)]})
    sev = gate.counts["by_severity"]
    severities = [{"sev": s, **{o: sev.get(s, {}).get(o, 0) for o in OUTCOMES}} for s in SEVERITIES]
    return {"areas": rows, "severities": severities, "totals": gate.counts["by_outcome"],
            "total": gate.counts["total"]}


def banner_reasons(gate: Gate) -> list[dict[str, Any]]:
    out = []
    for r in gate.reasons:
        out.append({"effect": r.effect, "severity": r.severity, "check": r.check, "title": r.title,
                    "resource": r.resource, "outcome": r.outcome, "message": _first_line(r.message),
                    "command": remedy.first_command(r.remediation), "rollback": r.rollback,
                    "steps": len(remedy.commands(r.remediation)), "anchor": anchor(r.test) if r.test else ""})
    return out


def card(record: CheckRecord, log: str = "") -> dict[str, Any]:
    rb = record.runbook
    obs = [dict(o) for o in record.observations]
    reason = reason_of(record)
    return {"anchor": anchor(record.test), "check": record.check,
            "title": rb.get("title") or record.title, "resource": record.resource,
            "severity": record.severity, "outcome": record.outcome,
            "test": record.test, "message": record.message, "effect": reason.effect,
            "rollback": reason.rollback, "steps": remedy.steps(record.remediation),
            "symptom": rb.get("symptom", ""), "cause": rb.get("cause", ""), "prevention": rb.get("prevention", ""),
            "location": record.location.to_dict() if record.location else {}, "observations": len(obs),
            "raw": json.dumps(obs, indent=2, sort_keys=True, default=str), "log": log}


def findings(records: list[CheckRecord], logs: Mapping[str, str]) -> list[dict[str, Any]]:
    bad = [r for r in records if r.bad]
    bad.sort(key=lambda r: (r.severity, OUTCOME_ORDER.get(r.outcome, 9), r.check, r.resource))
    return [card(r, logs.get(r.test, "")) for r in bad]


def run_rows(meta: Mapping[str, Any]) -> list[tuple[str, Any, bool]]:
    """(label, value, as code) rows of the run metadata; paths are the bundle's own, not the runner's."""
    libs = meta.get("libraries") or {}
    rows: list[tuple[str, Any, bool]] = [
        ("Environment", meta.get("env"), False), ("Account", meta.get("account"), False),
        ("Region", meta.get("region"), False), ("DR region", meta.get("dr_region") or "–", False),
        ("Caller ARN", meta.get("caller_arn") or "unknown", True),
        ("Caller account", meta.get("caller_account") or "unknown", False),
        ("Endpoint", meta.get("endpoint") or "AWS default", False),
        ("Suite version", meta.get("suite_version"), False), ("Git SHA", meta.get("git_sha") or "unknown", False),
        ("Run id", meta.get("run_id"), False), ("Started (UTC)", meta.get("started"), False),
        ("Finished (UTC)", meta.get("finished"), False), ("Command", meta.get("command"), True),
        ("Libraries", ", ".join(f"{k} {v}" for k, v in libs.items()), False),
        ("Evidence bundle", meta.get("bundle_name") or "–", True),
        ("Run kind", meta.get("kind_label") or "–", False),
        *((label, value, True) for label, value in provenance_rows(meta))]
    if meta.get("replay_of"):
        rows.append(("Replay of", Path(str(meta["replay_of"])).name, True))
    if meta.get("selection"):
        rows.append(("Selection", selection_text(meta["selection"]), False))
    return rows


def view(ev: Evidence, logs: Mapping[str, str]) -> dict[str, Any]:
    """Everything the template shows, as plain data."""
    gate = ev.gate
    assert gate is not None
    meta = ev.meta()
    records = list(ev.records.values())
    reasons = banner_reasons(gate)
    return {"decision": gate.decision, "label": decision_label(gate), "cls": BANNER[gate.decision],
            "headline": headline(gate), "changes": changes_view(ev), "waived": waived_view(ev),
            "approvals": approvals_view(ev),
            "complete": gate.complete, "incomplete": gate.incomplete, "rollback": gate.rollback,
            "env": meta["env"], "reasons": reasons[:BANNER_REASONS], "more": max(0, len(reasons) - BANNER_REASONS),
            "picture": picture(records, gate), "findings": findings(records, logs), "run": run_rows(meta),
            "approvers": list(ev.run.env.approvers) or ["Approver"], "files": sorted(_bundle_files(ev)),
            "run_id": meta["run_id"], "finished": meta["finished"], "compliance": compliance.view(records)}


def _bundle_files(ev: Evidence) -> list[str]:
    names = {"report.html", "results.json", "gate.json", "snapshot.json", "junit.xml", "manifest.json"}
    if ev.dir is not None:
        names |= {p.name for p in ev.dir.iterdir() if p.is_file() and not p.name.startswith(".")}
    return list(names)


def title(gate: Gate | None, env: str, not_gate: str | None = None) -> str:
    """The tab title; a run that is not a gate run says what it is there too."""
    if not_gate:
        return f"{gate.decision if gate else 'NO DECISION'} · {env} · {not_gate} · BBWS evidence, not a gate run"
    return f"{gate.decision if gate else 'NO DECISION'} · {env} · BBWS post-deploy gate evidence"


# ----- safety of pytest-html's data (its JS uses innerHTML) -----

def _esc(value: Any) -> Any:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {escape(str(k)): _esc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_esc(v) for v in value]
    return value


def sanitize(data: dict[str, Any]) -> None:
    """Make pytest-html's data inert: environment values and html extras escaped (rows we build escaped)."""
    data["environment"] = _esc(data.get("environment") or {})
    for tests in (data.get("tests") or {}).values():
        for test in tests:
            for extra in test.get("extras") or []:
                extra["name"] = escape(str(extra.get("name") or ""))
                if extra.get("format_type") == "html":
                    extra["content"] = f"<pre>{escape(str(extra.get('content') or ''))}</pre>"


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def csp(*scripts: str) -> str:
    return ("default-src 'none'; script-src " + " ".join(sha256_source(s) for s in scripts) +
            "; style-src 'unsafe-inline'; img-src data:; media-src data:; base-uri 'none'; form-action 'none'")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's templates, compiled once per process (the selftests render hundreds of reports)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def cell(cls: str, value: Any) -> str:
    return f'<td class="{cls}">{escape(str(value if value is not None else ""))}</td>'


class HtmlEvidence:
    """The pytest-html 4 hooks: escaped cells, our columns, and failing rows that point at their card."""

    def __init__(self, evidence: Evidence):
        self.ev = evidence
        self.logs: dict[str, str] = {}  # nodeid -> traceback and captured output of a failing check

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[2:2] = ['<th class="sortable" data-column-type="check">Check</th>',
                      '<th class="sortable" data-column-type="resource">Resource</th>',
                      '<th class="sortable" data-column-type="severity">Severity</th>']

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        nodeid = str(getattr(report, "nodeid", ""))
        when = getattr(report, "when", "call")
        record = self.ev.records.get(nodeid)
        cells[1] = cell("col-testId", nodeid if when == "call" else f"{nodeid}::{when}")
        sev = record.severity if record else ""
        quiet = record is None or not record.bad
        sev_cell = (cell("col-severity quiet", sev) if quiet or not sev else
                    f'<td class="col-severity"><span class="sev {escape(sev)}">{escape(sev)}</span></td>')
        cells[2:2] = [cell("col-check", record.check if record else ""),
                      cell("col-resource", record.resource if record else ""), sev_cell]

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """A failing check's log moves into its card (one place); the row links there."""
        nodeid = str(getattr(report, "nodeid", ""))
        record = self.ev.records.get(nodeid) or getattr(report, "bbws", None)
        if record is not None and record.outcome == "skipped":  # the reason, not pytest's (path, line, text)
            data[:] = [f"Skipped: {escape(record.message or 'no reason given')}"]
            return
        if record is not None and record.outcome == "waived":
            data[:] = [f'Waived (an accepted risk): the finding and its waiver are in '
                       f'<a href="#{waived_anchor(nodeid)}">{escape(record.check)} {escape(record.resource)}</a>']
            return
        if record is None or not record.bad or not record.check:
            return
        parts = [report.longreprtext or ""] if getattr(report, "longreprtext", "") else []
        parts += [f"----- {t} -----\n{c}" for t, c in report.sections if not t.startswith(RUNBOOK_SECTION)]
        self.logs[nodeid] = (self.logs.get(nodeid, "") + "\n".join(parts)).strip()
        data[:] = [f'The message, remediation, raw observations and traceback are in the finding card: '
                   f'<a href="#{anchor(nodeid)}">{escape(record.check)} {escape(record.resource)}</a>']


def write_page(path: Path, template: jinja2.Template, test_data: Any, **context: Any) -> None:
    """Render the page into `path` chunk by chunk, pytest-html's JSON blob (`test_data`) streamed
    in, escaped, where the template puts it: at N = 1000 the page is 17 MB, and neither it nor the
    JSON is ever held whole. The blob's place is marked with a random token no data can contain."""
    marker = f"bbws-test-data-{secrets.token_hex(16)}"
    placed = False
    with path.open("w", encoding="utf-8") as f:
        for chunk in template.generate(test_data=markupsafe.Markup(marker), **context):
            if not placed and marker in chunk:
                before, _, after = chunk.partition(marker)
                f.write(before)
                for part in json.JSONEncoder().iterencode(test_data):
                    f.write(markupsafe.escape(part))  # as autoescape would: the blob sits in an attribute
                chunk, placed = after, True
            f.write(chunk)
    if not placed:
        raise ValueError(f"{template.name} has no place for the test data")


def html_plugin(ev: Evidence, path: Path) -> tuple[Any, HtmlEvidence]:
    """pytest-html's self-contained writer, rendering our template instead of its own."""
    app_js = html_resource("app.js")
    copy_js = (TEMPLATES / "copy.js").read_text(encoding="utf-8")
    page_css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    hooks = HtmlEvidence(ev)
    template = environment().get_template("report.html.jinja2")

    def render(page: HtmlPage) -> None:
        if ev.gate is None:
            return  # only once the gate has decided
        data = page.data
        data["environment"] = {**(data.get("environment") or {}), **ev.meta()["libraries"]}
        data["renderCollapsed"] = ["passed", "skipped", "xfailed", "xpassed"]  # failures open, the rest closed
        sanitize(data)
        write_page(page.path, template, data,
                   title=title(ev.gate, ev.run.env.name, ev.not_gate), csp=csp(app_js, copy_js), styles=page.styles,
                   page_css=page_css, app_js=app_js, copy_js=copy_js, outcomes=page.outcomes,
                   table_head=page.table_head, duration=page.duration, g=view(ev, hooks.logs), k=run_kind_view(ev))

    return self_contained_html_report(ev.config, path, render), hooks


def visible_text(html: str) -> str:
    """The page's text without tags, scripts, styles and collapsed details (for tests counting repeats)."""
    html = re.sub(r"<(script|style|template)\b.*?</\1>", "", html, flags=re.S)
    html = re.sub(r"<details\b[^>]*>\s*<summary>.*?</summary>.*?</details>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)
