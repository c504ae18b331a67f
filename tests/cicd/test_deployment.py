"""CICD-06 General deployment issues: account, region, last run, release tag."""

import pytest

from checks.areas.cicd.findings import report

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-06")]


@pytest.mark.smoke
def test_caller_account(caller):
    problems = caller.problems()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_deploy_region(deploy_workflow):
    found = deploy_workflow.region()
    assert not found, report(f"{deploy_workflow.name} to deploy to {deploy_workflow.env.region}", found)


@pytest.mark.smoke
def test_var_file_matches_env(workflow):
    found = workflow.var_files()
    assert not found, report("each job to plan and apply the var file of the env it deploys", found)


@pytest.mark.smoke
def test_last_deploy_succeeded(deploy_runs):
    problems = deploy_runs.last_run()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_release_tag(deploy_runs):
    problems = deploy_runs.release_tag()
    assert not problems, "; ".join(problems)
