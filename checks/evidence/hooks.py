"""Evidence hooks: collect every check's record, decide the gate, write the bundle once.

Lifecycle (controller only; xdist workers do nothing here):
- pytest_configure: register our own junitxml and self-contained pytest-html writers aimed
  at a temporary directory (independent of the user's --junitxml / --html);
- pytest_runtest_logreport: redact secrets from the report, keep `report.bbws`;
- pytest_sessionfinish (an inner wrapper): before the other implementations run, decide the
  gate, write results.json, gate.json and snapshot.json, the job summary, and set the exit
  status; after them (pytest-html and junitxml have written their files), move those into the
  bundle, write manifest.json last and point `latest` at the bundle.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from checks import __version__
from checks.core.snapshot import iso, now, parse_time
from checks.evidence import bundle, redact
from checks.evidence.gate import NO_GO, Gate, decide, exit_status
from checks.evidence.summary import COLOUR, markdown, terminal_lines
from checks.plugin.run import RUN, Run, invocation, is_worker

EVIDENCE = pytest.StashKey["Evidence"]()
RESULT_FIELDS = ("check", "test", "resource", "outcome", "severity", "message", "remediation")
RESULTS_SCHEMA = 1


@dataclass
class Evidence:
    config: pytest.Config
    run: Run
    base: Path
    work: Path  # where pytest-html and junitxml write before their files join the bundle
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    gate: Gate | None = None
    dir: Path | None = None
    finished: str | None = None
    manifest: dict[str, Any] | None = None
    error: str | None = None
    saw_tests: bool = False  # any test report arrived
    saw_checks: bool = False  # any collected item or report is a catalog check (has an `issue` marker)
    sign_key: Any = None  # --sign-key, loaded at configure (a bad key is a usage error before any read)
    signature: str | None = None  # the signing key's fingerprint once manifest.json.sig is written
    _git: str | None = None

    @property
    def gated(self) -> bool:
        """Is this a compliance run? Not when tests ran and none of them is a check (e.g. `pytest selftest`)."""
        return self.saw_checks or not self.saw_tests or bool(self.run.incomplete)

    def reasons_incomplete(self) -> list[str]:
        return list(dict.fromkeys([*self.run.incomplete, *self.incomplete]))

    def caller(self) -> dict[str, Any]:
        snap = self.run.snapshot
        return dict(snap.meta.get("caller") or {}) if snap is not None else {}

    def replay_of(self) -> str | None:
        return str(self.run.replay.resolve()) if self.run.replay is not None else None

    def git_sha(self) -> str | None:
        if self._git is None:
            self._git = bundle.git_sha(Path(__file__).resolve().parents[2]) or ""
        return self._git or None

    def meta(self) -> dict[str, Any]:
        env, caller = self.run.env, self.caller()
        snap = self.run.snapshot
        return {"env": env.name, "account": env.account, "region": env.region, "dr_region": env.dr_region,
                "caller_arn": caller.get("arn"), "caller_account": caller.get("account"),
                "caller_region": caller.get("region"), "suite_version": __version__, "git_sha": self.git_sha(),
                "run_id": self.run.run_id, "started": self.run.started, "finished": self.finished,
                "command": redact.text(invocation(self.config)),
                "endpoint": snap.meta.get("endpoint") if snap is not None else None,
                "replay_of": self.replay_of(), "bundle": str(self.dir) if self.dir else None}


def evidence_of(config: pytest.Config) -> Evidence | None:
    return config.stash.get(EVIDENCE, None)


def _active(config: pytest.Config) -> bool:
    return (RUN in config.stash and not is_worker(config) and not config.option.collectonly
            and not getattr(config.option, "help", False))


def pytest_configure(config: pytest.Config) -> None:
    if not _active(config):
        return
    run = config.stash[RUN]
    reports = getattr(config.option, "reports", None)
    base = (config.invocation_params.dir / reports) if reports else config.rootpath / "reports"
    ev = Evidence(config=config, run=run, base=base.resolve(), work=Path(tempfile.mkdtemp(prefix="bbws-evidence-")))
    ev.sign_key = _sign_key(config)
    config.stash[EVIDENCE] = ev
    config.pluginmanager.register(_Recorder(ev), "bbws-evidence-recorder")
    _register_junit(config, ev.work / "junit.xml")
    if config.pluginmanager.hasplugin("html"):
        _register_html(config, ev)


def _sign_key(config: pytest.Config) -> Any:
    path = getattr(config.option, "sign_key", None)
    if not path:
        return None
    from checks.evidence import signing
    try:
        return signing.load_private(Path(path))
    except signing.SigningError as exc:
        raise pytest.UsageError(str(exc)) from None


def _register_junit(config: pytest.Config, path: Path) -> None:
    from _pytest.junitxml import LogXML
    xml = LogXML(str(path), config.option.junitprefix, config.getini("junit_suite_name"),
                 config.getini("junit_logging"), config.getini("junit_duration_report"),
                 config.getini("junit_family"), config.getini("junit_log_passing_tests"))
    xml.pytest_terminal_summary = lambda terminalreporter: None  # the gate summary names the bundle instead
    config.pluginmanager.register(xml, "bbws-evidence-junitxml")


def _register_html(config: pytest.Config, ev: Evidence) -> None:
    from pytest_html.plugin import ReportData, SelfContainedReport, _process_css, _read_template

    from checks.evidence.report import HtmlEvidence

    class _BundleReport(SelfContainedReport):
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            """Silenced: the file moves into the bundle; the gate summary names it."""

    import pytest_html
    resources = Path(pytest_html.__file__).parent / "resources"
    report = _BundleReport(str(ev.work / "report.html"), config, ReportData(config), _read_template([resources]),
                           _process_css(resources / "style.css", []))
    config.pluginmanager.register(report, "bbws-evidence-html")
    config.pluginmanager.register(HtmlEvidence(ev), "bbws-evidence-html-hooks")


def pytest_unconfigure(config: pytest.Config) -> None:
    ev = evidence_of(config)
    if ev is None:
        return
    for name in ("bbws-evidence-recorder", "bbws-evidence-html", "bbws-evidence-html-hooks", "bbws-evidence-junitxml"):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    shutil.rmtree(ev.work, ignore_errors=True)
    del config.stash[EVIDENCE]


# ----- what happened (per-config hooks, so nested in-process runs do not share state) -----

class _Recorder:
    def __init__(self, ev: Evidence):
        self.ev = ev

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Before deselection: a run whose `-m` selects no check is still a (failed) compliance run."""
        if any(item.get_closest_marker("issue") is not None for item in items):
            self.ev.saw_checks = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ev = self.ev
        _redact_report(report)
        record = getattr(report, "bbws", None)
        ev.saw_tests = True
        if record is not None or "issue" in getattr(report, "keywords", {}):
            ev.saw_checks = True
        if record is not None:
            ev.records[report.nodeid] = record
            if record.get("outcome") in ("failed", "error"):
                _attach_card(report, record)
            return
        if not report.failed:
            return
        known = ev.records.get(report.nodeid)
        lines = (report.longreprtext or "").strip().splitlines()
        detail = lines[-1] if lines else report.outcome
        if known is not None:  # a check whose teardown failed: its evidence cannot be trusted
            message = f"{known.get('message', '')}; {report.when} failed: {detail}".lstrip("; ")
            ev.records[report.nodeid] = {**known, "outcome": "error", "message": message}
        else:  # a failure outside any catalog check (e.g. a crashed xdist worker): it could not be evaluated
            ev.records[report.nodeid] = {"check": "", "title": "not a catalog check", "test": report.nodeid,
                                         "name": report.nodeid.split("::")[-1], "resource": "", "outcome": "error",
                                         "severity": "P0", "message": f"{report.when} failed: {detail}",
                                         "remediation": "", "runbook": {}, "observations": []}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = (report.longreprtext or "").strip().splitlines()
            self.ev.incomplete.append(redact.text(f"collection error in {report.nodeid or 'the session'}: "
                                                  f"{lines[-1] if lines else 'failed'}"))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        exc = excinfo.value
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C, or pytest's own Interrupted (collection errors)
            what = f"{type(exc).__name__}: {exc}" if str(exc) else "Ctrl-C"
            self.ev.incomplete.append(f"interrupted ({what}): the remaining checks did not run")
            return
        msg = str(getattr(exc, "msg", exc))
        if msg not in self.ev.run.incomplete:
            self.ev.incomplete.append(f"stopped by pytest.exit: {msg}")


def _redact_report(report: pytest.TestReport) -> None:
    values = redact.secrets()  # and credential-shaped text, even when no secret is in the environment
    if report.longrepr is not None and redact.contains(report.longreprtext, values):
        report.longrepr = redact.text(report.longreprtext, values)
    report.sections = [(redact.text(t, values), redact.text(c, values)) for t, c in report.sections]
    if getattr(report, "bbws", None) is not None:
        report.bbws = redact.deep(report.bbws, values)


def _attach_card(report: pytest.TestReport, record: dict[str, Any]) -> None:
    try:
        from pytest_html import extras
    except ImportError:  # pragma: no cover
        return
    from checks.evidence.gate import reason_of
    from checks.evidence.report import card
    report.extras = [*getattr(report, "extras", []), extras.html(card(record, reason_of(record).rollback))]


# ----- the decision and the bundle -----

@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    ev = evidence_of(session.config)
    if ev is None or not ev.gated:
        return (yield)
    try:
        _decide_and_write(ev, session)
    except OSError as exc:
        ev.error = f"could not write the evidence bundle: {exc}"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if session.exitstatus == 0 else session.exitstatus
    try:
        return (yield)
    finally:
        if ev.error is None:
            try:
                _seal(ev)
            except OSError as exc:
                ev.error = f"could not complete the evidence bundle: {exc}"
                session.exitstatus = session.exitstatus or pytest.ExitCode.TESTS_FAILED


def _decide_and_write(ev: Evidence, session: pytest.Session) -> None:
    if session.shouldfail or session.shouldstop:
        ev.incomplete.append(f"stopped early: {session.shouldfail or session.shouldstop}")
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        ev.incomplete.append("pytest hit an internal error")
    ev.gate = decide(ev.records.values(), ev.reasons_incomplete())
    ev.finished = iso(now())
    started = parse_time(ev.run.started) or dt.datetime.now(dt.UTC)
    ev.dir = bundle.new_dir(ev.base, ev.run.env.name, started)
    meta = ev.meta()
    bundle.write_json(ev.dir / "results.json", results_json(ev, meta))
    bundle.write_json(ev.dir / "gate.json", {"env": meta["env"], "run_id": meta["run_id"], "started": meta["started"],
                                             "finished": meta["finished"], "replay_of": meta["replay_of"],
                                             **ev.gate.to_dict()})
    snap = ev.run.snapshot
    data = snap.to_dict() if snap is not None else {"meta": {"env_name": ev.run.env.name, "run_id": ev.run.run_id,
                                                             "started": ev.run.started}, "observations": []}
    bundle.write_json(ev.dir / "snapshot.json", data, sort_keys=False)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(redact.text(markdown(ev.gate, meta)))
    session.exitstatus = exit_status(ev.gate, session.exitstatus)


def results_json(ev: Evidence, meta: dict[str, Any]) -> dict[str, Any]:
    """The stable results.json (schema 1)."""
    assert ev.gate is not None
    results = [{k: r.get(k, "") for k in RESULT_FIELDS} for _, r in sorted(ev.records.items())]
    return {"schema": RESULTS_SCHEMA, "env": meta["env"], "decision": ev.gate.decision, "complete": ev.gate.complete,
            "started": meta["started"], "finished": meta["finished"], "run_id": meta["run_id"],
            "replay_of": meta["replay_of"], "counts": ev.gate.counts["by_outcome"], "results": results}


def _seal(ev: Evidence) -> None:
    """After pytest-html and junitxml wrote their files: move them in, then the manifest, then `latest`."""
    assert ev.dir is not None and ev.gate is not None
    bundle.adopt(ev.work / "report.html", ev.dir / "report.html")
    bundle.adopt(ev.work / "junit.xml", ev.dir / "junit.xml")
    meta = ev.meta()
    replay = None
    if ev.run.replay is not None:
        src = bundle.resolve(ev.run.replay)
        original = ev.run.snapshot.meta.get("run_id") if ev.run.snapshot is not None else None
        digest = bundle.sha256(src / bundle.MANIFEST) if (src / bundle.MANIFEST).is_file() else None
        replay = {"path": meta["replay_of"], "run_id": original, "manifest_sha256": digest}
    ev.manifest = bundle.write_manifest(ev.dir, {
        "suite": {"name": "bbws-checks", "version": __version__, "git_sha": meta["git_sha"]},
        "env": meta["env"], "run_id": meta["run_id"], "account": meta["account"], "region": meta["region"],
        "caller": {"arn": meta["caller_arn"], "account": meta["caller_account"], "region": meta["caller_region"]},
        "started": meta["started"], "finished": meta["finished"], "command": meta["command"],
        "decision": ev.gate.decision, "complete": ev.gate.complete, "incomplete": ev.gate.incomplete,
        "replay_of": replay})
    if ev.sign_key is not None:
        from checks.evidence import signing
        signing.sign_bundle(ev.dir, ev.sign_key)
        ev.signature = signing.fingerprint(ev.sign_key.public_key())
    bundle.point_latest(ev.dir)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Generator[None, None, None]:
    result = yield
    ev = evidence_of(config)
    if ev is None or ev.gate is None:
        if ev is not None and ev.error:
            terminalreporter.write_sep("=", f"BBWS gate: NO-GO ({ev.error})", red=True, bold=True)
        return result
    gate = ev.gate
    colour = COLOUR[gate.decision]
    terminalreporter.write_sep("=", f"BBWS gate: {gate.decision}", **{colour: True, "bold": True})
    for line in terminal_lines(gate, str(ev.dir) if ev.dir else None):
        terminalreporter.write_line(line)
    if ev.error:
        terminalreporter.write_line(f"{ev.error} -- the decision is NO-GO", red=True)
    elif ev.manifest is not None:
        terminalreporter.write_line(f"manifest: {len(ev.manifest['files'])} files, SHA-256 each "
                                    f"({', '.join(ev.manifest['files'])})")
        if ev.signature:
            terminalreporter.write_line(f"signed:   manifest.json.sig, Ed25519 key {ev.signature} "
                                        "(ssh-keygen -Y verify -n bbws-evidence)")
    if gate.decision == NO_GO:
        terminalreporter.write_line("exit status is non-zero: the gate says NO-GO", red=True)
    return result
