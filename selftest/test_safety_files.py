"""Issue 10.5: infra-repo reads stay in the repo, read only regular files, and are bounded.

A crafted infra repo: a workflow that is a symlink to a credentials file outside the repo, a
.tf symlinked to /dev/zero, a FIFO, an oversized .tf. The run finishes, the credential text is
in no file of the bundle, and each refused file is an error observation saying why.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from checks.core import files
from checks.core.collect import FileRefused, read_bounded

REPO = Path(__file__).resolve().parent.parent
CREDENTIAL = "note = OUTSIDE-THE-REPO-marker-4471"  # not credential-shaped: the redactor would not mask it


def crafted(tmp_path: Path) -> Path:
    repo = tmp_path / "infra"
    shutil.copytree(REPO / "selftest" / "infra_repo", repo)
    outside = tmp_path / "home" / ".aws" / "credentials"
    outside.parent.mkdir(parents=True)
    outside.write_text(f"[default]\n{CREDENTIAL}\n")
    (repo / ".github" / "workflows" / "deploy-evil.yml").symlink_to(outside)
    (repo / "terraform" / "creds.tf").symlink_to(outside)
    (repo / "terraform" / "zero.tf").symlink_to("/dev/zero")
    os.mkfifo(repo / "terraform" / "fifo.tf")
    return repo


def test_read_bounded_refuses_what_leaves_the_root_or_is_not_a_bounded_regular_file(tmp_path: Path) -> None:
    repo = crafted(tmp_path)
    with pytest.raises(FileRefused, match="leaves the repository") as exc:
        read_bounded(repo / "terraform" / "creds.tf", repo)
    assert exc.value.code == "OutsideRepo"
    with pytest.raises(FileRefused, match="leaves the repository"):
        read_bounded(repo / "terraform" / "zero.tf", repo)
    with pytest.raises(FileRefused, match="not a regular file"):
        read_bounded(Path("/dev/zero"))  # no root (a --plan-json path): still only a regular file
    with pytest.raises(FileRefused, match="not a regular file"):
        read_bounded(repo / "terraform" / "fifo.tf", repo)
    big = repo / "terraform" / "big.tf"
    big.write_bytes(b"#" * 2048)
    with pytest.raises(FileRefused, match="above the 1024-byte limit"):
        read_bounded(big, repo, limit=1024)
    inside = repo / "terraform" / "alias.tf"
    inside.symlink_to(repo / "terraform" / "s3" / "main.tf")  # a symlink that stays inside is fine
    assert read_bounded(inside, repo) == (repo / "terraform" / "s3" / "main.tf").read_text()


def test_a_crafted_repo_puts_no_outside_text_in_the_evidence(suite, tmp_path: Path, monkeypatch) -> None:
    repo = crafted(tmp_path)
    (repo / "terraform" / "huge.tf").write_bytes(b"# padding\n" * 200)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    r = suite.run("--infra-repo", str(repo), tests=("tests/cicd",))
    assert "INTERNALERROR" not in r.stdout and "MemoryError" not in r.stdout, r.internal_error()
    assert r.bundle is not None
    for path in r.bundle.iterdir():
        assert "OUTSIDE-THE-REPO" not in path.read_text(errors="replace"), path.name
    assert "OUTSIDE-THE-REPO" not in r.stdout
    snap = json.loads((r.bundle / "snapshot.json").read_text())
    errors = {o["params"]["path"]: o["error"]["code"] for o in snap["observations"]
              if o["service"] == "file" and o["operation"] == "Read" and o["error"]}
    assert errors.get(".github/workflows/deploy-evil.yml") == "OutsideRepo"
    assert errors.get("terraform/creds.tf") == "OutsideRepo"
    assert errors.get("terraform/zero.tf") == "OutsideRepo"
    assert errors.get("terraform/fifo.tf") == "NotARegularFile"
    assert errors.get("terraform/huge.tf") == "TooLarge"


def test_every_file_read_in_the_areas_goes_through_the_bounded_reader() -> None:
    offenders = []
    for path in (REPO / "checks" / "areas").rglob("*.py"):
        text = path.read_text()
        for needle in (".read_text(", ".read_bytes(", " open(", "os.open("):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
    # workflows.py reads its own packaged JSON schema; parity reads bundles through replay.load_json
    allowed = {"checks/areas/cicd/schema.py: .read_text("}  # the workflow schema check-jsonschema ships
    assert sorted(set(offenders) - allowed) == []
