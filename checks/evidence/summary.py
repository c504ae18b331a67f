"""The gate as text: the terminal summary and the Markdown job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from typing import Any

from checks.core.catalog import SEVERITIES
from checks.evidence.gate import CONDITIONAL, GO, NO_GO, Gate

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


def markdown(gate: Gate, meta: dict[str, Any]) -> str:
    """The job summary: decision, counts by severity, reasons with rollback actions."""
    out = [f"## {ICON[gate.decision]} BBWS post-deploy gate: **{gate.decision}**", "",
           f"env **{meta.get('env', '')}**, account `{meta.get('account', '')}`, region `{meta.get('region', '')}`"
           f" · {headline(gate)}", ""]
    if gate.rollback:
        out += [f"**Rollback:** {gate.rollback}", ""]
    out += ["| severity | passed | failed | error | skipped |", "|---|---|---|---|---|"]
    for s in SEVERITIES:
        c = gate.counts["by_severity"].get(s, {})
        out.append(f"| {s} | " + " | ".join(str(c.get(k, 0)) for k in ("passed", "failed", "error", "skipped")) + " |")
    if gate.reasons:
        out += ["", "| effect | check | resource | severity | outcome | message | rollback |",
                "|---|---|---|---|---|---|---|"]
        for r in gate.reasons:
            out.append(f"| {r.effect} | {_cell(r.check)} | {_cell(r.resource)} | {r.severity} | {r.outcome} | "
                       f"{_cell(r.message)} | {_cell(r.rollback)} |")
    if meta.get("bundle"):
        out += ["", f"Evidence bundle: `{meta['bundle']}` (uploaded as the workflow artifact)"]
    return "\n".join(out) + "\n"
