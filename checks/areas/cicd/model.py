"""The workflow model: Workflow, Job and Step over the parsed YAML, and Repo (all workflows, for calls).

`parse(path, text)` never raises; parse problems become `Workflow.problems`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.shell import terraform_commands
from checks.areas.cicd.yaml_lines import dotted, load_yaml

CHECK = "CICD-01"
AWS_CREDS_ACTION = "aws-actions/configure-aws-credentials"


@dataclass
class Step:
    index: int
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.raw.get("uses") or f"step {self.index + 1}")

    @property
    def uses(self) -> str:
        v = self.raw.get("uses")
        return v if isinstance(v, str) else ""

    @property
    def run(self) -> str:
        v = self.raw.get("run")
        return v if isinstance(v, str) else ""

    @property
    def with_(self) -> dict[str, Any]:
        v = self.raw.get("with")
        return v if isinstance(v, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        v = self.raw.get("env")
        return v if isinstance(v, dict) else {}


@dataclass
class Job:
    id: str
    raw: dict[str, Any]

    @property
    def steps(self) -> list[Step]:
        v = self.raw.get("steps")
        return [Step(i, s) for i, s in enumerate(v) if isinstance(s, dict)] if isinstance(v, list) else []

    @property
    def uses(self) -> str:
        v = self.raw.get("uses")
        return v if isinstance(v, str) else ""

    @property
    def needs(self) -> list[str]:
        v = self.raw.get("needs")
        return [v] if isinstance(v, str) else [str(x) for x in v] if isinstance(v, list) else []

    @property
    def environment(self) -> str | None:
        v = self.raw.get("environment")
        if isinstance(v, dict):
            v = v.get("name")
        return str(v) if v not in (None, "") else None

    @property
    def env(self) -> dict[str, Any]:
        v = self.raw.get("env")
        return v if isinstance(v, dict) else {}

    @property
    def matrix(self) -> dict[str, list[Any]]:
        strategy = self.raw.get("strategy")
        m = strategy.get("matrix") if isinstance(strategy, dict) else None
        return {k: v for k, v in m.items() if isinstance(v, list)} if isinstance(m, dict) else {}


@dataclass
class Workflow:
    path: str                                  # relative to the infra repo, e.g. .github/workflows/deploy-prod.yml
    data: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # parse problems
    refused: str = ""  # why the file was not evaluated at all (past the parser's bounds): an error, not a finding

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def ok(self) -> bool:
        return isinstance(self.data, dict) and not self.problems

    @property
    def doc(self) -> dict[str, Any]:
        return self.data if isinstance(self.data, dict) else {}

    @property
    def on(self) -> dict[str, Any]:
        v = self.doc.get("on")
        if isinstance(v, str):
            return {v: {}}
        if isinstance(v, list):
            return {str(x): {} for x in v}
        return {str(k): (x if isinstance(x, dict) else {}) for k, x in v.items()} if isinstance(v, dict) else {}

    @property
    def jobs(self) -> dict[str, Job]:
        v = self.doc.get("jobs")
        return {str(k): Job(str(k), j) for k, j in v.items() if isinstance(j, dict)} if isinstance(v, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        v = self.doc.get("env")
        return v if isinstance(v, dict) else {}

    def line(self, *at: Any) -> int:
        at_t = tuple(at)
        while at_t and at_t not in self.lines:
            at_t = at_t[:-1]
        return self.lines.get(at_t, 0)

    def finding(self, rule: str, message: str, *at: Any, check: str = CHECK, fix: str = "") -> Finding:
        return Finding(check, rule, self.path, message, dotted(at), self.line(*at), fix)


def parse(path: str, text: str) -> Workflow:
    parsed = load_yaml(text)
    wf = Workflow(path, parsed.data, parsed.lines, refused=parsed.refused)
    wf.problems = [Finding(CHECK, "yaml", path, msg, "", line) for msg, line in parsed.problems]
    if not wf.problems and not isinstance(parsed.data, dict):
        kind = type(parsed.data).__name__
        wf.problems.append(Finding(CHECK, "yaml", path, f"a workflow must be a mapping, got {kind}"))
    elif not wf.problems:
        if "on" not in wf.doc:
            wf.problems.append(Finding(CHECK, "structure", path, "no `on:` trigger"))
        if not wf.jobs:
            wf.problems.append(Finding(CHECK, "structure", path, "no jobs"))
    return wf


def steps(wf: Workflow) -> Iterable[tuple[Job, Step]]:
    for job in wf.jobs.values():
        for step in job.steps:
            yield job, step


def runs_apply(job: Job) -> bool:
    return any(c.sub == "apply" for s in job.steps for c in terraform_commands(s.run))


def local_callee(job: Job) -> str:
    u = job.uses
    return u[2:].split("@")[0] if u.startswith("./") else ""


class Repo:
    """All workflows of an infra repo, for rules that follow reusable-workflow calls."""

    def __init__(self, workflows: Iterable[Workflow]):
        self.by_path = {w.path: w for w in workflows}

    def callee(self, job: Job) -> Workflow | None:
        p = local_callee(job)
        return self.by_path.get(p) if p else None

    def callers(self, wf: Workflow) -> list[tuple[Workflow, Job]]:
        return [(w, j) for w in self.by_path.values() for j in w.jobs.values() if local_callee(j) == wf.path]

    def apply_jobs(self, wf: Workflow) -> list[Job]:
        out = []
        for job in wf.jobs.values():
            callee = self.callee(job)
            if runs_apply(job) or (callee is not None and any(runs_apply(j) for j in callee.jobs.values())):
                out.append(job)
        return out
