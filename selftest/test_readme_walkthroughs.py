"""Issue 25.8 for issue 21's README sections: "Accepting a risk" and "Approving a gate" run as written.

Each section's `sh` blocks are run by bash, unchanged but for `.venv/bin/` (this interpreter's directory), in a
copy of the checkout (imported from there: its reports/ is the copy's), and what their comments promise is
checked in what they printed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def section_script(title: str) -> str:
    """The `sh` blocks of the README section `## <title>`, in order."""
    body = README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return "".join(re.findall(r"^```sh\n(.*?)^```", body, flags=re.S | re.M))


def run(script: str, where: Path) -> subprocess.CompletedProcess[str]:
    script = script.replace(".venv/bin/", f"{BIN}/")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=where, capture_output=True, text=True,
                          timeout=600, check=False,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(where), "PYTHONPATH": str(where)})


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The suite's files (what git tracks), without the user's reports/."""
    copy = tmp_path / "bbws-checks"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    return copy


def test_accepting_a_risk_runs_as_written(checkout: Path) -> None:
    r = run(section_script("Accepting a risk"), checkout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "BBWS gate: GO · 1 waived finding" in r.stdout, r.stdout[-3000:]
    assert (checkout / "risks.toml").is_file()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (Debian openssh-client) not installed")
def test_approving_a_gate_runs_as_written(checkout: Path) -> None:
    r = run(section_script("Approving a gate"), checkout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "awaiting: Tech Lead, Operations Lead (0 of 2)" in r.stdout
    assert 'Good "bbws-approval" signature for tech-lead' in r.stdout + r.stderr
    assert "approvals: approved by alice@bbws.example (Tech Lead) (1 of 2); awaiting: Operations Lead" in r.stdout
