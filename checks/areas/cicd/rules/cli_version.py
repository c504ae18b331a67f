"""CICD-02 Terraform CLI version: the Terraform a workflow installs can read the roots it runs on.

A backend setting or a block that needs a newer Terraform than the workflow installs fails at init or plan;
`required_version` should stop such a version first, and a workflow that installs whatever is latest needs a
`required_version` with an upper bound, or each run may take a new release unreviewed.
"""

from __future__ import annotations

from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Step, Workflow
from checks.areas.cicd.rules.backend import init_sources
from checks.areas.cicd.shell import EXPR_RE, resolve
from checks.areas.cicd.tfrun import input_values, tf_runs
from checks.core import linear
from checks.core.hcl import blocks
from checks.core.tf_versions import Version, has_upper_bound, parse_version, required_versions, satisfies

SETUP = {"hashicorp/setup-terraform": "terraform_version", "hashicorp/terraform-github-actions": "tf_actions_version"}
INF = 10 ** 6
# The first Terraform release that reads each setting or block.
BACKEND_NEEDS = {"use_lockfile": (1, 10, 0), "assume_role": (1, 6, 0), "assume_role_with_web_identity": (1, 6, 0),
                 "endpoints": (1, 6, 0), "use_path_style": (1, 6, 0), "skip_s3_checksum": (1, 6, 0)}
BLOCK_NEEDS = {"moved": (1, 1, 0), "import": (1, 5, 0), "check": (1, 5, 0), "removed": (1, 7, 0),
               "ephemeral": (1, 10, 0)}
FIX_PIN = ("pin the version you tested: `terraform_version: <x.y.z>` on the setup step, or bound required_version "
           "(`~> 1.10.0`)")


def _text(v: Version) -> str:
    return ".".join(str(x) for x in v)


def version_range(spec: str) -> tuple[Version, Version] | None:
    """(lowest, highest) version a setup step's version spec installs; None for "latest" or an open range."""
    s = spec.strip().lstrip("=")
    exact = parse_version(s)
    if exact and linear.fullmatch(r"v?\d+\.\d+\.\d+", s):
        return exact, exact
    m = linear.fullmatch(r"([~^]?)v?(\d+)\.(\d+)(?:\.(?:\d+|x|\*))?", s)
    if m:
        major, minor = int(m.group(2)), int(m.group(3))
        return (major, minor, 0), ((major, INF, INF) if m.group(1) == "^" else (major, minor, INF))
    m = linear.search(r"<(=?)\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", s)
    if m:
        top = (int(m.group(2)), int(m.group(3) or 0), int(m.group(4) or 0))
        if not m.group(1):
            top = (top[0], top[1], top[2] - 1) if top[2] else (top[0], top[1] - 1, INF) if top[1] else \
                (top[0] - 1, INF, INF)
        return (0, 0, 0), top
    return None


def features(root: tfm.Root, cfg: dict[str, Any]) -> list[tuple[str, Version, str]]:
    """(what, the Terraform it needs, file) for every versioned setting and block the root uses."""
    out = []
    got = root.backend()
    where = next((f for f, tf in root.terraform_blocks() if tf.get("backend")), root.path)
    for key, need in BACKEND_NEEDS.items():
        if got and key in (got[1] or {}) or key in cfg:
            out.append((f"the backend setting `{key}`", need, where))
    for f, body in root.files.items():
        for kind, need in BLOCK_NEEDS.items():
            if blocks(body.get(kind)):
                out.append((f"a `{kind}` block", need, f))
        if any(blocks(tf.get("cloud")) for tf in blocks(body.get("terraform"))):
            out.append(("a `cloud` block", (1, 1, 0), f))
    return out


def _specs(wf: Workflow, repo: Repo | None, job: Job, step: Step, key: str) -> list[str]:
    """The version specs a setup step installs (its inputs resolved through callers and defaults)."""
    raw = resolve(str(step.with_.get(key, "")), step.env, job.env, wf.env)
    m = linear.fullmatch(r"\s*\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}\s*", raw)
    if not m:
        return [raw]
    values = input_values(wf, repo).get(m.group(1))
    if values:
        return values
    for trigger in ("workflow_call", "workflow_dispatch"):
        spec = ((wf.on.get(trigger) or {}).get("inputs") or {}).get(m.group(1))
        if isinstance(spec, dict) and spec.get("default") not in (None, ""):
            return [str(spec["default"])]
    return [raw]


def cli_version(wf: Workflow, roots: dict[str, tfm.Root], files: dict[str, dict[str, Any]],
                repo: Repo | None = None) -> list[Finding]:
    """Per setup step: its Terraform reads each root its job runs on (rule `cli-version`), and a step that
    installs the latest release serves only roots whose required_version has an upper bound (`cli-unpinned`)."""
    out = []
    runs = tf_runs(wf, repo=repo)
    for job in wf.jobs.values():
        dirs = list(dict.fromkeys(r.dir for r in runs if r.job.id == job.id and r.dir in roots))
        for step in job.steps:
            key = SETUP.get(step.uses.split("@")[0])
            if key is None:
                continue
            at = ("jobs", job.id, "steps", step.index, "with", key) if key in step.with_ else \
                ("jobs", job.id, "steps", step.index)
            for spec in _specs(wf, repo, job, step, key):
                if EXPR_RE.search(spec):
                    continue  # a run-time value: not judged
                out += _judge(wf, job, step, spec, at, [roots[d] for d in dirs], files, repo)
    return out


def _judge(wf: Workflow, job: Job, step: Step, spec: str, at: tuple, roots: list[tfm.Root],
           files: dict[str, dict[str, Any]], repo: Repo | None) -> list[Finding]:
    out = []
    span = None if spec.strip() in ("", "latest", "*") else version_range(spec)
    what = f"job {job.id} step {step.name!r} installs Terraform {spec or '(latest)'}"
    for root in roots:
        rvs = required_versions(root.terraform_blocks())
        rv = rvs[0][1] if rvs else ""
        if span is None:
            if root.backend() is not None and not (rv and has_upper_bound(rv)):
                given = f"{SETUP[step.uses.split('@')[0]]}: {spec}" if spec else "no terraform_version"
                out.append(wf.finding("cli-unpinned", f"job {job.id} step {step.name!r} installs the latest Terraform "
                                      f"({given}) and {root.path or '.'}'s required_version {rv or '(not set)'!r} "
                                      "has no upper bound: each run may take a new Terraform release that nobody "
                                      "tested", *at, check="CICD-02", fix=FIX_PIN))
            continue
        low, high = span
        cfgs = [tfm.backend_settings(root, list(s.flags), files)
                for s in init_sources([wf], root.path, repo)] or [tfm.backend_settings(root, [], files)]
        lets = not rv or satisfies(high, rv) is not False
        for name, need, f in dict.fromkeys(x for cfg in cfgs for x in features(root, cfg)):
            if high < need:
                why = (f"required_version {rv!r} lets it through" if rv else "no required_version stops it") \
                    if lets else f"required_version {rv!r} refuses it"
                out.append(wf.finding("cli-version", f"{what}, but {root.path or '.'} uses {name} ({f}), which needs "
                                      f"Terraform >= {_text(need)}; {why}, so init or plan fails", *at,
                                      check="CICD-02", fix=f"install Terraform >= {_text(need)} "
                                      f"(`terraform_version: {_text(need)}` or newer) and set required_version = "
                                      f"\"~> {need[0]}.{need[1]}\" so an older CLI stops with a clear message"))
        if low == high and rv and satisfies(low, rv) is False:
            out.append(wf.finding("cli-version", f"{what}, which {root.path or '.'}'s required_version {rv!r} "
                                  "refuses: init stops with 'Unsupported Terraform Core version'", *at,
                                  check="CICD-02", fix=f"install a Terraform that satisfies {rv!r}"))
    return out
