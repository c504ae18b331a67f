"""The gate as text: the terminal summary and the Markdown job summary ($GITHUB_STEP_SUMMARY).

Every value that may come from the infra repo or AWS goes through ci_text: one line on the terminal,
escaped Markdown or a code span in the job summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checks.core.catalog import SEVERITIES
from checks.evidence import remedy
from checks.evidence.ci_text import block, code, md, one_line
from checks.evidence.gate import CONDITIONAL, GO, NO_GO, Gate
from checks.evidence.provenance import ci_run, describe_git

ICON = {GO: "✅", CONDITIONAL: "⚠️", NO_GO: "⛔"}
COLOUR = {GO: "green", CONDITIONAL: "yellow", NO_GO: "red"}


def waived(gate: Gate) -> int:
    """How many findings an active waiver accepted (they decide nothing)."""
    return int(gate.counts["by_outcome"].get("waived", 0))


def decision_label(gate: Gate) -> str:
    """"GO", or "GO · 1 waived finding" when accepted risks are part of the decision."""
    n = waived(gate)
    return f"{gate.decision} · {n} waived finding{'s' if n != 1 else ''}" if n else gate.decision


def headline(gate: Gate) -> str:
    n = waived(gate)
    accepted = f"; {n} waived (accepted risk{'s' if n != 1 else ''})" if n else ""
    if gate.decision == GO:
        if not gate.reasons:
            return ("every other evaluated check passed" if n else "every evaluated check passed") + accepted
        return "only P3 (information) findings" + accepted
    if gate.decision == CONDITIONAL:
        return "only P2 (minor) checks failed: fix forward" + accepted
    why = []
    failed = [r for r in gate.reasons if r.outcome == "failed" and r.effect == NO_GO]
    errors = [r for r in gate.reasons if r.outcome == "error"]
    if failed:
        why.append(f"{len(failed)} P0/P1 check(s) failed")
    if errors:
        why.append(f"{len(errors)} check(s) could not be evaluated")
    if gate.incomplete:
        why.append("the run is incomplete")
    return "; ".join(why) + accepted


def severity_line(gate: Gate) -> str:
    sev = gate.counts["by_severity"]
    return ", ".join(f"{s} {sev[s]['failed']} failed/{sev[s]['error']} error" for s in SEVERITIES if s in sev)


def outcome_line(gate: Gate) -> str:
    out = gate.counts["by_outcome"]
    shown = ("passed", "failed", "error", "skipped", *(("waived",) if out.get("waived") else ()))
    return ", ".join(f"{out.get(k, 0)} {k}" for k in shown)


def _where(r: Any) -> str:
    return one_line(f"{r.check} {r.resource}".strip() if r.check else (r.test or "run"))


def terminal_lines(gate: Gate, bundle: str | None) -> list[str]:
    lines = [f"why:      {headline(gate)}",
             f"checks:   {outcome_line(gate)}",
             f"severity: {severity_line(gate)}"]
    if gate.rollback:
        lines.append(f"rollback: {gate.rollback}")
    for r in gate.reasons:
        label = r.severity or "--"
        lines.append(f"  [{r.effect}] {label} {_where(r)} ({r.outcome}): {one_line(r.message)}")
        if r.outcome != "incomplete":
            lines.append(f"      rollback: {one_line(r.rollback)}")
    if bundle:
        lines.append(f"evidence: {one_line(bundle)}")
    return lines


def _cell(text: str) -> str:
    """A value as literal Markdown text, safe in a table cell."""
    return md((text or "").strip())


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
    return block(command, "sh", "   ")


def markdown(gate: Gate, meta: dict[str, Any], links: Mapping[str, str] | None = None,
             since: str = "", governance: Sequence[str] = (), problems: list[str] | None = None) -> str:
    """The job summary: decision, counts by severity, what to fix (one command each), where the evidence is; a
    run that is not a gate run says what it is in its title and first line. `since` (what changed since the
    previous gate run) follows the headline; `governance` (accepted risks, approvals: governance.py) follows
    the reasons."""
    links = links or {}
    kind = kind_heading(meta)
    title = (f"## {ICON[gate.decision]} BBWS post-deploy gate: **{decision_label(gate)}**" if kind is None else
             f"## BBWS {_cell(kind)}: **{decision_label(gate)}** (not a gate run)")
    out = [title, ""]
    if kind is not None:
        out += [f"> **Not a gate run** ({_cell(kind)}): this result approves no release, and `latest` was not "
                "moved.", ""]
    out += [f"> **{_cell(p)}**" for p in problems or ()] + ([""] if problems else [])
    out += [f"env **{md(meta.get('env', ''))}**, account {code(meta.get('account', ''))}, "
            f"region {code(meta.get('region', ''))} · {headline(gate)}",
            *(["", f"**Since the previous gate run:** {md(since)}"] if since else []), ""]
    infra = (meta.get("provenance") or {}).get("infra")
    if infra:
        out += [f"infra repo commit: {code(describe_git(infra))}", ""]
    if gate.rollback:
        out += [f"**Rollback:** {gate.rollback}", ""]
    kinds = ("passed", "failed", "error", "skipped", *(("waived",) if waived(gate) else ()))
    out += ["| severity | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for s in SEVERITIES:
        c = gate.counts["by_severity"].get(s, {})
        out.append(f"| {s} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |")
    if gate.reasons:
        out += ["", "### What to fix", ""]
        for i, r in enumerate(gate.reasons, 1):
            what = (f"{r.severity} {code(r.check)} {_cell(r.title)} · {code(r.resource)} ({r.outcome})"
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
    out += [*governance, ""]
    name = meta.get("bundle_name") or ""
    if links.get("run"):
        artifact = f"gate-evidence-{meta.get('env', '')}-{links['run_id']}-{links.get('attempt') or '1'}"
        out.append(f"Evidence: [workflow run {md(links['run_id'])}]({links['run']}) · artifact {code(artifact)} "
                   f"([download]({links['artifacts']})), bundle {code(name)} (report.html, results.sarif, "
                   "manifest.json)")
    elif name:
        out.append(f"Evidence bundle: {code(name)} (under the run's reports directory)")
    return "\n".join(out) + "\n"


def remedy_first_line(text: str) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""
