"""The gate as text: the terminal summary and the Markdown job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from checks.core.catalog import SEVERITIES
from checks.evidence import remedy
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


GATE, REPLAY, REVIEW, FILE_REVIEW = "post-deploy gate", "replay", "credential-free review", "file review"
NOT_A_DEPLOYMENT = "not a deployment: nothing to roll back; fix the findings before merging"


def run_kind(meta: Mapping[str, Any]) -> str:
    """What the run was, for the summaries' titles: a review of files reads no AWS and deploys nothing, so its
    summary speaks of findings to fix before merging, not of rollbacks."""
    if meta.get("replay_of"):
        return REPLAY
    offline = str(meta.get("offline") or "")  # the line the run printed (checks.plugin.live.offline_reason)
    if offline:
        return REVIEW if offline.startswith(REVIEW) else FILE_REVIEW
    return GATE


NOT_READ = "with NoVerifiedCaller"  # the refusal every AWS read of a credential-free review gets (core/aws.py)


def unverified_offline(gate: Gate, meta: Mapping[str, Any]) -> list[Any]:
    """The errors of a review that are only "not read: no AWS credentials": expected there, not things to fix."""
    if run_kind(meta) != REVIEW:
        return []
    return [r for r in gate.reasons if r.outcome == "error" and NOT_READ in r.message]


def grouped(reasons: list[Any]) -> list[tuple[Any, list[str]]]:
    """Reasons that say the same thing of several resources, once: (the first, every resource)."""
    groups: dict[tuple[str, ...], tuple[Any, list[str]]] = {}
    for r in reasons:
        key = (r.effect, r.severity, r.check, r.outcome, r.message)
        groups.setdefault(key, (r, []))[1].append(r.resource)
    return list(groups.values())


def _where_all(r: Any, resources: list[str]) -> str:
    named = [x for x in dict.fromkeys(resources) if x]
    if len(named) <= 1:
        return _where(r)
    return f"{r.check} ×{len(resources)} ({', '.join(named)})"


def terminal_lines(gate: Gate, bundle: str | None, meta: Mapping[str, Any] | None = None) -> list[str]:
    meta = meta or {}
    review = run_kind(meta) in (REVIEW, FILE_REVIEW)
    lines = [f"why:      {headline(gate)}",
             f"checks:   {outcome_line(gate)}",
             f"severity: {severity_line(gate)}"]
    if review:
        lines.append(f"{run_kind(meta)}: {NOT_A_DEPLOYMENT}")
    elif gate.rollback:
        lines.append(f"rollback: {gate.rollback}")
    for r, resources in grouped(gate.reasons):
        label = r.severity or "--"
        lines.append(f"  [{r.effect}] {label} {_where_all(r, resources)} ({r.outcome}): {r.message}")
        if r.outcome != "incomplete" and not review:
            lines.append(f"      rollback: {r.rollback}")
    if bundle:
        lines.append(f"evidence: {bundle}")
    return lines


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def github_links(environ: Mapping[str, str]) -> dict[str, str]:
    """The run's page and its artifacts, from GitHub Actions' default variables (empty elsewhere)."""
    server, repo, run = (environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (server and repo and run):
        return {}
    url = f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return {"run": url, "artifacts": f"{url}#artifacts", "run_id": run,
            "attempt": environ.get("GITHUB_RUN_ATTEMPT", "")}


def _fenced(command: str) -> list[str]:
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", command)), default=0))
    return [f"   {fence}sh", f"   {command}", f"   {fence}"]


def markdown(gate: Gate, meta: dict[str, Any], links: Mapping[str, str] | None = None) -> str:
    """The job summary: decision, counts by severity, what to fix (one command each), where the evidence is."""
    links = links or {}
    kind = run_kind(meta)
    review = kind in (REVIEW, FILE_REVIEW)
    unverified = unverified_offline(gate, meta)
    out = [f"## {ICON[gate.decision]} BBWS {kind}: **{gate.decision}**", "",
           f"env **{meta.get('env', '')}**, account `{meta.get('account', '')}`, region `{meta.get('region', '')}`"
           f" · {headline(gate)}", ""]
    if review:
        out += [f"**{kind.capitalize()}:** {NOT_A_DEPLOYMENT}.", ""]
    elif gate.rollback:
        out += [f"**Rollback:** {gate.rollback}", ""]
    out += ["| severity | passed | failed | error | skipped |", "|---|---|---|---|---|"]
    for s in SEVERITIES:
        c = gate.counts["by_severity"].get(s, {})
        out.append(f"| {s} | " + " | ".join(str(c.get(k, 0)) for k in ("passed", "failed", "error", "skipped")) + " |")
    to_fix = grouped([r for r in gate.reasons if r not in unverified])
    if to_fix:
        out += ["", "### What to fix", ""]
        for i, (r, resources) in enumerate(to_fix, 1):
            named = ", ".join(f"`{_cell(x)}`" for x in dict.fromkeys(resources) if x)
            what = (f"{r.severity} `{_cell(r.check)}` {_cell(r.title)} · {named} ({r.outcome})"
                    if r.check else "incomplete run")
            out.append(f"{i}. **{r.effect}** {what}: {_cell(remedy_first_line(r.message))}")
            out += _problem_lines(r.message)
            command = remedy.first_command(r.remediation)
            steps = len(remedy.commands(r.remediation))
            if command:
                out += _fenced(command)
                if steps > 1:
                    out.append(f"   step 1 of {steps}; every step is in the finding's card in report.html")
            if not review:
                out.append(f"   rollback: {_cell(r.rollback)}")
    if unverified:
        checks = ", ".join(dict.fromkeys(f"{r.check} {r.resource}".strip() for r in unverified))
        out += ["", f"**Not verified without AWS credentials** ({len(unverified)}): {_cell(checks)}. They read "
                    "the deployed state: the post-deploy gate, with the env's read-only role, verifies them."]
    if gate.reasons:
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


PROBLEM_LINES = 6  # of a finding's message, in the job summary; every line is in report.html


def _problem_lines(text: str) -> list[str]:
    """The problems a finding's first line announces ("found 2 problem(s):"), as a nested list."""
    lines = [ln.rstrip() for ln in (text or "").strip().splitlines()[1:] if ln.strip()]
    out = [f"   - {_cell(ln.strip()[2:])}" if ln.lstrip().startswith("- ") else f"     {_cell(ln)}"
           for ln in lines[:PROBLEM_LINES]]
    if len(lines) > PROBLEM_LINES:
        out.append(f"   - … {len(lines) - PROBLEM_LINES} more line(s) in report.html")
    return out
