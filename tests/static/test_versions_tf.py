"""Before deploy: CICD-02, the Terraform and aws provider constraints of every root module."""

import pytest

from checks.areas.static.findings import report

pytestmark = [pytest.mark.static, pytest.mark.cicd, pytest.mark.issue("CICD-02")]


def test_required_version(versions_tf):
    if not versions_tf.env.terraform.required_version:
        pytest.skip("terraform.required_version is empty in environments.toml")
    found = versions_tf.findings("required_version")
    assert not found, report(f"required_version = {versions_tf.env.terraform.required_version!r} in every root",
                             found)


def test_aws_provider_version(versions_tf):
    if not versions_tf.env.terraform.aws_provider:
        pytest.skip("terraform.aws_provider is empty in environments.toml")
    found = versions_tf.findings("aws_provider")
    assert not found, report(f"the aws provider constrained to {versions_tf.env.terraform.aws_provider!r}", found)


def test_provider_upper_bound(versions_tf):
    found = versions_tf.findings("upper_bound")
    assert not found, report("an aws provider constraint with an upper bound, or a committed lock file", found)
