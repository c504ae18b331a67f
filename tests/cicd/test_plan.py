"""CICD-02 Terraform plan failures: the backend, the Terraform files and the plan."""

import pytest

from checks.areas.cicd.findings import report

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-02")]


@pytest.mark.smoke
def test_state_bucket(state_bucket):
    problems = state_bucket.bucket_problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
@pytest.mark.issue("CICD-02", reports="lock-table")
def test_lock_table_key(lock_table):
    problems = lock_table.lock_table_problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_backend_config(tf_root):
    found = tf_root.backend()
    assert not found, report(f"{tf_root.name}'s backend to resolve to this env's state bucket and lock table", found)


@pytest.mark.smoke
@pytest.mark.issue("CICD-02", reports="terraform")
def test_terraform_parses(tf_root):
    found = tf_root.parse_problems()
    assert not found, report(f"every Terraform file in {tf_root.name} to parse", found)


@pytest.mark.smoke
def test_terraform_versions(tf_root):
    found = tf_root.versions()
    assert not found, report("required_version and the aws provider constraint as environments.toml says, bounded",
                             found)


@pytest.mark.smoke
def test_terraform_cli_version(workflow):
    found = workflow.cli_version()
    assert not found, report("the Terraform each workflow installs to read the roots it runs on", found)


def test_terraform_cli_pinned(workflow):
    found = workflow.cli_version(pinned=True)
    assert not found, report("a pinned Terraform, or a required_version with an upper bound", found)


@pytest.mark.smoke
def test_variables_supplied(tf_root):
    found = tf_root.variables()
    assert not found, report(f"a value for every required variable of {tf_root.name} in each plan and apply", found)


@pytest.mark.smoke
def test_gsi_attributes_declared(tf_root):
    found = tf_root.gsi_attributes()
    assert not found, report("an `attribute` block for every table and GSI key, and only for keys", found)


@pytest.mark.smoke
@pytest.mark.issue("CICD-02", reports="plan")
def test_plan_not_errored(plan):
    found = plan.errored()
    assert not found, report(f"a complete, non-errored plan in {plan.path}", found)


@pytest.mark.smoke
def test_plan_no_stateful_destroy(plan):
    found = plan.stateful_destroys()
    assert not found, report("no delete or replace of a table or bucket (terraform.allow_destroy)", found)
