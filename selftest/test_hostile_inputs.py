"""Issue 23 (3, 4, 5, 9): hostile input ends in an error outcome or a one-line usage error.

- a workflow of nested YAML aliases is refused before it expands (the file's checks are errors, the
  run completes and writes its bundle); an exception in a check is an error, never a failure;
- every regular expression over repo text is RE2's (checks/core/linear.py), linear by construction:
  inputs 100 times larger than the ones that took minutes finish (no wall-clock bound is asserted);
- a symlinked workflow directory is never entered; absurd options are usage errors.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from checks.areas.cicd import views
from checks.areas.cicd.model import parse
from checks.areas.cicd.rules import expressions, paths
from checks.areas.cicd.rules.paths import Tree
from checks.areas.cicd.shell import EXPR_RE, sets_pipefail
from checks.core.outcome import Unverifiable

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "selftest" / "infra_repo"
WF = ".github/workflows"


def alias_bomb(levels: int = 12, width: int = 8) -> str:
    """`width` ** `levels` values from a few hundred bytes (the "billion laughs" of YAML)."""
    rows = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return ("on: workflow_dispatch\n" + "\n".join(rows) +
            f"\njobs:\n  deploy:\n    runs-on: *l{levels - 1}\n    steps:\n      - run: echo\n")


def test_nested_aliases_are_refused_before_they_expand() -> None:
    wf = parse(f"{WF}/laughs.yml", alias_bomb())
    assert wf.data is None and "alias bomb" in wf.refused
    view = views.WorkflowView.__new__(views.WorkflowView)
    view.path = wf.path
    with pytest.raises(Unverifiable, match="expand to more than"):
        view._evaluable(wf)
    # merge keys (`<<:`) that double at each level are bounded the same way
    rows = ["m0: &m0 {a: 1, b: 2}"] + [f"m{i}: &m{i}\n  <<: [*m{i - 1}, *m{i - 1}]\n  k{i}: 1" for i in range(1, 60)]
    assert "alias bomb" in parse(f"{WF}/merge.yml", "on: push\n" + "\n".join(rows) + "\njobs: {}\n").refused
    # anchors a real workflow uses stay fine
    ok = parse(f"{WF}/ok.yml", "on: push\nx: &env {A: 1}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    env: *env\n"
                               "    steps: [{run: echo}]\n")
    assert ok.ok and ok.jobs["j"].raw["env"] == {"A": 1}


def test_repo_text_is_matched_in_linear_time_by_construction() -> None:
    spaces = "echo ${{" + " " * 300_000  # 100x the 3000 spaces that took 157 s
    assert EXPR_RE.search(spaces) is None and not sets_pipefail("set " * 100_000)
    wf = parse(f"{WF}/spaces.yml", "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
                                   f"      - run: {json.dumps(spaces)}\n")
    assert expressions.injection(wf) == []
    tree = Tree([f"src/{'a' * 200}/{i}.txt" for i in range(500)])
    assert not tree.glob("*a" * 60 + "*b")  # a glob of 60 stars against 500 long paths
    assert not tree.glob("**/" * 400 + "x")  # 400 globstars: still linear in each path
    assert tree.glob("src/**") and not tree.glob("lib/**")


def test_no_backtracking_regex_reads_repo_text() -> None:
    """By construction: the CI/CD rules and shell parsing use checks.core.linear (RE2), never `re`."""
    area = REPO / "checks" / "areas" / "cicd"
    for path in [area / "shell.py", area / "terraform.py", area / "collector.py", area / "tfrun.py", area / "model.py",
                 *sorted((area / "rules").glob("*.py"))]:
        imported = {alias.name for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        assert "re" not in imported, f"{path.relative_to(REPO)} imports re"
    assert paths.linear is expressions.linear


def test_hostile_input_ends_in_error_outcomes_and_the_run_completes(suite, monkeypatch, tmp_path: Path) -> None:
    """One run: an alias bomb and a regex bomb among the workflows, and a static check that crashes (a
    RecursionError in the PITR rule, as a chain of locals once raised). Only an assertion fails a check:
    the crash is an error (checks/plugin/outcomes.py), so the gate is NO-GO, never CONDITIONAL GO."""
    from checks.areas.static import rules

    def crash(*_args: object) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(rules, "pitr", crash)
    repo = tmp_path / "infra"
    shutil.copytree(SAMPLE, repo)
    (repo / WF / "laughs.yml").write_text(alias_bomb())
    (repo / WF / "spaces.yml").write_text("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
                                          f"      - run: {json.dumps('echo ${{' + ' ' * 300_000)}\n")
    r = suite.run("-m", "cicd or static", "--infra-repo", str(repo),
                  tests=("tests/cicd/test_workflows.py", "tests/static/test_dynamodb_tf.py"))
    assert "INTERNALERROR" not in r.stdout and r.bundle is not None, r.internal_error() or r.stdout[-3000:]
    assert r.outcomes["test_workflow_schema[laughs.yml]"] == "error"
    assert "alias bomb" in r.records["test_workflow_schema[laughs.yml]"]["message"]
    assert r.outcomes["test_no_script_injection[spaces.yml]"] == "passed"
    crashed = {t for t in r.outcomes if t.startswith("test_pitr_declared[")}
    assert crashed and {r.outcomes[t] for t in crashed} == {"error"}, r.outcomes
    assert "RecursionError" in r.records["test_pitr_declared[tenants]"]["message"]
    assert r.results_json["decision"] == "NO-GO" and r.ret == 1

def test_a_symlinked_workflow_directory_is_never_entered(tmp_path: Path) -> None:
    from checks.areas.cicd.fixtures import listing
    from checks.core.config import load
    from checks.core.repo import repo_files, repo_tree

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private-runbook-name.yml").write_text("on: push\njobs: {}\n")
    repo = tmp_path / "infra"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "workflows").symlink_to(outside, target_is_directory=True)
    assert listing(load()["local"], repo)["workflows"] == []
    assert "private-runbook-name" not in json.dumps(repo_files(repo, repo_tree(repo)))


@pytest.mark.parametrize("args, said", [
    (("--concurrency", "100000000"), "--concurrency must be between 1 and 256"),
    (("--environments", "/dev/zero"), "/dev/zero: is not a regular file"),
    (("--reports", "{file}/reports"), "cannot write to"),
], ids=["concurrency", "endless-file", "unwritable-reports"])
def test_absurd_options_are_one_line_usage_errors(suite, tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = tuple(a.replace("{file}", str(blocker)) for a in args)
    r = suite.run(*args, "-m", "static", tests=("tests/static",))
    errors = [line for line in r.stdout.splitlines() if line.startswith("ERROR: ")]
    assert r.ret == 4 and len(errors) == 1 and said in errors[0], r.stdout[-2000:]
    assert "Traceback" not in r.stdout and "INTERNALERROR" not in r.stdout
