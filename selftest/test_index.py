"""Issue 15.4: the evidence index over many bundles verifies each one and says each env's decision."""

from __future__ import annotations

import json
from pathlib import Path

from checks.areas.cicd import workflows
from checks.evidence.bundle import write_json, write_manifest, write_text
from checks.evidence.index import main

REPO = Path(__file__).resolve().parent.parent


def bundle(root: Path, env: str, decision: str, account: str = "111111111111", complete: bool = True) -> Path:
    """A bundle as the plugin writes it: gate, results, report, snapshot, then the manifest."""
    b = root / env / "20261202T000000Z"
    b.mkdir(parents=True)
    reasons = [] if decision != "NO-GO" else [{"effect": "NO-GO", "check": "DDB-03", "outcome": "failed",
                                               "message": "PITR is DISABLED on tenants"}]
    write_json(b / "gate.json", {"decision": decision, "complete": complete, "reasons": reasons,
                                 "counts": {"by_outcome": {"passed": 10, "failed": len(reasons), "error": 0,
                                                           "skipped": 1}}})
    write_json(b / "snapshot.json", {"observations": []})
    write_json(b / "results.json", {"schema": 1, "env": env, "decision": decision})
    write_text(b / "report.html", "<html></html>")
    write_manifest(b, {"env": env, "account": account, "region": "eu-west-1", "decision": decision,
                       "complete": complete, "run_id": f"run-{env}", "started": "s", "finished": "f"})
    return b


def rows_of(out: Path) -> dict[str, tuple[str, str]]:
    index = json.loads((out / "index.json").read_text())
    return {r["env"]: (r["decision"], r["problem"]) for r in index["rows"]}


def test_one_line_per_env_with_decision_and_link(tmp_path: Path, capsys) -> None:
    art = tmp_path / "artifacts"
    bundle(art / "gate-evidence-dev", "dev", "GO")
    bundle(art / "gate-evidence-sit", "sit", "CONDITIONAL GO")
    prod = bundle(art / "gate-evidence-prod", "prod", "NO-GO")
    (prod.parent / "latest").symlink_to(prod.name)  # a latest pointer is not a second bundle
    out = tmp_path / "index"
    assert main([str(art), "--out", str(out)]) == 0
    assert rows_of(out) == {"dev": ("GO", ""), "sit": ("CONDITIONAL GO", ""), "prod": ("NO-GO", "")}
    index = json.loads((out / "index.json").read_text())
    assert (index["decision"], index["bundles"], index["verified"]) == ("NO-GO", 3, 3)
    html = (out / "index.html").read_text()
    for row in index["rows"]:
        assert f'href="{row["report"]}"' in html and (out / row["report"]).resolve().is_file()
    assert "DDB-03: PITR is DISABLED on tenants" in html
    assert (out / "manifest.json").is_file()
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["NO-GO", "CONDITIONAL", "GO", "NO-GO:"]


def test_all_go_is_go_and_an_incomplete_run_is_no_go(tmp_path: Path) -> None:
    bundle(tmp_path / "a", "dev", "GO")
    out = tmp_path / "index"
    assert main([str(tmp_path / "a"), "--out", str(out)]) == 0
    assert json.loads((out / "index.json").read_text())["decision"] == "GO"
    bundle(tmp_path / "b", "sit", "GO", complete=False)
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    assert rows_of(out)["sit"] == ("NO-GO", "")


def test_a_tampered_or_missing_bundle_is_unverified_and_no_go(tmp_path: Path) -> None:
    bundle(tmp_path, "dev", "GO")
    sit = bundle(tmp_path, "sit", "GO")
    (sit / "gate.json").write_text(json.dumps({"decision": "GO", "complete": True}))
    out = tmp_path / "index"
    assert main([str(tmp_path / "dev"), str(tmp_path / "sit"), "--out", str(out), "--expect", "dev,sit,prod"]) == 1
    rows = rows_of(out)
    assert rows["dev"] == ("GO", "")
    assert rows["sit"][0] == "UNVERIFIED" and rows["sit"][1].startswith("gate.json has been modified")
    assert rows["prod"] == ("UNVERIFIED", "no bundle for this env")
    assert json.loads((out / "index.json").read_text())["decision"] == "NO-GO"


def test_bundle_fields_are_escaped(tmp_path: Path) -> None:
    bundle(tmp_path, "<script>alert(1)</script>", "GO")
    out = tmp_path / "index"
    assert main([str(tmp_path), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_input_is_a_usage_error_not_a_traceback(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 4
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 4
    assert "holds no bundle" in capsys.readouterr().err


def test_the_matrix_workflow_lints_clean() -> None:
    path = REPO / ".github/workflows/gate-matrix.yml"
    assert workflows.lint(path, root=REPO) == []
