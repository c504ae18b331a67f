"""CICD-02/03 backend: the state backend each root resolves to (block + -backend-config), one key per resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Step, Workflow, steps
from checks.areas.cicd.shell import EXPR_RE, TfCommand, cd_before, resolve, terraform_commands
from checks.core import linear

RUNTIME_RE = linear.compile(r"\$\{\{|\$\{?[A-Za-z_]")  # a value only known when the workflow runs


@dataclass(frozen=True)
class InitSource:
    """One `terraform init` that configures a root: where it is and the -backend-config flags it passes."""
    label: str          # e.g. "deploy-prod.yml jobs.plan"
    workflow: str       # the workflow file name
    flags: tuple[str, ...]


def init_commands(wf: Workflow) -> list[tuple[Job, Step, TfCommand, list[str]]]:
    """Every `terraform init` with the directories it runs in (working-directory, cd, -chdir; matrix expanded)."""
    out = []
    for job, step in steps(wf):
        for c in terraform_commands(step.run):
            if c.sub != "init":
                continue
            wd = step.raw.get("working-directory")
            for d in (job.raw.get("defaults"), wf.doc.get("defaults")):
                if wd is None and isinstance(d, dict) and isinstance(d.get("run"), dict):
                    wd = d["run"].get("working-directory")
            base = str(wd) if wd else ""
            cd = cd_before(step.run, c.line)
            if cd:
                base = f"{base}/{cd}" if base and not cd.startswith("/") else cd
            chdir = c.options("-chdir")
            if chdir:
                base = f"{base}/{chdir[0]}" if base else chdir[0]
            dirs = [norm_dir(base)]
            expanded = []
            for d in dirs:
                keys = linear.findall(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}", d)
                values = [d]
                for k in keys:
                    values = [linear.sub(r"\$\{\{\s*matrix\." + linear.escape(k) + r"\s*\}\}", str(v), x)
                              for x in values for v in job.matrix.get(k, [])] or values
                expanded += values
            out.append((job, step, c, expanded))
    return out


def norm_dir(d: str) -> str:
    parts = [p for p in d.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def init_sources(workflows: list[Workflow], root: str) -> list[InitSource]:
    out = []
    for w in workflows:
        if not w.ok:
            continue
        for job, _, c, dirs in init_commands(w):
            if "-backend=false" in c.args or c.options("-backend") == ["false"]:
                continue  # validate-only: no backend is configured
            if root in dirs or (root == "." and "" in dirs):
                flags = tuple(resolve(f, job.env, w.env) for f in c.options("-backend-config"))
                out.append(InitSource(f"{w.file} jobs.{job.id}", w.file, flags))
    return out


def _runtime(cfg: dict[str, str], flags: tuple[str, ...], files: dict[str, Any], root: str) -> bool:
    """Settings this check cannot see: a backend file written at run time, or a flag with a run-time value."""
    for f in flags:
        if "=" not in f and not (files.get(f) or files.get(f"{root}/{f}")):
            return True
    return any(RUNTIME_RE.search(v) for v in cfg.values())


def backend(root: tfm.Root, sources: list[InitSource], files: dict[str, dict[str, Any]], *,
            mine: set[str], bucket: str = "", lock_table: str = "") -> list[Finding]:
    """The backend is s3 with a key and locking for every init; bucket/table are this env's (when given)."""
    got = root.backend()
    if got is None:
        return []  # a module, not a root with state
    typ, _ = got
    out = []
    if typ != "s3":
        out.append(Finding("CICD-02", "backend", root.path, f"backend {typ!r}, expected \"s3\"",
                           fix='terraform { backend "s3" { ... } }'))
    todo = sources or [InitSource("(backend block)", "", ())]
    for src in todo:
        cfg = tfm.backend_settings(root, list(src.flags), files)
        hidden = _runtime(cfg, src.flags, files, root.path)
        via = f" (via {src.label})" if src.flags else ""
        if "dynamodb_table" not in cfg and str(cfg.get("use_lockfile")).lower() != "true" and not hidden:
            out.append(Finding("CICD-02", "backend", root.path, f"the backend has no state locking{via} (neither "
                               "dynamodb_table nor use_lockfile = true)", "dynamodb_table",
                               fix=f"use_lockfile = true in the backend block (or -backend-config=\"dynamodb_table="
                                   f"{lock_table or 'terraform-state-lock'}\")"))
        if not cfg.get("key") and not hidden:
            out.append(Finding("CICD-02", "backend", root.path, f"the backend has no state key{via}", "key",
                               fix=f'key = "{root.path.strip(".") or "root"}/terraform.tfstate" in the backend block'))
        if src.workflow and src.workflow not in mine:
            continue  # another env's workflow: its bucket is that env's
        for k, want in (("bucket", bucket), ("dynamodb_table", lock_table)):
            v = cfg.get(k)
            if not want or v is None or EXPR_RE.search(v) or RUNTIME_RE.search(v):
                continue
            if v != want and not (k == "dynamodb_table" and str(cfg.get("use_lockfile")).lower() == "true"):
                out.append(Finding("CICD-02", "backend", root.path, f"backend {k} resolves to {v!r}{via}, expected "
                                   f"{want!r}", k, fix=f'-backend-config="{k}={want}" (or {k} = "{want}")'))
        if bucket and "bucket" not in cfg and not hidden and (src.workflow in mine or not src.workflow):
            out.append(Finding("CICD-02", "backend", root.path, f"the backend has no bucket{via}, expected "
                               f"{bucket!r}", "bucket", fix=f'-backend-config="bucket={bucket}"'))
    return out


def state_key_owners(roots: dict[str, tfm.Root], workflows: list[Workflow],
                     files: dict[str, dict[str, Any]]) -> list[Finding]:
    """No table or bucket is managed under two different state keys (two roots, or two workflows)."""
    owners: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for path, root in roots.items():
        keys = set()
        for src in [InitSource("(backend block)", "", ())] + init_sources(workflows, path):
            cfg = tfm.backend_settings(root, list(src.flags), files)
            if cfg.get("key") and not RUNTIME_RE.search(cfg["key"]):
                keys.add((cfg["key"], f"{path} via {src.label}"))
        for r in root.resources():
            if r.type in tfm.STATEFUL:
                for key, where in keys:
                    owners.setdefault((r.type, root.identity(r)), set()).add((key, where))
    out = []
    for (typ, ident), got in sorted(owners.items()):
        keys = {k for k, _ in got}
        if len(keys) > 1:
            by_key = {k: sorted({w.split(" via ")[0] for kk, w in got if kk == k}) for k in keys}
            where = "; ".join(f"key {k} in {', '.join(r)}" for k, r in sorted(by_key.items()))
            out.append(Finding("CICD-03", "state-key", typ, f"{typ} {ident!r} is managed under {len(keys)} state "
                               f"keys: {where}; the second apply would try to create it again", ident,
                               fix=f"keep {ident!r} in one root: `terraform state rm` it from the other key's root "
                                   "and delete its resource block there"))
    return out
