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


GATE, REPLAY, REVIEW, FILE_REVIEW = "post-deploy gate", "replay", "credential-free review", "file review"
NOT_A_DEPLOYMENT = "not a deployment: nothing to roll back; fix the findings before merging"
NOT_READ = "with NoVerifiedCaller"  # the refusal every AWS read of a credential-free review gets (core/aws.py)


def run_kind(meta: Mapping[str, Any]) -> str:
    """What the run was, in the summaries' words: a review of files reads no AWS and deploys nothing, so its
    summary speaks of findings to fix before merging, not of rollbacks."""
    if meta.get("replay_of"):
        return REPLAY
    offline = str(meta.get("offline") or "")  # the line the run printed (checks.plugin.live.offline_reason)
    if offline:
        return REVIEW if offline.startswith(REVIEW) else FILE_REVIEW
    return GATE


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
    return one_line(f"{r.check} ×{len(resources)} ({', '.join(named)})")


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
        lines.append(f"  [{r.effect}] {label} {_where_all(r, resources)} ({r.outcome}): {one_line(r.message)}")
        if r.outcome != "incomplete" and not review:
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
    review = run_kind(meta) in (REVIEW, FILE_REVIEW)
    unverified = unverified_offline(gate, meta)
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
    if review:
        out += [f"**{run_kind(meta).capitalize()}:** {NOT_A_DEPLOYMENT}.", ""]
    elif gate.rollback:
        out += [f"**Rollback:** {gate.rollback}", ""]
    kinds = ("passed", "failed", "error", "skipped", *(("waived",) if waived(gate) else ()))
    out += ["| severity | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for s in SEVERITIES:
        c = gate.counts["by_severity"].get(s, {})
        out.append(f"| {s} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |")
    to_fix = grouped([r for r in gate.reasons if r not in unverified])
    if to_fix:
        out += ["", "### What to fix", ""]
        for i, (r, resources) in enumerate(to_fix, 1):
            named = ", ".join(code(x) for x in dict.fromkeys(resources) if x)
            what = (f"{r.severity} {code(r.check)} {_cell(r.title)} · {named} ({r.outcome})"
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


PROBLEM_LINES = 6  # of a finding's message, in the job summary; every line is in report.html


def _problem_lines(text: str) -> list[str]:
    """The problems a finding's first line announces ("found 2 problem(s):"), as a nested list."""
    lines = [ln.rstrip() for ln in (text or "").strip().splitlines()[1:] if ln.strip()]
    out = [f"   - {_cell(ln.strip()[2:])}" if ln.lstrip().startswith("- ") else f"     {_cell(ln)}"
           for ln in lines[:PROBLEM_LINES]]
    if len(lines) > PROBLEM_LINES:
        out.append(f"   - … {len(lines) - PROBLEM_LINES} more line(s) in report.html")
    return out
