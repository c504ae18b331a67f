"""CICD-01 Workflow validation failures: the infra repo's .github/workflows."""

import pytest

from checks.areas.cicd.findings import report

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-01")]


@pytest.mark.smoke
@pytest.mark.issue("CICD-01", reports="workflow")
def test_workflow_exists(expected_workflow):
    found = expected_workflow.existence()
    assert not found, report(f"{expected_workflow.name} to exist and parse", found)


@pytest.mark.smoke
@pytest.mark.issue("CICD-01", reports="workflow-schema")
def test_workflow_schema(workflow):
    found = workflow.schema_errors()
    assert not found, report("a workflow valid against GitHub's workflow schema", found)


def test_actionlint(workflow):
    found = workflow.actionlint()
    assert not found, report("no actionlint errors", found)


def test_actionlint_notes(workflow):
    found = workflow.actionlint(notes=True)
    assert not found, report("no actionlint deprecations or shellcheck notes", found)


@pytest.mark.smoke
def test_workflow_paths_exist(workflow):
    found = workflow.missing_paths()
    assert not found, report("every working-directory, -chdir, script, hashFiles and paths: filter to exist", found)


@pytest.mark.smoke
def test_expression_types(workflow):
    found = workflow.expression_types()
    assert not found, report("boolean inputs compared as booleans (inputs.X), not as strings", found)


@pytest.mark.smoke
def test_no_script_injection(workflow):
    found = workflow.injection()
    assert not found, report("no free-text value expanded straight into a run: script (pass it through env:)", found)


@pytest.mark.smoke
def test_runner_labels(workflow):
    found = workflow.runner_labels()
    assert not found, report("valid runner labels", found)


@pytest.mark.smoke
def test_dispatch_inputs(workflow):
    found = workflow.dispatch_inputs()
    assert not found, report("valid workflow_dispatch / workflow_call inputs", found)


@pytest.mark.smoke
def test_oidc_id_token(workflow):
    found = workflow.id_token()
    assert not found, report("`id-token: write` on every job that assumes an AWS role", found)


@pytest.mark.smoke
def test_apply_needs_approval(workflow):
    found = workflow.approval()
    assert not found, report("every terraform apply gated by an approval environment", found)


@pytest.mark.smoke
def test_no_hidden_terraform_failure(workflow):
    found = workflow.hidden_failures()
    assert not found, report("no terraform step that can hide a failure (pipes need pipefail)", found)


@pytest.mark.smoke
def test_applies_reviewed_plan(deploy_workflow):
    found = deploy_workflow.reviewed_plan()
    assert not found, report("the apply job to apply the reviewed plan artifact", found)


@pytest.mark.smoke
def test_actions_pinned(workflow):
    found = workflow.actions_pinned()
    assert not found, report("third-party actions pinned to a full commit SHA", found)


@pytest.mark.smoke
def test_no_long_lived_aws_keys(workflow):
    found = workflow.long_lived_keys()
    assert not found, report("AWS access by OIDC role assumption, no access key from secrets", found)


@pytest.mark.smoke
def test_no_ci_access_keys(tf_root):
    found = tf_root.ci_access_keys()
    assert not found, report(f"no IAM access key or CI user created in {tf_root.name}", found)
