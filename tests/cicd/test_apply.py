"""CICD-03 Terraform apply failures: state, digest, resources, lock files, state keys."""

import pytest

from checks.areas.cicd.findings import report

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-03")]


@pytest.mark.smoke
@pytest.mark.issue("CICD-03", reports="state")
def test_state_parses(state_object):
    problems = state_object.state_problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_state_digest(state_object):
    problems = state_object.digest_problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_resource_managed(managed_resource):
    problems = managed_resource.problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_state_resources_live(state_object):
    problems = state_object.state_not_live()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_no_tainted_resources(state_object):
    tainted = state_object.tainted()
    assert not tainted, (f"expected no tainted instance in {state_object.name}; tainted: {', '.join(tainted)} "
                         "(the next apply replaces them)")


@pytest.mark.smoke
def test_provider_lock_committed(tf_root):
    found = tf_root.lock_file()
    assert not found, report(f".terraform.lock.hcl committed in {tf_root.name}", found)


@pytest.mark.smoke
def test_one_state_key_per_resource(infra):
    found = infra.managed_identities()
    assert not found, report("each table and bucket managed under one state key", found)


@pytest.mark.smoke
def test_state_isolation(infra):
    found = infra.state_isolation()
    assert not found, report("one state per env and per root", found)


@pytest.mark.smoke
def test_no_committed_state_or_plan(infra):
    found = infra.committed()
    assert not found, report("no Terraform state or saved plan committed", found)
