"""CICD-05 concurrency: every terraform apply is in a group that never cancels a running apply."""

from __future__ import annotations

from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Repo, Workflow, runs_apply


def concurrency(wf: Workflow, repo: Repo | None = None, env: str = "") -> list[Finding]:
    """Every job that runs terraform apply is in a concurrency group that never cancels a running apply."""
    repo = repo or Repo([wf])

    def ok(spec: Any) -> str | None:
        if isinstance(spec, str) and spec:
            return None
        if not isinstance(spec, dict) or not spec.get("group"):
            return "has no concurrency group"
        cip = spec.get("cancel-in-progress", False)
        if cip is not False:
            return f"has cancel-in-progress: {cip} (a cancelled apply leaves the state locked)"
        return None

    fix = f"concurrency: {{group: terraform-{env or wf.file.rsplit('.', 1)[0]}, cancel-in-progress: false}}"
    out = []
    callers = repo.callers(wf) if "workflow_call" in wf.on else []
    for job in repo.apply_jobs(wf):
        problems = [ok(job.raw.get("concurrency")) if "concurrency" in job.raw else None,
                    ok(wf.doc.get("concurrency")) if "concurrency" in wf.doc else None]
        if "concurrency" in job.raw or "concurrency" in wf.doc:
            bad = [p for p in problems if p]
            if bad:
                out.append(wf.finding("concurrency", f"job {job.id} runs terraform apply and its concurrency "
                                      f"{bad[0]}", "jobs", job.id, fix=fix))
            continue
        if callers and all("concurrency" in j.raw or "concurrency" in w.doc for w, j in callers):
            continue
        callee = repo.callee(job)
        if callee is not None and all("concurrency" in j.raw or "concurrency" in callee.doc
                                      for j in callee.jobs.values() if runs_apply(j)):
            continue  # the called workflow holds the group; it is judged there
        out.append(wf.finding("concurrency", f"job {job.id} runs terraform apply outside any `concurrency` group: "
                              "two runs can apply at once and fight over the state lock", "jobs", job.id, fix=fix))
    return out
