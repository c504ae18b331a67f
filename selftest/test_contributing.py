"""CONTRIBUTING.md's "Adding an area" is true: its blocks, applied to a copy of the checkout, make a working
area whose check passes on the clean world and fails with its id and resource under its fault, and whose
declarations pass test_declarations once `python -m checks.derive` has run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "reports", "__pycache__", ".ruff_cache", ".pytest_cache", "*.egg-info")
BLOCK = re.compile(r"^```(?:python|toml) (?P<path>\S+)\n(?P<body>.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return [(m.group("path"), m.group("body")) for m in BLOCK.finditer(text)]


def test_the_walkthrough_names_every_file_of_an_area():
    paths = {p for p, _ in blocks()}
    wanted = {f"checks/areas/example/{f}" for f in ("__init__.py", "reads.py", "collector.py", "views.py",
                                                     "fixtures.py", "faults.py")}
    assert wanted | {"tests/example/test_acceleration.py", "checks/core/catalog.toml"} <= paths


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("contrib") / "checkout"
    shutil.copytree(REPO, copy, ignore=SKIP)
    for rel, body in blocks():
        path = copy / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():  # an existing file (the catalog) gets the block appended
            path.write_text(path.read_text(encoding="utf-8") + "\n" + body, encoding="utf-8")
        else:
            path.write_text(body, encoding="utf-8")
    return copy


def run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_", "AWS_"))}
    env["PYTHONPATH"] = str(copy)  # the copy's `checks`, not the installed one
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=600)


def test_the_documented_area_works(checkout: Path):
    stale = run(checkout, "-m", "checks.derive", "--check")
    assert stale.returncode == 1 and "iam/bbws-checks-readonly.json is stale" in stale.stdout, stale.stdout
    assert run(checkout, "-m", "checks.derive").returncode == 0
    assert "s3:GetAccelerateConfiguration" in (checkout / "iam" / "bbws-checks-readonly.json").read_text()

    declared = run(checkout, "-m", "pytest", "selftest/test_declarations.py", "-q", "-p", "no:randomly")
    assert declared.returncode == 0, declared.stdout[-3000:]

    clean = run(checkout, "-m", "pytest", "tests/example", "--env", "local", "--reports", "r1")
    assert clean.returncode == 0 and "1 passed" in clean.stdout, clean.stdout[-3000:]

    broken = run(checkout, "-m", "pytest", "tests/example", "--env", "local", "--fault", "EX-01", "--reports", "r2")
    [bundle] = [p for p in (checkout / "r2" / "local").iterdir() if p.name != "latest"]
    rows = json.loads((bundle / "results.json").read_text())["results"]
    assert [(r["check"], r["outcome"], r["resource"]) for r in rows] == [("EX-01", "failed", "bbws-templates-local")]
    assert broken.returncode == 0, "a P3 finding alone is information: GO"
    assert "put-bucket-accelerate-configuration --bucket bbws-templates-local" in rows[0]["remediation"]
    assert "Status=Enabled" in rows[0]["remediation"]


def test_the_documented_fault_passes_the_fault_matrix(checkout: Path):
    matrix = run(checkout, "-m", "pytest", "selftest/test_faults.py", "-k", "EX-01", "-q", "-p", "no:randomly")
    assert matrix.returncode == 0 and "1 passed" in matrix.stdout, matrix.stdout[-3000:]
