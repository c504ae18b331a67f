"""CICD-04 Approval timeout (GitHub REST API; skipped without GITHUB_TOKEN and a repo)."""

import pytest

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-04")]


@pytest.mark.smoke
def test_environment_reviewers(approval_environment):
    problems = approval_environment.reviewers()
    assert not problems, "; ".join(problems)


@pytest.mark.smoke
def test_no_approval_timeout(approval_environment):
    problems = approval_environment.waiting_too_long()
    assert not problems, "; ".join(problems)
