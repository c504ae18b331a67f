"""Provenance: which infra commit was checked, which CI run made the bundle, and paths that name no runner.

Recorded in manifest.json and gate.json, shown in the report's run section and the evidence index:
- the infra repo's git commit, whether its tree was dirty (tracked changes or untracked files under it) and
  its path inside its checkout, when it is a git checkout; git is run read-only (no optional locks, no
  fsmonitor, no hooks);
- under GitHub Actions, the run's URL, attempt, actor, workflow ref, event and commit.
Bundle files name paths relative to the suite's checkout or the infra repo, never the runner's absolute paths.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

GIT = ("git", "--no-optional-locks", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")


def _git(where: Path, *args: str) -> str | None:
    try:
        out = subprocess.run([*GIT, *args], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(where: Path | None) -> dict[str, Any] | None:
    """{"commit", "dirty", "changed", "path"} of the git checkout holding `where` (path: `where` inside it),
    {"commit": None, "reason": ...} when it is not one, None when no directory was given."""
    if where is None:
        return None
    where = Path(where)
    if not where.is_dir():
        return {"commit": None, "reason": "no such directory"}
    prefix = _git(where, "rev-parse", "--show-prefix")
    status = _git(where, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal", "--", ".") \
        if prefix is not None else None
    entries = (status or "").split("\0")
    head = next((e.split()[2] for e in entries if e.startswith("# branch.oid ")), "")
    if status is None or len(head) != 40:
        return {"commit": None, "reason": "not a git checkout (or git is unavailable or refused it)"}
    changed = sum(1 for e in entries if e[:2] in ("1 ", "2 ", "u ", "? "))
    return {"commit": head, "dirty": bool(changed), "changed": changed, "path": prefix.strip().rstrip("/") or "."}


def ci_run(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The GitHub Actions run making this bundle, from the runner's default variables (None elsewhere)."""
    server, repo, run = (environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (server and repo and run):
        return None
    return {"url": f"{server.rstrip('/')}/{repo}/actions/runs/{run}", "run_id": run, "repository": repo,
            "attempt": environ.get("GITHUB_RUN_ATTEMPT", ""), "actor": environ.get("GITHUB_ACTOR", ""),
            "workflow_ref": environ.get("GITHUB_WORKFLOW_REF", ""), "event": environ.get("GITHUB_EVENT_NAME", ""),
            "sha": environ.get("GITHUB_SHA", "")}


def describe_git(state: Mapping[str, Any] | None) -> str:
    """One line: "1a2b3c4d5e6f (clean)", "... (dirty: 2 changed paths)", or why there is no commit."""
    if not state:
        return "none given"
    if not state.get("commit"):
        return str(state.get("reason") or "unknown")
    where = f" at {state['path']}" if state.get("path") not in (None, ".") else ""
    dirty = state.get("dirty")
    tree = ("dirty: uncommitted changes unknown" if dirty is None else
            f"dirty: {state.get('changed')} changed paths" if dirty else "clean")
    return f"{state['commit']}{where} ({tree})"


def describe_ci(ci: Mapping[str, Any] | None) -> str:
    if not ci:
        return "not under GitHub Actions"
    extra = ", ".join(f"{k} {ci[k]}" for k in ("attempt", "actor", "event", "workflow_ref") if ci.get(k))
    return f"{ci.get('url')}" + (f" ({extra})" if extra else "")


def relative(path: str, roots: Sequence[Path]) -> str:
    """A recorded path made portable: relative to the first root holding it, else its name alone."""
    p = Path(path)
    if not p.is_absolute():
        return path
    for root in roots:
        try:
            return p.relative_to(root).as_posix() or "."
        except ValueError:
            continue
    return p.name


def portable_paths(checkout: Path, infra: Path | None) -> list[tuple[str, str]]:
    """The absolute prefixes bundle text may carry, and what each becomes (longest first)."""
    pairs = [(str(checkout) + os.sep, "")]
    if infra is not None and checkout not in infra.parents and infra != checkout:
        pairs += [(str(infra) + os.sep, f"{infra.name}/"), (str(infra), infra.name)]
    return sorted(pairs, key=lambda p: -len(p[0]))


def portable_snapshot(data: dict[str, Any], checkout: Path) -> dict[str, Any]:
    """snapshot.json's paths (the env's source file, the infra repo) relative to the checkout or by name."""
    roots = [checkout]
    meta = dict(data.get("meta") or {})
    env = meta.get("env")
    if isinstance(env, dict) and isinstance(env.get("source"), str) and env["source"]:
        meta["env"] = {**env, "source": relative(env["source"], roots)}
    if isinstance(meta.get("infra_repo"), str) and meta["infra_repo"]:
        meta["infra_repo"] = relative(meta["infra_repo"], roots)
    return {**data, "meta": meta}
