"""Sample repos written like real ones (selftest/repos/*): the CI/CD suite's failures, finding by finding,
equal the repo's expected-findings.json exactly. `clean` follows every rule and must give none, on patterns that
once were false alarms (a BOM, typed inputs in run:, hashFiles(format(...)), a module without a lock file, a
range key named by a variable); `legacy` carries the defect classes of issue 24 (keys, shared state, CLI version,
var files, same-push applies, a committed state), `multi-env` those of reusable workflows.

They run under `--env local` and have no deploy-local.yml, so the env-bound checks (workflow names, region,
backend names, versions against environments.toml) skip: the local env checks a foreign repo env-free."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

REPOS = Path(__file__).resolve().parent / "repos"
FINDING_RE = re.compile(r"^\s+- (\S+(?: \S+)?): ", re.M)  # "  - path:line location: message"


def failures(result) -> dict[str, list[str]]:
    """Each failed or errored CI/CD check with the location of every finding in its message."""
    out = {}
    for test, outcome in result.outcomes.items():
        if outcome in ("failed", "error") and result.check_of[test].startswith("CICD"):
            out[test] = sorted(FINDING_RE.findall(result.records[test]["message"]))
    return out


@pytest.mark.parametrize("name", ["multi-env", "legacy", "clean"])
def test_sample_repo_findings_exact(suite, tmp_path, name):
    repo = tmp_path / name
    shutil.copytree(REPOS / name, repo)
    (repo / "expected-findings.json").unlink()
    expected = json.loads((REPOS / name / "expected-findings.json").read_text())
    r = suite.run("-m", "cicd", "--infra-repo", str(repo), tests=("tests/cicd",))
    assert failures(r) == {t: sorted(w) for t, w in expected.items()}, r.stdout[-4000:]
    skipped = {t: r.records[t]["message"] for t in r.skipped if t.startswith("test_deploy_region")}
    assert skipped and all("not this repo's" in m for m in skipped.values()), skipped
