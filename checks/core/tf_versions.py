"""Terraform and provider version constraints of a root module: where they are declared, whether one is bounded.

The CI/CD area (CICD-02 `test_terraform_versions`) and the static area (`test_required_version`,
`test_aws_provider_version`, `test_provider_upper_bound`) both judge these; each phrases its own findings.
"""

from __future__ import annotations

import re
from typing import Any

from checks.core.hcl import blocks

LOCK = ".terraform.lock.hcl"

# (file, one `terraform {}` block of it), in file order
TerraformBlocks = list[tuple[str, dict[str, Any]]]


def lock_path(root: str) -> str:
    """The provider lock file of a root module (`.` or `` is the repo's top)."""
    return f"{root}/{LOCK}" if root not in (".", "") else LOCK


def required_versions(tf_blocks: TerraformBlocks) -> list[tuple[str, str]]:
    """(file, constraint) of every `required_version`."""
    return [(f, str(tf["required_version"])) for f, tf in tf_blocks if "required_version" in tf]


def provider_specs(tf_blocks: TerraformBlocks, name: str) -> list[tuple[str, Any]]:
    """(file, spec) of every `required_providers` entry for the provider: an object (`source`, `version`)
    or, in the old syntax, the constraint string itself."""
    out = []
    for f, tf in tf_blocks:
        for rp in blocks(tf.get("required_providers")):
            spec = rp.get(name)
            if isinstance(spec, (dict, str)):
                out.append((f, spec))
    return out


def provider_constraints(tf_blocks: TerraformBlocks, name: str) -> list[tuple[str, str]]:
    """(file, constraint) of every entry for the provider; "" where an entry gives no version."""
    return [(f, str(spec.get("version", "")) if isinstance(spec, dict) else spec)
            for f, spec in provider_specs(tf_blocks, name)]


def provider_constraint(tf_blocks: TerraformBlocks, name: str) -> str | None:
    """The first constraint an entry gives for the provider; None when none gives one."""
    for _, spec in provider_specs(tf_blocks, name):
        if isinstance(spec, dict) and spec.get("version"):
            return str(spec["version"])
        if isinstance(spec, str):
            return spec
    return None


def has_upper_bound(constraint: str) -> bool:
    """`~> 5.0`, `< 6`, `<= 5.9`, `= 5.1` or a bare version cap the version; `>= 5.0` alone does not."""
    for part in constraint.split(","):
        p = part.strip()
        if p.startswith(("~>", "<", "=")) and not p.startswith("!=") or re.fullmatch(r"v?\d[\w.\-+]*", p):
            return True
    return False


Version = tuple[int, int, int]
_OP_RE = re.compile(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def parse_version(text: str) -> Version | None:
    """`1.10.2` -> (1, 10, 2); a missing minor or patch is 0; None when it is not a version."""
    m = re.fullmatch(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][\w.]*)?\s*", text or "")
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)) if m else None


def satisfies(version: Version, constraint: str) -> bool | None:
    """Does Terraform's constraint syntax (`>= 1.6, < 2.0`, `~> 1.9.0`) allow this version? None: unreadable."""
    for part in (p for p in constraint.split(",") if p.strip()):
        m = _OP_RE.match(part)
        if m is None:
            return None
        op = m.group(1) or "="
        given = [int(x) for x in m.group(2, 3, 4) if x is not None]
        want = tuple(given + [0] * (3 - len(given)))
        if op == "~>":
            # ~> 1.9.0 allows 1.9.x; ~> 1.9 allows 1.x from 1.9 on
            top = list(given[:-1]) if len(given) > 1 else given
            ok = version >= want and list(version[:len(top)]) == top
        else:
            ok = {"=": version == want, "!=": version != want, ">": version > want, ">=": version >= want,
                  "<": version < want, "<=": version <= want}[op]
        if not ok:
            return False
    return True
