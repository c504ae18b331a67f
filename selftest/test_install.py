"""Issue 25.1 and 25.4: the suite installs as a wheel as well as editable, and states its dependencies as ranges
with the tested set in constraints.txt.

The wheel test builds a wheel from this checkout, installs it (not editable) into a fresh venv that sees the
current environment's dependencies but not the editable suite, and runs the main job (`pytest --env local`) with
it from a project directory holding only the suite's tests and configuration: no `checks/` beside it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# what a project directory needs to run the suite: its tests and configuration, and the local env's infra repo
PROJECT_FILES = ("tests", "pytest.ini", "conftest.py", "environments.toml", "selftest/infra_repo")
ASSETS = ("checks/evidence/templates/report.html.jinja2", "checks/evidence/templates/copy.js",
          "checks/evidence/templates/report.css", "checks/core/catalog.toml")


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{(r.stdout + r.stderr)[-4000:]}"
    return r.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built from a copy (the checkout gets no build/ or egg-info)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copy(REPO / "pyproject.toml", src)
    shutil.copytree(REPO / "checks", src / "checks", ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", tmp / "dist", src)
    (found,) = (tmp / "dist").glob("bbws_checks-*.whl")
    return found


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; the dependencies are this environment's, seen through a path
    entry that leaves out the editable suite (no network, nothing resolved)."""
    root = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    deps = root / "deps"
    deps.mkdir()
    here = Path(sysconfig.get_path("purelib"))
    for entry in here.iterdir():
        if entry.name.startswith(("checks", "bbws_checks", "__editable__", "_virtualenv")) or \
                entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    (purelib / "bbws-deps.pth").write_text(f"{deps}\n")
    _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", purelib, wheel)
    return python


def test_the_wheel_carries_the_report_assets_and_the_catalog(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [a for a in ASSETS if a not in names]
    assert not missing, f"not in the wheel (pyproject.toml [tool.setuptools.package-data]): {missing}"


def test_a_wheel_install_runs_the_main_job(wheel_venv, tmp_path):
    project = tmp_path / "project"
    for rel in PROJECT_FILES:
        (shutil.copytree if (REPO / rel).is_dir() else shutil.copy)(REPO / rel, project / rel)
    where = _run(wheel_venv, "-c", "import checks; print(checks.__file__)", cwd=project)
    assert str(wheel_venv.parent.parent) in where, f"the suite was not imported from the wheel: {where}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_", "AWS_", "BBWS_"))}
    r = subprocess.run([str(wheel_venv), "-m", "pytest", "--env", "local", "-q", "-p", "no:randomly"], cwd=project,
                       env=env, capture_output=True, text=True, timeout=900, check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "BBWS gate: GO" in out, out[-4000:]
    assert "Traceback" not in out, out[-4000:]
    (bundle,) = [p.parent for p in (project / "reports" / "local").glob("*/manifest.json") if p.parent.name != "latest"]
    assert json.loads((bundle / "gate.json").read_text())["decision"] == "GO"
    page = (bundle / "report.html").read_text()
    assert "navigator.clipboard" in page, "report.html lacks copy.js: the template assets were not installed"


# ----------------------------------------------------------------------------- 25.4 dependencies

def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def test_dependencies_are_ranges_and_the_tested_set_satisfies_them():
    pins = _constraints()
    requirements = [Requirement(r) for r in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"]]
    for req in requirements:
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"{req}: an exact pin in pyproject.toml"
        assert req.specifier, f"{req}: state the compatible range"
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt (the tested set)"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject.toml's {req.specifier}"


def test_what_only_the_selftests_use_is_in_the_dev_extra():
    runtime = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert "hypothesis" not in runtime and "ruff" not in runtime
    for path in (REPO / "checks").rglob("*.py"):
        assert not re.search(r"^\s*(import|from) hypothesis", path.read_text(), re.M), \
            f"{path.relative_to(REPO)} imports hypothesis, a dev-only dependency"


def test_ci_and_the_workflows_install_the_tested_set():
    installs = {".ci/run": (REPO / ".ci" / "run").read_text()}
    installs |= {str(p.relative_to(REPO)): p.read_text() for p in (REPO / ".github" / "workflows").glob("*.yml")}
    for name, text in installs.items():
        lines = [ln for ln in text.splitlines() if re.search(r"\bpip install\b", ln) and "--upgrade pip" not in ln]
        assert lines, f"{name} installs nothing"
        for line in lines:
            assert "-c constraints.txt" in line, f"{name}: `{line.strip()}` does not install the tested set"
