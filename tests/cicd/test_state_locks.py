"""CICD-05 State lock conflicts: stale locks and concurrency groups."""

import pytest

from checks.areas.cicd.findings import report

pytestmark = [pytest.mark.cicd, pytest.mark.issue("CICD-05")]


@pytest.mark.smoke
def test_lock_not_stale(lock_table):
    stale = lock_table.stale_locks()
    assert not stale, "\n".join(stale)


@pytest.mark.smoke
def test_apply_concurrency(workflow):
    found = workflow.concurrency()
    assert not found, report("a concurrency group with cancel-in-progress: false on every terraform apply, the state "
                             "lock on, and one workflow applying each state per push", found)
