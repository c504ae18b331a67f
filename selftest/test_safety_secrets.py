"""Issue 10.4 (the generic half): credential-shaped text and sensitive environment values are masked
wherever they come from, and no unredacted scratch copy of the snapshot outlives the run.

Planted: an AWS key pair and GitHub tokens in a workflow file of the infra repo (they reach the
snapshot as file text, and a failing check's message), and a sensitive environment variable that
the suite does not know by name. Every file of the bundle, the terminal output and
.pytest_cache are then searched. (Terraform state and plan minimisation: selftest of helper
"cicd".)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from checks.evidence import redact
from selftest.planted_secrets import PLANTED as HOSTILE

REPO = Path(__file__).resolve().parent.parent
KEY_ID = "AKIAZZPLANTEDKEY0042"
SECRET = "Zx9PlantedSecretKeyValueThatIs40CharsAbc"
GHP = "ghp_PlantedGitHubTokenValue0123456789abcdEF"
GHS = "ghs_PlantedInstallationToken0123456789abcd"
PAT = "github_pat_11PLANTED0123456789_PlantedFineGrainedTokenValue0123456789"
ENV_SECRET = "planted-db-password-value-981"
PLANTED = {"key id": KEY_ID, "secret key": SECRET, "ghp": GHP, "ghs": GHS, "pat": PAT, "env": ENV_SECRET,
           **{name: secret for name, _, secret in HOSTILE}}  # issue 23: every form of selftest/planted_secrets


def test_patterns_are_masked_but_digests_and_shas_are_not() -> None:
    sha1 = "0123456789abcdef0123456789abcdef01234567"
    text = (f"id {KEY_ID} key {SECRET}; aws_secret_access_key={SECRET}; {GHP} {GHS} {PAT} "
            f"git {sha1} sha256 {'ab' * 32}")
    out = redact.text(text, [])
    assert [name for name, v in PLANTED.items() if v in out] == []
    assert sha1 in out and "ab" * 32 in out
    assert redact.secrets({"DB_PASSWORD": ENV_SECRET, "HOME": "/root/home/dir"}) == [ENV_SECRET]


def test_planted_secrets_reach_no_bundle_file_terminal_or_cache(suite, tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    shutil.copytree(REPO / "selftest" / "infra_repo", repo)
    wf = repo / ".github" / "workflows" / "deploy-dev.yml"
    wf.write_text(wf.read_text() + f"\n# leaked: {KEY_ID} {SECRET}\n# {GHP}\n# {GHS}\n# {PAT}\n"
                  f"# {ENV_SECRET}\n" + "".join(f"# {line}\n" for _, text, _ in HOSTILE for line in text.splitlines()))
    (repo / "terraform" / "keys.tf").write_text(dict((n, t) for n, t, _ in HOSTILE)["OpenSSH key in a heredoc"])
    cache = REPO / ".pytest_cache" / "bbws"
    before = set(cache.rglob("*")) if cache.exists() else set()
    pytest_cache = tmp_path / "pytest-cache"  # pytest's own cache (--lf, --ff, --sw) holds test ids only
    r = suite.run("-rA", "--infra-repo", str(repo), "-p", "cacheprovider", "-o", f"cache_dir={pytest_cache}",
                  tests=("tests/cicd", "tests/pdv"), environ={"BBWS_DB_PASSWORD": ENV_SECRET})
    assert "INTERNALERROR" not in r.stdout, r.internal_error()
    assert r.bundle is not None
    snap = json.loads((r.bundle / "snapshot.json").read_text())
    texts = [o["response"]["text"] for o in snap["observations"]
             if o["service"] == "file" and o["params"].get("path") == ".github/workflows/deploy-dev.yml"]
    assert texts and "# leaked: *** ***" in texts[0], "the workflow text is in the evidence, masked"
    for name, value in PLANTED.items():
        assert value not in r.stdout, f"{name} in the terminal output"
        for path in [*r.reports_dir.rglob("*"), *pytest_cache.rglob("*")]:
            if path.is_file():
                assert value not in path.read_text(errors="replace"), f"{name} in {path}"
    after = set(cache.rglob("*")) if cache.exists() else set()
    assert after - before == set(), f"scratch files left in .pytest_cache/bbws: {sorted(after - before)}"
    assert not list(Path(r.reports_dir).rglob("*.snapshot.json"))
    assert (pytest_cache / "v" / "cache" / "nodeids").is_file(), "the cache was not written: nothing was searched"
