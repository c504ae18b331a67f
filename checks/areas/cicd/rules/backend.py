"""CICD-02/03 backend: the state backend each root resolves to (block + -backend-config), one key per resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.areas.cicd.model import Job, Repo, Step, Workflow
from checks.areas.cicd.shell import EXPR_RE, TfCommand, resolve
from checks.areas.cicd.tfrun import TfRun, norm, substitute, tf_runs
from checks.areas.cicd.yaml_lines import dotted
from checks.core import linear

BACKEND_RE = linear.compile(r'^\s*backend\s+"')
RUNTIME_RE = linear.compile(r"\$\{\{|\$\{?[A-Za-z_]")  # a value only known when the workflow runs


@dataclass(frozen=True)
class InitSource:
    """One `terraform init` that configures a root: where it is and the -backend-config flags it passes."""
    label: str          # e.g. "deploy-prod.yml jobs.plan"
    workflow: str       # the workflow file name
    flags: tuple[str, ...]
    unseen: bool = False  # TF_CLI_ARGS(_init) may pass more flags than the command shows
    combo: tuple[tuple[str, str], ...] = ()  # the matrix / input values this init runs with
    path: str = ""      # the workflow's repo path, the init step's line and location (jobs.<id>.steps[<n>].run)
    line: int = 0
    where: str = ""
    migrate: bool = False  # -migrate-state: the init may move the state to another backend


def init_commands(wf: Workflow) -> list[tuple[Job, Step, TfCommand, list[str]]]:
    """Every `terraform init` with the directories it runs in (working-directory, cd, -chdir; matrix expanded)."""
    out: dict[tuple[str, int, str], tuple[Job, Step, TfCommand, list[str]]] = {}
    for run in tf_runs(wf, ("init",)):
        got = out.setdefault((run.job.id, run.step.index, run.cmd.line), (run.job, run.step, run.cmd, []))
        if run.dir not in got[3]:
            got[3].append(run.dir)
    return list(out.values())


def norm_dir(d: str) -> str:
    return norm(d)


def cli_args(wf: Workflow, job: Job, step: Step) -> bool:
    """TF_CLI_ARGS or TF_CLI_ARGS_init is set: the init gets flags this check cannot see."""
    return any(k in e for e in (step.env, job.env, wf.env) for k in ("TF_CLI_ARGS", "TF_CLI_ARGS_init"))


def init_sources(workflows: list[Workflow], root: str, repo: Repo | None = None) -> list[InitSource]:
    out = []
    for w in workflows:
        if not w.ok:
            continue
        for run in tf_runs(w, ("init",), repo):
            c = run.cmd
            if "-backend=false" in c.args or c.options("-backend") == ["false"]:
                continue  # validate-only: no backend is configured
            if run.dir == norm(root):
                envs = (run.step.env, run.job.env, w.env)
                flags = tuple(substitute(resolve(f, *envs), run.combo) for f in c.options("-backend-config"))
                at = (*run.at, "run" if run.step.run else "uses")
                src = InitSource(f"{w.file} jobs.{run.job.id}", w.file, flags, cli_args(w, run.job, run.step),
                                 run.combo, w.path, w.line(*at), dotted(at), "-migrate-state" in c.args)
                if src not in out:
                    out.append(src)
    return out


def _unseen(src: InitSource, files: dict[str, Any], root: str) -> bool:
    """Settings this check cannot see: a backend file written at run time, or TF_CLI_ARGS."""
    return src.unseen or any("=" not in f and not (files.get(f) or files.get(f"{root}/{f}")) for f in src.flags)


def _true(cfg: dict[str, str], key: str) -> bool:
    v = cfg.get(key)
    return v is not None and (str(v).lower() == "true" or bool(RUNTIME_RE.search(str(v))))


def block_line(root: tfm.Root, texts: dict[str, str]) -> tuple[str, int]:
    """The file and line of the root's `backend` block (the root's path and 0 when unknown)."""
    for f, tf in root.terraform_blocks():
        if tf.get("backend"):
            n = next((n for n, ln in enumerate(texts.get(f, "").splitlines(), 1) if BACKEND_RE.match(ln)), 0)
            return f, n
    return root.path, 0


def backend(root: tfm.Root, sources: list[InitSource], files: dict[str, dict[str, Any]], *,
            mine: set[str], bucket: str = "", lock_table: str = "", texts: dict[str, str] | None = None
            ) -> list[Finding]:
    """The backend is s3 with a key, locking and encryption for every init, in the block or from
    -backend-config alike; bucket/table are this env's (when given)."""
    got = root.backend()
    if got is None:
        return []  # a module, not a root with state
    typ, _ = got
    out = [Finding("CICD-02", "backend", src.path, f"{src.label} runs `terraform init -migrate-state` in CI: a "
                   "backend change moves the state unattended (or stops at the prompt), on every run", src.where,
                   src.line, fix="migrate the state once, by hand; CI runs `terraform init -input=false` (with "
                   "-reconfigure when the backend settings change per run)")
           for src in dict.fromkeys(sources) if src.migrate]
    if typ != "s3":
        out.append(Finding("CICD-02", "backend", root.path, f"backend {typ!r}, expected \"s3\"",
                           fix='terraform { backend "s3" { ... } }'))
        return out
    todo = sources or [InitSource("(backend block)", "", ())]
    seen: set[tuple[str, str]] = set()

    block = block_line(root, texts or {})

    def add(f: Finding) -> None:
        if (f.location, f.message) not in seen:
            seen.add((f.location, f.message))
            out.append(f)
    for src in todo:
        def at(setting: str, src: InitSource = src) -> dict[str, Any]:
            """Where the fix goes: the init step that completes the backend, else the backend block."""
            if src.flags and src.path:
                return {"path": src.path, "line": src.line, "location": src.where}
            return {"path": block[0], "line": block[1], "location": setting}
        cfg = tfm.backend_settings(root, list(src.flags), files)
        # a partial backend block whose init this check cannot see (run by hand, or in a directory known only
        # at run time) is completed somewhere else: not judged
        hidden = _unseen(src, files, root.path) or not sources and not ("bucket" in cfg and "key" in cfg)
        via = f" (via {src.label})" if src.flags else ""
        if not hidden:
            key = f"{root.path.strip('.') or 'root'}/terraform.tfstate"
            for setting, value, bad, what in (
                    (*(("dynamodb_table", lock_table) if lock_table else ("use_lockfile", "true")),
                     "dynamodb_table" not in cfg and not _true(cfg, "use_lockfile"),
                     "no state locking (neither dynamodb_table nor use_lockfile = true): two runs can write the "
                     "state at once"),
                    ("key", key, not cfg.get("key"), "no state key"),
                    ("encrypt", "true", not _true(cfg, "encrypt"),
                     f"{'encrypt = ' + cfg['encrypt'] if 'encrypt' in cfg else 'no encrypt = true'}: Terraform does "
                     "not ask S3 to encrypt the state, which holds every secret the configuration reads")):
                if bad:
                    shown = value if value == "true" else f'"{value}"'
                    fix = (f'add -backend-config="{setting}={value}" to this terraform init (or {setting} = {shown} '
                           "in the backend block)") if src.flags else f"{setting} = {shown} in the backend block"
                    add(Finding("CICD-02", "backend", message=f"the backend has {what}{via}", fix=fix,
                                **at("dynamodb_table" if setting == "use_lockfile" else setting)))
        if src.workflow and src.workflow not in mine:
            continue  # another env's workflow: its bucket is that env's
        for k, want in (("bucket", bucket), ("dynamodb_table", lock_table)):
            v = cfg.get(k)
            if not want or v is None or EXPR_RE.search(v) or RUNTIME_RE.search(v):
                continue
            if v != want and not (k == "dynamodb_table" and _true(cfg, "use_lockfile")):
                add(Finding("CICD-02", "backend", root.path, f"backend {k} resolves to {v!r}{via}, expected "
                            f"{want!r}", k, fix=f'-backend-config="{k}={want}" (or {k} = "{want}")'))
        if bucket and "bucket" not in cfg and not hidden and (src.workflow in mine or not src.workflow):
            add(Finding("CICD-02", "backend", root.path, f"the backend has no bucket{via}, expected "
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


def local_state(root: tfm.Root, runs: list[TfRun]) -> list[Finding]:
    """A workflow applies a root that has no backend: its state stays on the runner and is thrown away."""
    if root.backend() is not None or any(tf.get("cloud") for _, tf in root.terraform_blocks()):
        return []
    out = []
    for run in runs:
        if run.dir == root.path and run.cmd.sub in ("apply", "destroy"):
            out.append(run.finding("CICD-02", "backend", f"{run.where} runs `terraform {run.cmd.sub}` on "
                                   f"{root.path or '.'}, which has no backend block: the state stays on the runner "
                                   "and is discarded when the job ends, so the next run tries to create everything "
                                   "again", 'add `backend "s3" {}` to the terraform block (bucket, key, '
                                   "use_lockfile and encrypt from -backend-config or the block)"))
    return list({f.where(): f for f in out}.values())
