"""CICD-02 versions: required_version and the AWS provider constraint, bounded, and as environments.toml says."""

from __future__ import annotations

from checks.areas.cicd import terraform as tfm
from checks.areas.cicd.findings import Finding
from checks.core import linear
from checks.core.tf_versions import has_upper_bound, provider_constraint, required_versions


def _norm(c: str) -> str:
    """CICD-02 asks for the constraint environments.toml gives, spelled alike up to spaces around commas."""
    return linear.sub(r"\s+", " ", c.replace(",", ", ")).strip().strip(",").replace(" ,", ",")


def providers(root: tfm.Root, *, locked: bool, required_version: str = "", aws_provider: str = "") -> list[Finding]:
    """For a root with state: the constraints match the config keys; no open-ended AWS constraint without a lock."""
    if root.backend() is None:
        return []  # a module: its caller pins the versions
    out = []
    where = next((f for f, body in root.files.items() if body.get("terraform")), next(iter(root.files), root.path))
    tf_blocks = root.terraform_blocks()
    got = next((v for _, v in required_versions(tf_blocks)), "")
    if required_version and _norm(got) != _norm(required_version):
        out.append(Finding("CICD-02", "required-version", where, f"required_version is {got or '(not set)'!r}, "
                           f"environments.toml terraform.required_version is {required_version!r}",
                           "terraform.required_version",
                           fix=f'required_version = "{required_version}" in the terraform block (or change '
                               "terraform.required_version)"))
    aws = provider_constraint(tf_blocks, "aws")
    uses_aws = any(r.type.startswith("aws_") for r in root.resources())
    if aws is None and uses_aws:
        out.append(Finding("CICD-02", "provider-version", where, "the aws provider has no version constraint in "
                           "required_providers: every init may take a new major version",
                           "terraform.required_providers.aws",
                           fix=f'required_providers {{ aws = {{ source = "hashicorp/aws", version = '
                               f'"{aws_provider or "~> 5.0"}" }} }}'))
    elif aws is not None:
        if aws_provider and _norm(aws) != _norm(aws_provider):
            out.append(Finding("CICD-02", "provider-version", where, f"the aws provider constraint is {aws!r}, "
                               f"environments.toml terraform.aws_provider is {aws_provider!r}",
                               "terraform.required_providers.aws",
                               fix=f'version = "{aws_provider}" for aws in required_providers (or change '
                                   "terraform.aws_provider)"))
        if not has_upper_bound(aws) and not locked:
            out.append(Finding("CICD-02", "provider-version", where, f"the aws provider constraint {aws!r} has no "
                               "upper bound and no .terraform.lock.hcl is committed: the next major provider "
                               "release is picked up unreviewed", "terraform.required_providers.aws",
                               fix='use "~> 5.0" (or commit .terraform.lock.hcl)'))
    return out
