"""The gate as text: the terminal summary and the Markdown job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from checks.core.catalog import SEVERITIES
from checks.evidence import remedy
from checks.evidence.gate import CONDITIONAL, GO, NO_GO, Gate
from checks.evidence.provenance import ci_run, describe_git

ICON = {GO: "✅", CONDITIONAL: "⚠️", NO_GO: "⛔"}
COLOUR = {GO: "green", CONDITIONAL: "yellow", NO_GO: "red"}


def headline(gate: Gate) -> str:
    if gate.decision == GO:
        return "every evaluated check passed" if not gate.reasons else "only P3 (information) findings"
    if gate.decision == CONDITIONAL:
        return "only P2 (minor) checks failed: fix forward"
    why = []
    failed = [r for r in gate.reasons if r.outcome == "failed" and r.effect == NO_GO]
    errors = [r for r in gate.reasons if r.outcome == "error"]
    if failed:
        why.append(f"{len(failed)} P0/P1 check(s) failed")
    if errors:
        why.append(f"{len(errors)} check(s) could not be evaluated")
    if gate.incomplete:
        why.append("the run is incomplete")
    return "; ".join(why)


def severity_line(gate: Gate) -> str:
    sev = gate.counts["by_severity"]
    return ", ".join(f"{s} {sev[s]['failed']} failed/{sev[s]['error']} error" for s in SEVERITIES if s in sev)


def outcome_line(gate: Gate) -> str:
    out = gate.counts["by_outcome"]
    return ", ".join(f"{out.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped"))


def _where(r: Any) -> str:
    return f"{r.check} {r.resource}".strip() if r.check else (r.test or "run")


def terminal_lines(gate: Gate, bundle: str | None) -> list[str]:
    lines = [f"why:      {headline(gate)}",
             f"checks:   {outcome_line(gate)}",
             f"severity: {severity_line(gate)}"]
    if gate.rollback:
        lines.append(f"rollback: {gate.rollback}")
    for r in gate.reasons:
        label = r.severity or "--"
        lines.append(f"  [{r.effect}] {label} {_where(r)} ({r.outcome}): {r.message}")
        if r.outcome != "incomplete":
            lines.append(f"      rollback: {r.rollback}")
    if bundle:
        lines.append(f"evidence: {bundle}")
    return lines


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def github_links(environ: Mapping[str, str]) -> dict[str, str]:
    """The run's page and its artifacts, from GitHub Actions' default variables (empty elsewhere)."""
    ci = ci_run(environ)
    if ci is None:
        return {}
    return {"run": ci["url"], "artifacts": f"{ci['url']}#artifacts", "run_id": ci["run_id"], "attempt": ci["attempt"]}


def kind_heading(meta: Mapping[str, Any]) -> str | None:
    """The job summary's and the terminal's word for a run that is not a gate run (None for a gate run)."""
    if meta.get("gate_run", True):
        return None
    return str(meta.get("kind_label") or "not a gate run")


def _fenced(command: str) -> list[str]:
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", command)), default=0))
    return [f"   {fence}sh", f"   {command}", f"   {fence}"]


def markdown(gate: Gate, meta: dict[str, Any], links: Mapping[str, str] | None = None,
             problems: list[str] | None = None) -> str:
    """The job summary: decision, counts by severity, what to fix (one command each), where the evidence is; a
    run that is not a gate run says what it is in its title and first line."""
    links = links or {}
    kind = kind_heading(meta)
    title = (f"## {ICON[gate.decision]} BBWS post-deploy gate: **{gate.decision}**" if kind is None else
             f"## BBWS {_cell(kind)}: **{gate.decision}** (not a gate run)")
    out = [title, ""]
    if kind is not None:
        out += [f"> **Not a gate run** ({_cell(kind)}): this result approves no release, and `latest` was not "
                "moved.", ""]
    out += [f"> **{_cell(p)}**" for p in problems or ()] + ([""] if problems else [])
    out += [f"env **{meta.get('env', '')}**, account `{meta.get('account', '')}`, region `{meta.get('region', '')}`"
            f" · {headline(gate)}", ""]
    infra = (meta.get("provenance") or {}).get("infra")
    if infra:
        out += [f"infra repo commit: `{_cell(describe_git(infra))}`", ""]
    if gate.rollback:
        out += [f"**Rollback:** {gate.rollback}", ""]
    out += ["| severity | passed | failed | error | skipped |", "|---|---|---|---|---|"]
    for s in SEVERITIES:
        c = gate.counts["by_severity"].get(s, {})
        out.append(f"| {s} | " + " | ".join(str(c.get(k, 0)) for k in ("passed", "failed", "error", "skipped")) + " |")
    if gate.reasons:
        out += ["", "### What to fix", ""]
        for i, r in enumerate(gate.reasons, 1):
            what = (f"{r.severity} `{_cell(r.check)}` {_cell(r.title)} · `{_cell(r.resource)}` ({r.outcome})"
                    if r.check else "incomplete run")
            out.append(f"{i}. **{r.effect}** {what}: {_cell(remedy_first_line(r.message))}")
            command = remedy.first_command(r.remediation)
            steps = len(remedy.commands(r.remediation))
            if command:
                out += _fenced(command)
                if steps > 1:
                    out.append(f"   step 1 of {steps}; every step is in the finding's card in report.html")
            out.append(f"   rollback: {_cell(r.rollback)}")
        out += ["", "| effect | check | resource | severity | outcome | message | rollback |",
                "|---|---|---|---|---|---|---|"]
        for r in gate.reasons:
            out.append(f"| {r.effect} | {_cell(r.check)} | {_cell(r.resource)} | {r.severity} | {r.outcome} | "
                       f"{_cell(r.message)} | {_cell(r.rollback)} |")
    out.append("")
    name = meta.get("bundle_name") or ""
    if links.get("run"):
        artifact = f"gate-evidence-{meta.get('env', '')}-{links['run_id']}-{links.get('attempt') or '1'}"
        out.append(f"Evidence: [workflow run {links['run_id']}]({links['run']}) · artifact `{artifact}` "
                   f"([download]({links['artifacts']})), bundle `{name}` (report.html, results.sarif, manifest.json)")
    elif name:
        out.append(f"Evidence bundle: `{name}` (under the run's reports directory)")
    return "\n".join(out) + "\n"


def remedy_first_line(text: str) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""
