"""Static collector: the infra repo's .tf, .tfvars and lock files, recorded once into the snapshot.

It reads no AWS. The files are the same `file` observations the CI/CD collector records (the
snapshot keeps one per path), so the static views work when the cicd area is deselected too.
"""

from __future__ import annotations

from checks.areas.static.envs import env_names
from checks.areas.static.reads import SUFFIXES
from checks.core.collect import Context, record
from checks.core.repo import infra_root, record_listing


def collect(ctx: Context) -> None:
    root = infra_root(ctx)
    if root is None:
        return
    ctx.snapshot.meta["infra_repo"] = str(root)
    # which roots belong to another env is judged from every env of environments.toml; a replay has only one
    ctx.snapshot.meta["static_envs"] = env_names(ctx.env)
    if not root.is_dir():
        record(ctx, "file", "List", {"path": "."},
               error={"code": "FileNotFound", "message": f"infra repo {root} is not a directory"})
        return
    files = record_listing(ctx, root)
    for rel in files:
        if rel.endswith(SUFFIXES):
            ctx.spawn(ctx.file, root / rel, root)
