"""CICD-03 lock file: each Terraform root commits .terraform.lock.hcl (and no .gitignore line hides it)."""

from __future__ import annotations

import fnmatch

from checks.areas.cicd.findings import Finding
from checks.core.tf_versions import LOCK, lock_path


def ignoring_line(target: str, gitignores: dict[str, str]) -> tuple[str, int] | None:
    """The .gitignore and line that ignore a repo path, if any."""
    for rel, text in sorted(gitignores.items()):
        base = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if base and not target.startswith(base + "/"):
            continue
        sub = target[len(base) + 1:] if base else target
        for n, raw in enumerate(text.splitlines(), 1):
            pat = raw.strip()
            if not pat or pat.startswith(("#", "!")):
                continue
            pat = pat.lstrip("/")
            if fnmatch.fnmatch(sub, pat) or fnmatch.fnmatch(sub.rsplit("/", 1)[-1], pat) or \
                    fnmatch.fnmatch(sub, f"**/{pat}"):
                return rel, n
            dirs = sub.split("/")[:-1]  # `dir/` (or `dir`) ignores everything below it
            if any(fnmatch.fnmatch("/".join(dirs[:i + 1]), pat.rstrip("/")) or fnmatch.fnmatch(d, pat.rstrip("/"))
                   for i, d in enumerate(dirs)):
                return rel, n
    return None


def _ignoring_line(root: str, gitignores: dict[str, str]) -> tuple[str, int] | None:
    """The .gitignore and line that ignore the root's lock file, if any."""
    return ignoring_line(lock_path(root), gitignores)


def lock_file(root: str, files: list[str], gitignores: dict[str, str]) -> list[Finding]:
    rel = lock_path(root)
    if rel in files:
        return []
    ignored = _ignoring_line(root, gitignores)
    if ignored:
        gi, n = ignored
        return [Finding("CICD-03", "lock-file", gi, f"line {n} of {gi} ignores {LOCK}, so {rel} is never "
                        "committed: plan and apply can pick different provider versions", "", n,
                        fix=f"delete line {n} of {gi}, run `terraform -chdir={root} providers lock` and commit {rel}")]
    return [Finding("CICD-03", "lock-file", rel, "the provider lock file is not committed: plan and apply can pick "
                    "different provider versions and applying a saved plan fails",
                    fix=f"run `terraform -chdir={root} providers lock` and commit {rel}")]
