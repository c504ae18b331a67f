"""Issue 21 end to end: a waived run, its approvals, its replay after the waiver expired, the next gate run
(what changed since the previous one) and the evidence index as a timeline; plus the comparison and the
timeline as pure functions. Two live runs and one replay of tests/dynamodb/test_tables.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from checks.core.record import CheckRecord
from checks.core.snapshot import now
from checks.evidence import index
from checks.evidence.approve import main as approve
from checks.evidence.changes import compare, since_line
from checks.evidence.timeline import timeline
from checks.plugin import run as run_mod
from selftest.test_approvals import key

TESTS = ("tests/dynamodb/test_tables.py",)
TENANTS, PRODUCTS = "test_pitr_enabled[tenants]", "test_pitr_enabled[products]"


def bundles(reports: Path) -> list[Path]:
    return sorted(p.parent for p in reports.glob("local/*/manifest.json") if p.parent.name != "latest")


def gate_runs(reports: Path) -> list[Path]:
    return [b for b in bundles(reports) if json.loads((b / "gate.json").read_text())["gate_run"]]


def test_waive_approve_replay_after_expiry_and_compare(suite, tmp_path: Path, monkeypatch) -> None:
    """Waivers on a drill (a fault injected: a result, never a gate decision, so nothing to approve), then
    approvals and changes on real gate runs (-m smoke on the embedded world), and the index's timeline."""
    today = now().date()
    risks = tmp_path / "risks.toml"
    risks.write_text(f"""
[[waiver]]
check = "DDB-03"
resource = "tenants"
justification = "PITR comes back with the restore drill on the 14th"
approved_by = "Dana (Tech Lead)"
ticket = "OPS-9"
expires = {today + dt.timedelta(days=1)}
""")
    reports, summary = tmp_path / "gates", tmp_path / "summary.md"
    a = suite.run("--waivers", str(risks), "--reports", str(reports), faults="DDB-03:tenants", tests=TESTS,
                  environ={"GITHUB_STEP_SUMMARY": str(summary)})
    assert a.ret == 0 and a.outcomes[TENANTS] == "waived", a.stdout[-2000:]
    assert "BBWS gate: GO · 1 waived finding (drill: --fault DDB-03:tenants" in a.stdout and "expires" in a.stdout
    first = bundles(reports)[-1]
    gate = json.loads((first / "gate.json").read_text())
    assert gate["decision"] == "GO" and gate["counts"]["by_outcome"]["waived"] == 1 and gate["gate_run"] is False
    assert gate["waivers"]["applied"][0]["waiver"]["ticket"] == "OPS-9"
    assert gate["waivers"]["expiring_soon"] and gate["changes"]["previous"] is None
    row = next(r for r in json.loads((first / "results.json").read_text())["results"] if r["resource"] == "tenants"
               and "pitr" in r["test"])
    assert row["outcome"] == "waived" and row["waiver"]["approved_by"] == "Dana (Tech Lead)"
    assert "waivers.toml" in json.loads((first / "manifest.json").read_text())["files"]
    assert (first / "waivers.toml").read_text() == risks.read_text()
    page = (first / "report.html").read_text()
    assert ": GO · 1 waived finding</div>" in page and 'id="waived"' in page and "OPS-9" in page
    assert "No sign-off: this is not a gate run" in page
    assert '<property name="outcome" value="waived" />' in (first / "junit.xml").read_text()
    md = summary.read_text()
    assert "**GO · 1 waived finding** (not a gate run)" in md and "### Accepted risks (waived findings)" in md

    alice, alice_pub = key(tmp_path, "alice", "alice@bbws.example")
    bob, bob_pub = key(tmp_path, "bob", "bob@bbws.example")
    assert approve([str(first), "--key", str(alice), "--role", "Tech Lead"]) == 4, "a drill approves nothing"

    later = now() + dt.timedelta(days=3)  # the waiver expired two days ago, by the wall clock
    with monkeypatch.context() as mp:
        mp.setattr(run_mod, "now", lambda: later)
        replay = suite.run("--replay", str(first), tests=TESTS)
    assert replay.ret == 0 and replay.outcomes[TENANTS] == "waived", "judged against the original's start"
    unsealed = tmp_path / "unsealed" / first.name
    shutil.copytree(first, unsealed)
    manifest = json.loads((unsealed / "manifest.json").read_text())
    del manifest["files"]["waivers.toml"]  # a waivers file slipped into a bundle after it was sealed
    (unsealed / "manifest.json").write_text(json.dumps(manifest))
    out = suite.run("--replay", str(unsealed), tests=TESTS)
    assert out.ret == 4 and "waivers.toml" in out.stdout and "manifest" in out.stdout, out.stdout[-1500:]

    with monkeypatch.context() as mp:
        mp.setattr(run_mod, "now", lambda: later)
        b = suite.run("--waivers", str(risks), "--reports", str(reports), faults="DDB-03:tenants,DDB-03:products",
                      tests=TESTS)
    assert b.ret == 1 and b.outcomes[TENANTS] == b.outcomes[PRODUCTS] == "failed"
    assert f"waiver expired on {today + dt.timedelta(days=1)} (waivers.toml:2" in b.records[TENANTS]["message"]

    g1 = suite.run("-m", "smoke", "--reports", str(reports))
    assert g1.ret == 0, g1.stdout[-2000:]
    [gate1] = gate_runs(reports)
    one = json.loads((gate1 / "gate.json").read_text())
    assert one["gate_run"] is True, one["kind_label"]
    assert one["changes"]["previous"] is None, "drills are no previous gate run"
    assert one["approvals"]["awaiting"] == ["Tech Lead", "Operations Lead"]
    assert "awaiting: Tech Lead, Operations Lead (0 of 2)" in (gate1 / "report.html").read_text()
    assert approve([str(gate1), "--key", str(alice), "--role", "Tech Lead"]) == 0
    assert approve([str(gate1), "--key", str(bob), "--role", "Operations Lead"]) == 0
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'tech-lead namespaces="bbws-approval" {alice_pub}\n'
                       f'operations-lead namespaces="bbws-approval" {bob_pub}\n')
    replayed = suite.run("--replay", str(gate1), "--allowed-signers", str(allowed), "-m", "smoke")
    assert replayed.ret == 0, replayed.stdout[-2000:]
    assert "approvals: approved by alice@bbws.example (Tech Lead), bob@bbws.example (Operations Lead) (2 of 2)" \
        in replayed.stdout

    g2 = suite.run("-m", "smoke", "--reports", str(reports))
    assert g2.ret == 0, g2.stdout[-2000:]
    gate2 = next(b for b in gate_runs(reports) if b != gate1)
    changes = json.loads((gate2 / "gate.json").read_text())["changes"]
    assert changes["previous"]["run_id"] == one["run_id"] and changes["previous"]["decision"] == "GO"
    assert changes["new"] == changes["fixed"] == changes["still_failing"] == changes["newly_waived"] == []
    assert f"0 new since {one['run_id']} (GO, " in (gate2 / "report.html").read_text()

    decision, rows = index.build(bundles(reports), tmp_path / "index", signers=None)
    data = json.loads((tmp_path / "index" / "index.json").read_text())
    [local] = data["timeline"]
    assert [t["decision"] for t in local["trend"]] == ["GO", "GO"], "the trend is that of the gate runs"
    assert local["current"] == json.loads((gate2 / "gate.json").read_text())["run_id"]
    html = (tmp_path / "index" / "index.html").read_text()
    assert "current gate run" in html and "approved by alice@bbws.example (Tech Lead), bob@bbws.example " \
                                         "(Operations Lead) (2 of 2)" in html


def test_a_malformed_waivers_file_stops_the_run_before_any_aws_read(suite, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[waiver]]\ncheck = "DDB-03"\n\n[[waiver]]\ncheck = "PDV-01"\njustification = "j"\n'
                   'approved_by = "a"\nexpires = 2020-01-01\n')
    r = suite.run("--waivers", str(bad), tests=TESTS)
    assert r.ret == 4 and r.outcomes == {} and not r.bundles and "collected:" not in r.stdout
    assert "4 problem(s) in the waivers file" in r.stdout and "bad.toml:1: required key 'justification'" in r.stdout
    assert "bad.toml:4: waiver for PDV-01 (every resource): PDV-01 is P0" in r.stdout
    assert "Traceback" not in r.stdout


def rec(resource: str, outcome: str, test: str = "test_pitr_enabled") -> CheckRecord:
    return CheckRecord(check="DDB-03", title="t", test=f"/ci/checkout/tests/dynamodb/test_tables.py::{test}"
                       f"[{resource}]", name=f"{test}[{resource}]", resource=resource, outcome=outcome, severity="P1")


def test_changes_since_the_previous_gate_run() -> None:
    before = [{"check": "DDB-03", "test": f"tests/dynamodb/test_tables.py::test_pitr_enabled[{t}]", "resource": t,
               "outcome": o} for t, o in (("orders", "failed"), ("invoices", "failed"), ("ledger", "waived"),
                                          ("archive", "passed"), ("events", "passed"))]
    found = compare(before, [rec("orders", "failed"), rec("invoices", "passed"), rec("ledger", "passed"),
                             rec("archive", "waived"), rec("events", "error"), rec("audit", "skipped")])
    assert {k: [i["resource"] for i in v] for k, v in found.items()} == {
        "new": ["events"], "fixed": ["invoices", "ledger"], "still_failing": ["orders"], "newly_waived": ["archive"]}
    line = since_line({"previous": {"run_id": "r7", "decision": "GO", "finished": "2027-03-01T10:00:00Z"}, **found})
    assert line == "1 new since r7 (GO, 2027-03-01T10:00:00Z); 2 fixed, 1 still failing, 1 newly waived"
    assert since_line({"previous": None, "note": "no previous gate run of env sit: nothing to compare"}) \
        .startswith("no previous gate run")


def test_the_index_timeline_is_newest_first_per_env_with_the_latest_pointer_marked(tmp_path: Path) -> None:
    def row(env: str, started: str, decision: str, name: str) -> SimpleNamespace:
        (tmp_path / env / name).mkdir(parents=True)
        return SimpleNamespace(env=env, started=started, decision=decision, run_id=name, bundle=f"{env}/{name}",
                               gate_run=True)

    rows = [row("sit", "2027-03-01", "GO", "a"), row("sit", "2027-03-03", "NO-GO", "c"),
            row("sit", "2027-03-02", "CONDITIONAL GO", "b"), row("prod", "2027-03-01", "UNVERIFIED", "p")]
    (tmp_path / "sit" / "latest").symlink_to("b")  # the newest run (c) was not a gate run
    found = {t["env"]: t for t in timeline(rows, tmp_path)}
    assert [r.run_id for r in found["sit"]["rows"]] == ["c", "b", "a"] and found["sit"]["current"] == "b"
    assert [t["decision"] for t in found["sit"]["trend"]] == ["GO", "CONDITIONAL GO", "NO-GO"]
    assert found["prod"]["current"] == "", "an unverified bundle is never the current gate run"


def test_the_env_key_names_the_waivers_file_and_the_option_wins(tmp_path: Path) -> None:
    from checks.core import config
    from checks.plugin.waiving import waivers_for

    def one(check: str) -> str:
        return (f'[[waiver]]\ncheck = "{check}"\njustification = "j"\napproved_by = "a"\n'
                f"expires = {now().date() + dt.timedelta(days=10)}\n")

    (tmp_path / "risks").mkdir()
    (tmp_path / "risks" / "sit.toml").write_text(one("DDB-05"))
    (tmp_path / "cli.toml").write_text(one("S3-06"))
    env = config.load()["sit"].model_copy(update={"waivers": "risks/sit.toml",
                                                   "source": str(tmp_path / "environments.toml")})
    here = SimpleNamespace(dir=tmp_path)

    def cfg(option: str | None) -> SimpleNamespace:
        return SimpleNamespace(option=SimpleNamespace(waivers=option, replay=None, environments=None),
                               invocation_params=here)

    from_env = waivers_for(cfg(None), env, now().isoformat())
    assert [w.check for w in from_env.waivers] == ["DDB-05"] and from_env.source == "risks/sit.toml"
    assert [w.check for w in waivers_for(cfg("cli.toml"), env, now().isoformat()).waivers] == ["S3-06"]
    assert waivers_for(cfg(None), env.model_copy(update={"waivers": ""}), now().isoformat()) is None


def test_every_section_of_the_report_has_its_place_on_screen_and_in_print() -> None:
    """The page is a flex column ordered by CSS: a section without an order (the compliance view, once) would
    show above the gate decision."""
    import re

    from checks.evidence.report import TEMPLATES

    ids = {m for t in TEMPLATES.glob("*.jinja2") for m in re.findall(r'<section id="([\w-]+)"', t.read_text())}
    css = (TEMPLATES / "report.css").read_text()
    screen, printing = css.split("@media print")
    for where, text in (("screen", screen), ("print", printing)):
        placed = set(re.findall(r"#([\w-]+) \{ order: \d+;", text)) | set(re.findall(r"#([\w-]+), ", text))
        hidden = set(re.findall(r"#([\w-]+)[^{]*\{ display: none", text))
        assert ids - placed - hidden == set(), f"sections without an order ({where})"
    order = {m.group(1): int(m.group(2)) for m in re.finditer(r"#([\w-]+) \{ order: (\d+);", screen)}
    assert order["kind"] <= order["gate"], "the run's kind (gate run or not) is read with the decision"
    assert all(order[s] > order["gate"] for s in ids - {"gate", "kind"})
