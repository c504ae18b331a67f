"""The infra repo on disk: where it is, and its file listing recorded into the snapshot (cicd and static read it)."""

from __future__ import annotations

import os
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


def repo_tree(root: Path) -> list[str]:
    """Every file of the infra repo (names only), relative and sorted; SKIP_DIRS left out."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        out += [(Path(dirpath) / f).relative_to(root).as_posix() for f in filenames]
        if len(out) > MAX_TREE:
            break
    return sorted(out)[:MAX_TREE]


def repo_files(root: Path, tree: list[str] | None = None) -> list[str]:
    """The files whose text the checks read: workflows, Terraform files and .gitignore files."""
    tree = repo_tree(root) if tree is None else tree
    return [f for f in tree if (f.startswith(WORKFLOW_DIR + "/") and f.count("/") == 2
                                and f.endswith((".yml", ".yaml")))
            or f.endswith(TF_SUFFIXES) or f.rsplit("/", 1)[-1] in TEXT_NAMES]


def record_listing(ctx: Context, root: Path) -> list[str]:
    """Record the repo listing (the files read, and the whole tree by name) and return the files read.
    The cicd and static collectors both record it: the snapshot keeps the first of one key, so it is the same."""
    tree = repo_tree(root)
    files = repo_files(root, tree)
    record(ctx, "file", "List", {"path": "."}, response={"files": files, "tree": tree})
    return files
