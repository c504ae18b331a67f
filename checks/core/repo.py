"""The infra repo on disk: where it is, and its file listing recorded into the snapshot (cicd and static read it).

In a git checkout the listing is what git tracks; a file git ignores or does not track is never read."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from checks.core.collect import Context, record

WORKFLOW_DIR = ".github/workflows"  # the one spelling; the collectors and views import it
TF_SUFFIXES = (".tf", ".tfvars", ".hcl", ".tfbackend")
TEXT_NAMES = (".gitignore",)
SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv"}
MAX_TREE = 20000  # paths recorded for the missing-path rule (names only, never contents)


UNBOUND = ("env {env} is the embedded world and {repo} is not its sample repo: its names (workflow, region, "
           "backend, tables, bucket, versions) are not this repo's; run with --env <a real env> to check them")


def is_bound(embedded: bool, workflow: str, tree: list[str]) -> bool:
    """Whether an env's expectations apply to the infra repo: always for a real env; for the embedded world
    only on a repo written for it, one with its deploy workflow (see docs/cicd-real-repos.md)."""
    return not embedded or f"{WORKFLOW_DIR}/{workflow}" in tree or workflow in tree


def infra_root(ctx: Context) -> Path | None:
    """The infra repo, as the plugin resolved it (--infra-repo, else env.infra_repo)."""
    return Path(ctx.options.infra_repo).resolve() if ctx.options.infra_repo else None


class RepoListingError(Exception):
    """The infra repo is a git checkout whose tracked files git could not list: nothing is read."""


def repo_tree(root: Path) -> list[str]:
    """Every file of the infra repo (names only), relative and sorted; SKIP_DIRS left out. In a git checkout,
    only the files git tracks that are on disk: an ignored or untracked file (a local *.auto.tfvars with a
    password) is never read. A symlinked directory is never entered."""
    tracked = git_tracked(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rels = [(Path(dirpath) / f).relative_to(root).as_posix() for f in filenames]
        out += rels if tracked is None else [r for r in rels if r in tracked]
        if len(out) > MAX_TREE:
            break
    return sorted(out)[:MAX_TREE]


def git_tracked(root: Path) -> set[str] | None:
    """The paths (relative to root) git tracks, when root is inside a git work tree; None when it is not.

    git runs with the repo's own configuration neutralised where it could run a program (core.fsmonitor,
    hooks): the repo is untrusted input."""
    probe = root
    while not (probe / ".git").exists():
        if probe.parent == probe:
            return None
        probe = probe.parent
    cmd = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=off",
           "-C", str(root), "ls-files", "-z", "--cached", "--", "."]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False,
                              env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepoListingError(f"the infra repo is a git checkout, and git could not list its tracked files "
                               f"({type(exc).__name__}: {exc}); no file was read") from None
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise RepoListingError("the infra repo is a git checkout, and `git ls-files` failed"
                               f"{': ' + why[0][:300] if why else ''}; no file was read")
    tracked = {p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p}
    return tracked or None  # a directory that repo does not track at all is not its checkout


def repo_files(root: Path, tree: list[str] | None = None) -> list[str]:
    """The files whose text the checks read: workflows, Terraform files and .gitignore files."""
    tree = repo_tree(root) if tree is None else tree
    return [f for f in tree if (f.startswith(WORKFLOW_DIR + "/") and f.count("/") == 2
                                and f.endswith((".yml", ".yaml")))
            or f.endswith(TF_SUFFIXES) or f.rsplit("/", 1)[-1] in TEXT_NAMES]


def record_listing(ctx: Context, root: Path) -> list[str]:
    """Record the repo listing (the files read, and the whole tree by name) and return the files read.
    The cicd and static collectors both record it: the snapshot keeps the first of one key, so it is the same."""
    try:
        tree = repo_tree(root)
    except RepoListingError as exc:
        record(ctx, "file", "List", {"path": "."}, error={"code": "GitListFailed", "message": str(exc)})
        return []
    files = repo_files(root, tree)
    record(ctx, "file", "List", {"path": "."}, response={"files": files, "tree": tree})
    return files
