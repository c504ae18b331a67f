"""CICD-01 approval: every terraform apply waits for an approval environment, after a plan exists."""

from __future__ import annotations

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Workflow, runs, runs_apply, step_commands
from checks.areas.cicd.shell import EXPR_RE
from checks.core import linear

FIX_GATE = ("put the apply in its own job with `environment:` set to the env (with required reviewers) and "
            "`needs:` the plan job")


def needs_closure(wf: Workflow, job: Job) -> list[Job]:
    jobs, seen, todo, out = wf.jobs, set(), list(job.needs), []
    while todo:
        n = todo.pop()
        if n in seen or n not in jobs:
            continue
        seen.add(n)
        out.append(jobs[n])
        todo.extend(jobs[n].needs)
    return out


def gate(wf: Workflow, job: Job) -> tuple[str, Job] | None:
    """The approval environment that gates this job and the job that carries it (itself or one it needs)."""
    if job.environment:
        return job.environment, job
    for j in needs_closure(wf, job):
        if j.environment:
            return j.environment, j
    return None


def _matches(found: str, expected: str, env: str) -> bool:
    """The expected name, or the usual approval-job pattern around the env's name (prod-approval, approve-prod)."""
    if found == expected or EXPR_RE.search(found):
        return True
    words = set(found.lower().replace("_", "-").split("-"))
    return bool(env) and env.lower() in words


def approval(wf: Workflow, repo: Repo | None = None, *, exempt: bool = False, expected_environment: str = "",
             env: str = "") -> list[Finding]:
    if exempt:
        return []
    repo = repo or Repo([wf])
    out = []
    callers = repo.callers(wf) if "workflow_call" in wf.on else []
    for job in wf.jobs.values():
        verb = "apply" if runs_apply(job) else "destroy" if runs(job, "destroy") else ""
        if not verb:
            continue
        got = gate(wf, job)
        if got is None and callers and all(gate(w, j) for w, j in callers):
            got = gate(*callers[0])
        if got is None:
            chain = ", ".join(j.id for j in needs_closure(wf, job)) or "none"
            out.append(wf.finding("approval", f"job {job.id} runs terraform {verb} without an approval environment "
                                  f"(no `environment:` on it or on any job it needs: {chain})", "jobs", job.id,
                                  fix=FIX_GATE))
            continue
        name, carrier = got
        if carrier is job and verb == "apply" and runs(job, "plan"):
            out.append(wf.finding("plan-apply-same-job", f"job {job.id} plans and applies in one job gated by "
                                  f"environment {name!r}: the approval comes before any plan exists, so reviewers "
                                  "approve blind", "jobs", job.id, "environment",
                                  fix="split into a plan job that uploads the plan file and an apply job that "
                                      "`needs:` it, downloads it and carries the environment"))
        if expected_environment and not _matches(name, expected_environment, env):
            where = "jobs", carrier.id, "environment"
            out.append(wf.finding("approval", f"job {job.id} is approved in environment {name!r} (on job "
                                  f"{carrier.id}), but github.environment for env {env or '?'} is "
                                  f"{expected_environment!r}", *where,
                                  fix=f"if {name!r} is the approval environment, set github.environment = {name!r} "
                                      f"for env {env} in environments.toml; else gate job {carrier.id} with "
                                      f"`environment: {expected_environment}`"))
    return out


PR_EVENTS = ("pull_request", "pull_request_target")
NOT_PR_RE = linear.compile(r"github\.event_name\s*!=\s*'pull_request"
                          r"|github\.ref\s*==\s*'refs/(?:heads|tags)/|github\.ref_name\s*==\s*'|startsWith\(github\.ref,")
EVENT_IS_RE = linear.compile(r"github\.event_name\s*==\s*'([a-z_]+)'")


def keeps_off_pull_requests(cond: str) -> bool:
    """An `if:` that a pull request's run cannot satisfy: another event named, or a branch or tag ref."""
    return bool(NOT_PR_RE.search(cond)) or any(not e.startswith("pull_request") for e in EVENT_IS_RE.findall(cond))


def applies_on_pull_request(wf: Workflow) -> list[Finding]:
    """A pull request runs terraform apply: its unmerged change is applied before anyone merges it."""
    events = [e for e in PR_EVENTS if e in wf.on]
    if not events:
        return []
    out = []
    for job in wf.jobs.values():
        if keeps_off_pull_requests(str(job.raw.get("if", ""))):
            continue
        for step in job.steps:
            if any(c.sub == "apply" for c in step_commands(step)) and \
                    not keeps_off_pull_requests(str(step.raw.get("if", ""))):
                out.append(wf.finding("apply-on-pr", f"job {job.id} step {step.name!r} runs terraform apply on "
                                      f"{events[0]} events (no `if:` keeps it to pushes): a pull request applies its "
                                      "unmerged change", "jobs", job.id, "steps", step.index,
                                      fix="guard the apply with `if: github.event_name == 'push' && github.ref == "
                                          "'refs/heads/main'` (plan only on pull requests)"))
                break
    return out
