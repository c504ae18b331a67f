"""CICD-01 hidden failures: a piped terraform without pipefail, `|| true`, continue-on-error."""

from __future__ import annotations

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Step, Workflow, steps
from checks.areas.cicd.shell import sets_pipefail, terraform_commands
from checks.core import linear


def _shell(wf: Workflow, job: Job, step: Step) -> str | None:
    if "shell" in step.raw:
        return str(step.raw["shell"])
    for d in (job.raw.get("defaults"), wf.doc.get("defaults")):
        if isinstance(d, dict) and isinstance(d.get("run"), dict) and "shell" in d["run"]:
            return str(d["run"]["shell"])
    return None


def _pipefail(shell: str | None) -> bool:
    return shell == "bash" or (shell is not None and "pipefail" in shell)


def _checked_later(job: Job, step: Step) -> bool:
    """A later step fails the job on this step's outcome (`if: steps.<id>.outcome == 'failure'` ... `exit 1`)."""
    sid = step.raw.get("id")
    if not sid:
        return False
    pat = linear.compile(rf"steps\.{linear.escape(str(sid))}\.(?:outcome|conclusion)"
                         r"\s*(?:==\s*'failure'|!=\s*'success')")
    return any(pat.search(str(s.raw.get("if", ""))) and linear.search(r"\bexit\s+[1-9]", s.run)
               for s in job.steps if s.index > step.index)


def hidden_failures(wf: Workflow) -> list[Finding]:
    out = []
    for job, step in steps(wf):
        cmds = [c for c in terraform_commands(step.run) if c.sub not in ("fmt", "version", "output", "show")]
        at = ("jobs", job.id, "steps", step.index)
        for c in cmds:
            if c.piped:
                shell = _shell(wf, job, step)
                if not _pipefail(shell) and not sets_pipefail(step.run.split(c.line)[0] if c.line in step.run
                                                                  else step.run):
                    how = "the implicit default shell (bash -e {0}, no pipefail)" if shell is None \
                        else f"shell {shell!r} (no pipefail)"
                    out.append(wf.finding("pipefail", f"step {step.name!r} pipes `terraform {c.sub}` under {how}: "
                                          "a failed terraform leaves the step green; set `shell: bash` on the step "
                                          "or in defaults.run, or `set -o pipefail`", *at, "run",
                                          fix=f"add `set -o pipefail` as the first line of step {step.name!r} (or "
                                              "`defaults: {run: {shell: bash}}`)"))
            if c.or_true:
                out.append(wf.finding("pipefail", f"step {step.name!r} ignores the exit status of `terraform "
                                      f"{c.sub}` (`|| ...`)", *at, "run",
                                      fix=f"remove the `|| ...` after `terraform {c.sub}`"))
        if cmds and step.raw.get("continue-on-error") is True and any(c.sub in ("plan", "apply") for c in cmds) \
                and not _checked_later(job, step):
            out.append(wf.finding("pipefail", f"step {step.name!r} runs terraform with continue-on-error: true",
                                  *at, "continue-on-error",
                                  fix=f"delete `continue-on-error: true` from step {step.name!r}"))
    return out


