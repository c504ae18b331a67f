"""tests/static end to end through pytest: markers, check records, gate and evidence, without AWS reads.

The offline rule-by-rule faults are in test_static_rules.py; here the real plugin runs them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent / "infra_repo"
STATIC = ("tests/static",)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "infra"
    shutil.copytree(SAMPLE, dst)
    return dst


def static_bad(result) -> dict[str, str]:
    return {t: result.check_of[t] for t, o in result.outcomes.items() if o in ("failed", "error")}


def test_static_clean_sample_passes_and_reads_no_aws(suite, repo_copy):
    r = suite.run("-m", "static", "--infra-repo", str(repo_copy), tests=STATIC)
    assert static_bad(r) == {}, r.stdout[-3000:]
    assert "test_pitr_declared[tenants]" in r.passed and "test_replication_declared[bbws-templates-local]" in r.passed
    assert all(rec["check"] for rec in r.records.values())
    for rec in r.records.values():  # a static check's evidence is files, never an AWS read
        assert {o["service"] for o in rec["observations"]} <= {"file"}, rec["test"]


def test_static_faults_fail_exactly_their_checks(suite, repo_copy):
    main = repo_copy / "terraform/dynamodb/main.tf"
    text, n = re.subn(r"(resource \"aws_dynamodb_table\" \"tenants\".*?)  point_in_time_recovery \{\n    enabled = "
                      r"true\n  \}\n", r"\1", main.read_text(), count=1, flags=re.S)
    assert n
    main.write_text(text)
    backup = repo_copy / "terraform/dynamodb/backup.tf"
    text, n = re.subn(r'resource "aws_backup_selection" "tables" \{.*\n\}\n', "", backup.read_text(), flags=re.S)
    assert n
    backup.write_text(text)
    r = suite.run("-m", "static", "--infra-repo", str(repo_copy), tests=STATIC)
    want = {"test_pitr_declared[tenants]": "DDB-03"}
    want |= {f"test_backup_selection_declared[{t}-bbws-dynamodb-local-hourly]": "DDB-04"
             for t in ("tenants", "products", "campaigns")}
    assert static_bad(r) == want, r.stdout[-3000:]
    rec = r.records["test_pitr_declared[tenants]"]
    assert rec["resource"] == "tenants" and rec["severity"] == "P1"
    assert "terraform/dynamodb/main.tf:15 aws_dynamodb_table.tenants" in rec["message"]
    assert "point_in_time_recovery { enabled = true }" in rec["message"]
    assert r.ret != 0 and r.results_json is not None
