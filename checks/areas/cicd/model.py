"""The workflow model: Workflow, Job and Step over the parsed YAML, and Repo (all workflows, for calls).

`parse(path, text)` never raises; parse problems become `Workflow.problems`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checks.areas.cicd.findings import Finding
from checks.areas.cicd.shell import TfCommand, terraform_commands, tokens
from checks.areas.cicd.yaml_lines import dotted, load_yaml
from checks.core import linear

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
    wf.problems = [Finding(CHECK, "yaml", path, msg + would_have(wf, text), "", line)
                   for msg, line in parsed.problems]
    if not wf.problems and not isinstance(parsed.data, dict):
        kind = type(parsed.data).__name__
        wf.problems.append(Finding(CHECK, "yaml", path, f"a workflow must be a mapping, got {kind}"))
    elif not wf.problems:
        if "on" not in wf.doc:
            never = "no `on:` trigger: GitHub never runs this workflow" + would_have(wf, text)
            wf.problems.append(Finding(CHECK, "structure", path, never, "", 1,
                                       fix="add the `on:` triggers it is meant to run on"))
        if not wf.jobs:
            wf.problems.append(Finding(CHECK, "structure", path, "no jobs"))
    return wf


def would_have(wf: Workflow, text: str) -> str:
    """What an invalid workflow would have done, so the finding says what is not happening."""
    did = []
    for job in wf.jobs.values():
        subs = [c.sub for s in job.steps for c in step_commands(s) if c.sub in ("plan", "apply", "destroy")]
        if subs:
            did.append(f"run terraform {', '.join(dict.fromkeys(subs))} in job {job.id}")
        if job.uses:
            did.append(f"call {job.uses} in job {job.id}")
    if not wf.jobs:
        subs = linear.findall(r"\bterraform\s+(?:-\S+\s+)*(plan|apply|destroy)\b", text[:200_000])
        if subs:
            did.append(f"run terraform {', '.join(dict.fromkeys(subs))} (its text says so)")
    return f"; it would have: {'; '.join(did)}" if did else ""


def steps(wf: Workflow) -> Iterable[tuple[Job, Step]]:
    for job in wf.jobs.values():
        for step in job.steps:
            yield job, step


# Actions that run a terraform command: the `with:` input naming the subcommand (or the action's own
# subcommand), the input holding extra arguments and the input holding the directory.
TF_ACTIONS = {"hashicorp/terraform-github-actions": ("tf_actions_subcommand", "args", "tf_actions_working_dir")}
DFLOOK = "dflook/terraform-"  # dflook/terraform-plan, -apply, -destroy: the subcommand is in the name


def step_commands(step: Step) -> list[TfCommand]:
    """The terraform commands a step runs: its `run:` script, or a terraform action's subcommand."""
    if step.run:
        return terraform_commands(step.run)
    name = step.uses.split("@")[0]
    w = step.with_
    if name in TF_ACTIONS:
        sub_key, args_key, _ = TF_ACTIONS[name]
        sub, args = str(w.get(sub_key, "")), tokens(str(w.get(args_key, "")))
    elif name.startswith(DFLOOK) and name.count("/") == 1:
        sub, args = name[len(DFLOOK):], []
        if sub in ("plan", "apply") and w.get("var_file"):
            args = [f"-var-file={v.strip()}" for v in str(w["var_file"]).split() if v.strip()]
    else:
        return []
    return [TfCommand(sub, args, f"uses: {step.uses}")] if sub else []


def action_dir(step: Step) -> str | None:
    """The directory a terraform action runs in (its `with:` input), None for a `run:` step."""
    name = step.uses.split("@")[0]
    if name in TF_ACTIONS:
        return str(step.with_.get(TF_ACTIONS[name][2], "") or ".")
    if name.startswith(DFLOOK):
        return str(step.with_.get("path", "") or ".")
    return None


def runs(job: Job, sub: str) -> bool:
    return any(c.sub == sub for s in job.steps for c in step_commands(s))


def runs_apply(job: Job) -> bool:
    return runs(job, "apply")


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

    def applies(self, job: Job, seen: frozenset[str] = frozenset()) -> bool:
        """The job runs terraform apply itself or through the workflows it calls (local calls followed)."""
        if runs_apply(job):
            return True
        callee = self.callee(job)
        if callee is None or callee.path in seen:
            return False
        return any(self.applies(j, seen | {callee.path}) for j in callee.jobs.values())

    def apply_jobs(self, wf: Workflow) -> list[Job]:
        return [job for job in wf.jobs.values() if self.applies(job, frozenset({wf.path}))]
