"""The static rules for versions (CICD-02): each root's required_version and aws provider constraint."""

from __future__ import annotations

import re

from checks.areas.static.findings import Finding
from checks.core.config import Env
from checks.core.tf_versions import TerraformBlocks, has_upper_bound, provider_constraints, required_versions


def _norm(c: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*([<>=!~]+)\s*", r" \1 ", c)).strip().replace(" ,", ",")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text))


def within(found: str, want: str) -> bool:
    """Does `found` allow only versions that `want` allows? (equal, or a narrower `~>` / `>=` of the same kind)"""
    if _norm(found) == _norm(want):
        return True
    f, w = found.strip(), want.strip()
    for op in ("~>", ">="):
        if f.startswith(op) and w.startswith(op) and "," not in f + w:
            fv, wv = _version(f), _version(w)
            if not fv or not wv:
                return False
            if op == ">=":
                return fv >= wv
            # ~> 5.0 allows >= 5.0, < 6; ~> 5.50 (>= 5.50, < 6) and ~> 5.50.1 (< 5.51) are inside it
            return fv[:len(wv) - 1] == wv[:-1] and fv >= wv
    return False


VERSION_RULES = ("required_version", "aws_provider", "upper_bound")


def versions(root_dir: str, tf_blocks: TerraformBlocks, texts: dict[str, str], lock: bool, env: Env,
             kind: str) -> list[Finding]:
    """One of VERSION_RULES for one root: the constraint equals environments.toml's, or a lock file pins it."""
    want = env.terraform
    where = root_dir or "."
    out = []
    rv = required_versions(tf_blocks)
    aws = provider_constraints(tf_blocks, "aws")

    def line(f: str, pat: str) -> int:
        for n, text in enumerate(texts.get(f, "").splitlines(), 1):
            if re.search(pat, text):
                return n
        return 0
    first = tf_blocks[0][0] if tf_blocks else f"{where}/versions.tf"
    if kind == "required_version" and want.required_version:
        if not rv:
            out.append(Finding("CICD-02", f"{where} terraform", first, line(first, r"^\s*terraform\s*\{"),
                               f"no required_version, expected {want.required_version!r}",
                               f'terraform {{ required_version = "{want.required_version}" }}'))
        for f, v in rv:
            if not within(v, want.required_version):
                out.append(Finding("CICD-02", f"{where} terraform", f, line(f, r"required_version"),
                                   f"required_version is {v!r}, expected {want.required_version!r} or narrower "
                                   "(terraform.required_version in environments.toml)",
                                   f'required_version = "{want.required_version}"'))
    if kind == "aws_provider" and want.aws_provider:
        if not aws or not any(v for _, v in aws):
            out.append(Finding("CICD-02", f"{where} required_providers", first, line(first, r"required_providers"),
                               f"the aws provider has no version constraint, expected {want.aws_provider!r}",
                               f'required_providers {{ aws = {{ source = "hashicorp/aws", version = '
                               f'"{want.aws_provider}" }} }}'))
        for f, v in aws:
            if v and not within(v, want.aws_provider):
                out.append(Finding("CICD-02", f"{where} required_providers.aws", f, line(f, r"^\s*version\s*="),
                                   f"aws provider constraint is {v!r}, expected {want.aws_provider!r} or narrower "
                                   "(terraform.aws_provider in environments.toml)", f'version = "{want.aws_provider}"'))
    for f, v in aws if kind == "upper_bound" else []:
        if not lock and (not v or not has_upper_bound(v)):
            out.append(Finding("CICD-02", f"{where} required_providers.aws", f, line(f, r"^\s*version\s*=")
                               or line(f, r"required_providers"),
                               f"aws provider constraint {v or '(none)'!r} has no upper bound and no "
                               f".terraform.lock.hcl is committed in {where}: the next major provider release "
                               "is picked up unreviewed",
                               f'version = "~> {_major_minor(v)}" and commit {where}/.terraform.lock.hcl '
                               "(terraform init, then git add .terraform.lock.hcl)"))
    return out


def _major_minor(constraint: str) -> str:
    m = re.search(r"(\d+)(?:\.(\d+))?", constraint or "")
    return f"{m.group(1)}.{m.group(2) or 0}" if m else "5.0"
