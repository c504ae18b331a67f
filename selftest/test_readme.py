"""Issue 25.8: the README is executable truth.

Every command in README.md's fenced `sh` blocks runs as written: here (a `pytest ...` command, collect-only: the
options, the env, the paths and the selection are all checked, no AWS is read), in `.ci/run` (each of its parts
is a line there), or in a named selftest (a real AWS account aside). A command added later is covered the same way
without touching this file, or this file fails naming it. The options list names every option of the suite, and
every `python -m <module>` the README or a message of the suite gives is a module that runs.
"""

from __future__ import annotations

import datetime
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
CI_RUN = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()]

# README commands another selftest runs as written (the test, by name), or that need what no machine here has
ELSEWHERE = {
    'echo "auditor $(cat bbws-evidence.pub)" > allowed_signers':
        "selftest/test_safety_bundle.py::test_the_auditor_verifies_with_ssh_keygen_alone",
    "ssh-keygen -Y verify -f allowed_signers -I auditor -n bbws-evidence -s manifest.json.sig < manifest.json":
        "selftest/test_safety_bundle.py::test_the_auditor_verifies_with_ssh_keygen_alone",
}
WALKTHROUGH = "selftest/test_readme_walkthroughs.py::"
ELSEWHERE.update({
    'python -m checks.evidence.approve reports/prod/latest --key ~/.ssh/bbws-approval --role "Tech Lead"':
        WALKTHROUGH + "test_approving_a_gate_runs_as_written",
    "python -m checks.evidence.index reports/ --out evidence-index --verify-key bbws-evidence.pub "
    "--expect dev,sit,prod":
        "selftest/test_index.py::test_a_forged_go_is_never_listed_as_verified",
    "python -m checks.evidence.index reports/ --out evidence-index --allowed-signers allowed_signers":
        "selftest/test_index.py::test_allowed_signers_name_who_signed_each_bundle",
})
NEEDS_AWS = {"aws sso login --profile bbws-sit": "an AWS SSO login: a real account and a browser"}
QUIET = ("-p", "no:randomly", "-p", "no:hypothesispytest")  # hypothesis's plugin, loaded late, warns
BENCHMARKS = "bench/"  # minutes on two cores (figures in BENCHMARKS.md): their options are checked with --help


def sh_commands(text: str = README) -> list[str]:
    """Every command of the fenced `sh` blocks: one a line, `\\` continuations joined, comments dropped."""
    out: list[str] = []
    for block in re.findall(r"^ *```sh\n(.*?)^ *```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(line.split(" #", 1)[0].strip())
    return out


# the README sections a walkthrough selftest runs as written, every command of them
for _name, _section in (("test_accepting_a_risk_runs_as_written", "Accepting a risk"),
                        ("test_approving_a_gate_runs_as_written", "Approving a gate")):
    for _command in sh_commands(README.split(f"\n## {_section}\n", 1)[1].split("\n## ", 1)[0]):
        ELSEWHERE.setdefault(_command, WALKTHROUGH + _name)


def test_the_readme_has_commands():
    commands = sh_commands()
    assert "pytest --env local --fault DDB-03,S3-02" in commands and len(commands) >= 10, commands


def test_sh_commands_read_comments_and_continuations():
    text = "```sh\npytest --env sit -m smoke   # gate\npytest --env prod \\\n  -m cicd\n```\n```yaml\nx: 1\n```\n"
    assert sh_commands(text) == ["pytest --env sit -m smoke", "pytest --env prod    -m cicd"]


def _pytest_args(command: str) -> tuple[dict[str, str], list[str]] | None:
    """(environment, arguments) of a `[VAR=value ...] pytest ...` command; None for any other command."""
    words = shlex.split(command)
    environ = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        key, _, value = words.pop(0).partition("=")
        environ[key] = value
    if not words or words[0] != "pytest":
        return None
    return environ, words[1:]


@pytest.fixture
def placeholders(suite, tmp_path) -> dict[str, str]:
    """The README's example paths, made real: a bundle of env sit (a static review: no AWS), the infra repo, a plan."""
    infra = tmp_path / "bbws-infra"
    shutil.copytree(REPO / "selftest" / "infra_repo", infra)
    made = suite.run("-m", "static", "--infra-repo", str(infra), env="sit", tests=("tests/static",))
    assert made.bundle is not None, made.stdout[-3000:]
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": "1.2", "resource_changes": []}')
    risks = tmp_path / "prod-risks.toml"
    expires = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).date()
    risks.write_text(f'[[waiver]]\ncheck = "DDB-03"\njustification = "j"\napproved_by = "a"\nexpires = {expires}\n')
    return {"reports/sit/latest": str(made.bundle), "../bbws-infra": str(infra), "plan.json": str(plan),
            "risks/prod.toml": str(risks)}


def _substitute(args: list[str], placeholders: dict[str, str]) -> list[str]:
    out = []
    for arg in args:
        for example, real in placeholders.items():
            if arg == example or arg.endswith("=" + example):
                arg = arg[: len(arg) - len(example)] + real
        out.append(arg)
    return out


def test_every_readme_command_runs_as_written(suite, placeholders, monkeypatch):
    uncovered, failed = [], []
    for command in sh_commands():
        if command in NEEDS_AWS:
            continue
        if command in ELSEWHERE:
            path, _, name = ELSEWHERE[command].partition("::")
            assert re.search(rf"^def {name}\(", (REPO / path).read_text(), re.M), f"{ELSEWHERE[command]} is gone"
            continue
        parts = [p.strip() for p in command.split("&&")]
        if all(p in CI_RUN for p in parts):
            continue  # .ci/run runs each part as written
        if BENCHMARKS in command:
            script = next(w for w in shlex.split(command) if w.startswith(BENCHMARKS))
            helptext = subprocess.run([sys.executable, str(REPO / script), "--help"], capture_output=True, text=True,
                                      timeout=300, check=False).stdout
            flags = [w.split("=", 1)[0] for w in shlex.split(command) if w.startswith("--")]
            if not all(f in helptext for f in flags):
                failed.append(f"{command}: {script} --help has no {flags}")
            continue
        parsed = _pytest_args(command)
        if parsed is None:
            uncovered.append(command)
            continue
        environ, args = parsed
        args = _substitute(args, placeholders)
        with monkeypatch.context() as mp:
            for key, value in environ.items():
                mp.setenv(key, value)
            r = suite.pytester.runpytest_inprocess(*args, *([] if "--help" in args else ["--collect-only", "-q"]),
                                                   *QUIET)
        out = r.stdout.str() + r.stderr.str()
        ran = "--help" in args and "BBWS storage compliance" in out or re.search(r"\d+ tests? collected", out)
        if r.ret != 0 or not ran:
            failed.append(f"{command} (as {shlex.join(args)}): exit {int(r.ret)}\n{out[-1500:]}")
    assert not uncovered, ("README commands nothing runs: run each in a selftest (ELSEWHERE, naming it) or in "
                           f".ci/run: {uncovered}")
    assert not failed, "\n\n".join(failed)


def test_every_option_of_the_suite_is_in_the_readme(pytester):
    out = pytester.runpytest_inprocess("--help", *QUIET).stdout.str()
    section = out.split("BBWS storage compliance:", 1)[1].split("\n\n", 1)[0]
    options = re.findall(r"^\s+(--[a-z][a-z0-9-]*)", section, re.M)
    assert "--env" in options and "--sign-key" in options, section
    listed = README.split("Options (`pytest --help`", 1)[1].split("\n\n", 1)[0]
    missing = [o for o in options if f"`{o}" not in listed]
    assert not missing, f"README's options list lacks {missing}"


MODULE = re.compile(r"python3? -m ([a-z_][\w.]*)")
NOT_OURS = {"venv", "pip", "pytest", "build"}


def test_every_python_dash_m_the_suite_names_runs():
    """`python -m checks.areas.pdv.parity ...` and the like, in the README, CONTRIBUTING and every message of the
    suite: the module exists and runs as a script."""
    texts = {"README.md": README, "CONTRIBUTING.md": (REPO / "CONTRIBUTING.md").read_text()}
    texts |= {str(p.relative_to(REPO)): p.read_text() for p in (REPO / "checks").rglob("*.py")}
    named = {(where, m) for where, text in texts.items() for m in MODULE.findall(text) if m not in NOT_OURS}
    assert any(m == "checks.areas.pdv.parity" for _, m in named), named
    bad = []
    for where, module in sorted(named):
        spec = importlib.util.find_spec(module) if module.split(".")[0] == "checks" else None
        if spec is None or spec.origin is None or "__main__" not in Path(spec.origin).read_text():
            bad.append(f"{where}: python -m {module}")
    assert not bad, f"no such runnable module: {bad}"
