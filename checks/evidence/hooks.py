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
from pathlib import Path
from typing import Any

import pytest

from checks import __version__
from checks.core.record import CheckRecord
from checks.core.snapshot import iso, now, parse_time
from checks.evidence import asff, bundle, ci_text, csv_export, ocsf, redact, sarif
from checks.evidence.changes import previous_gate_run
from checks.evidence.evidence import EVIDENCE, Evidence, evidence_of
from checks.evidence.gate import NO_GO, decide, exit_status
from checks.evidence.governance import govern, markdown_lines, since_of, text_lines
from checks.evidence.summary import COLOUR, decision_label, github_links, markdown, terminal_lines
from checks.plugin.pytest_internals import forget_interrupt_message, interrupt_message, junit_xml_writer
from checks.plugin.run import RUN, Run, is_worker, selection_label

RESULTS_SCHEMA = 1
FENCE = "bbws-command-fence"


def _active(config: pytest.Config) -> bool:
    return (RUN in config.stash and not is_worker(config) and not config.option.collectonly
            and not getattr(config.option, "help", False))


def pytest_configure(config: pytest.Config) -> None:
    if not _active(config):
        return
    run = config.stash[RUN]
    base = reports_base(config, run)
    writable(base)
    ev = Evidence(config=config, run=run, base=base, work=Path(tempfile.mkdtemp(prefix="bbws-evidence-")))
    ev.sign_key = _sign_key(config)
    ev.signers = _allowed_signers(config)
    ev.previous = previous_gate_run(ev.base, run.env.name) if run.replay is None else None
    config.stash[EVIDENCE] = ev
    config.pluginmanager.register(_Recorder(ev), "bbws-evidence-recorder")
    if ci_text.under_github_actions(os.environ):  # no line of repo data may run as a workflow command
        config.pluginmanager.register(ci_text.Fence(), FENCE)
    _register_junit(config, ev.work / "junit.xml")
    if config.pluginmanager.hasplugin("html"):
        _register_html(config, ev)


def reports_base(config: pytest.Config, run: Run) -> Path:
    """--reports (relative to where pytest was started), else <rootdir>/reports; a replay never writes
    into the bundle it replays (the checkout's reports/ then)."""
    reports = getattr(config.option, "reports", None)
    base = ((config.invocation_params.dir / reports) if reports else config.rootpath / "reports").resolve()
    if run.replay is not None and not reports:
        src = bundle.resolve(run.replay).resolve()
        if base == src or src in base.parents:
            base = Path(__file__).resolve().parents[2] / "reports"
    return base


def writable(base: Path) -> None:
    """The reports directory can take a bundle, or the run stops now with one line (exit 4), before any read."""
    try:
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=base, prefix=".bbws-write-test-"):
            pass
    except OSError as exc:
        raise pytest.UsageError(f"--reports {base}: cannot write there ({exc.strerror or type(exc).__name__}); "
                                "name a writable directory") from None


def not_a_gate_run(status: int) -> str | None:
    """Exit 4 (usage error, the account guard) and 5 (nothing selected) are not gate runs: their bundle
    records the attempt, is marked so, and does not move `latest`."""
    if status == pytest.ExitCode.USAGE_ERROR:
        return "not a gate run: it stopped before any check (exit 4: usage error or the account guard)"
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        return "not a gate run: no check was selected (exit 5)"
    return None


def _sign_key(config: pytest.Config) -> Any:
    path = getattr(config.option, "sign_key", None)
    if not path:
        return None
    from checks.evidence import signing
    try:
        return signing.load_private(Path(path))
    except signing.SigningError as exc:
        raise pytest.UsageError(str(exc)) from None


def _allowed_signers(config: pytest.Config) -> Any:
    path = getattr(config.option, "allowed_signers", None)
    if not path:
        return None
    if not getattr(config.option, "replay", None):
        raise pytest.UsageError("--allowed-signers checks a bundle's recorded approvals: use it with --replay DIR "
                                "(or python -m checks.evidence.index --allowed-signers)")
    from checks.evidence import allowed_signers
    try:
        return allowed_signers.load(config.invocation_params.dir / path)
    except allowed_signers.AllowedSignersError as exc:
        raise pytest.UsageError(f"--allowed-signers: {exc}") from None


def _register_junit(config: pytest.Config, path: Path) -> None:
    xml = junit_xml_writer(path, config, junit_suite_name(config))
    xml.pytest_terminal_summary = lambda terminalreporter: None  # the gate summary names the bundle instead
    config.pluginmanager.register(xml, "bbws-evidence-junitxml")


def junit_suite_name(config: pytest.Config) -> str:
    """The env's name, unless junit_suite_name was set (pytest's default is "pytest")."""
    name = config.getini("junit_suite_name")
    return config.stash[RUN].env.name if name in ("", "pytest") else name


def _register_html(config: pytest.Config, ev: Evidence) -> None:
    from checks.evidence.report import html_plugin
    report, hooks = html_plugin(ev, ev.work / "report.html")
    config.pluginmanager.register(report, "bbws-evidence-html")
    config.pluginmanager.register(hooks, "bbws-evidence-html-hooks")


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
        self._record(report)
        junit_properties(self.ev, report)

    def _record(self, report: pytest.TestReport) -> None:
        ev = self.ev
        _redact_report(report)
        record = getattr(report, "bbws", None)
        ev.saw_tests = True
        if record is not None or "issue" in getattr(report, "keywords", {}):
            ev.saw_checks = True
        if isinstance(record, CheckRecord):
            ev.records[report.nodeid] = record
        elif report.failed and report.nodeid not in ev.records:
            # a failure outside any catalog check (e.g. a crashed xdist worker): it could not be evaluated
            lines = (report.longreprtext or "").strip().splitlines()
            ev.records[report.nodeid] = CheckRecord.unevaluated(report.nodeid, report.when,
                                                                lines[-1] if lines else report.outcome)

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
        if msg not in self.ev.run.incomplete and getattr(exc, "bbws_reason", None) not in self.ev.run.incomplete:
            self.ev.incomplete.append(f"stopped by pytest.exit: {msg}")


@pytest.hookimpl(hookwrapper=True)
def pytest_report_to_serializable(report: Any) -> Generator[None, Any, None]:
    """xdist: a worker sends a check's record to the controller as a dict..."""
    outcome = yield
    data = outcome.get_result()
    if isinstance(data, dict) and isinstance(data.get("bbws"), CheckRecord):
        data["bbws"] = data["bbws"].to_dict()


@pytest.hookimpl(hookwrapper=True)
def pytest_report_from_serializable(data: dict[str, Any]) -> Generator[None, Any, None]:
    """...and the controller, which writes the evidence, makes it a record again."""
    outcome = yield
    report = outcome.get_result()
    if isinstance(getattr(report, "bbws", None), dict):
        report.bbws = CheckRecord.from_dict(report.bbws)


JUNIT_PROPERTIES = ("check_id", "severity", "resource", "outcome")
WAIVER_PROPERTIES = ("expires", "approved_by", "ticket", "justification", "status")  # as waiver_<name>


def junit_properties(ev: Evidence, report: pytest.TestReport) -> None:
    """Before junitxml writes a testcase (at teardown): the check's id, severity, resource and outcome."""
    record = ev.records.get(report.nodeid)
    if report.when != "teardown" or record is None:
        return
    have = {name for name, _ in report.user_properties}
    values = {"check_id": record.check, "severity": record.severity, "resource": record.resource,
              "outcome": record.outcome}
    if record.waiver is not None:
        values.update({f"waiver_{k}": record.waiver.get(k) for k in WAIVER_PROPERTIES})
    report.user_properties = [*report.user_properties,
                              *((k, str(v or "")) for k, v in values.items() if k not in have)]


def _redact_report(report: pytest.TestReport) -> None:
    values = redact.secrets()  # and credential-shaped text, even when no secret is in the environment
    if report.longrepr is not None and redact.contains(report.longreprtext, values):
        report.longrepr = redact.text(report.longreprtext, values)
    report.sections = [(redact.text(t, values), redact.text(c, values)) for t, c in report.sections]
    if getattr(report, "bbws", None) is not None:
        report.bbws = redact.record(report.bbws, values)


# ----- the decision and the bundle -----

@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    ev = evidence_of(session.config)
    if ev is None or not ev.gated or started_elsewhere(session.config):
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


def started_elsewhere(config: pytest.Config) -> bool:
    """pytest was started outside the checkout and found nothing: not a run of the suite, no bundle."""
    from checks.plugin.options import NOTHING_HERE

    return NOTHING_HERE in config.stash


def _decide_and_write(ev: Evidence, session: pytest.Session) -> None:
    if session.shouldfail or session.shouldstop:
        ev.incomplete.append(f"stopped early: {session.shouldfail or session.shouldstop}")
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        ev.incomplete.append("pytest hit an internal error")
    ev.not_gate = not_a_gate_run(int(session.exitstatus))
    ev.gate = decide(ev.records.values(), ev.reasons_incomplete())
    ev.finished = iso(now())
    started = parse_time(ev.run.started) or dt.datetime.now(dt.UTC)
    ev.dir = bundle.new_dir(ev.base, ev.run.env.name, started)
    meta = ev.meta()
    governance = govern(ev)
    bundle.write_json(ev.dir / "results.json", results_json(ev, meta))
    bundle.write_json(ev.dir / "gate.json", {"env": meta["env"], "run_id": meta["run_id"], "started": meta["started"],
                                             "finished": meta["finished"], "replay_of": meta["replay_of"],
                                             "gate_run": ev.not_gate is None, "not_gate_run": ev.not_gate,
                                             **({"selection": ev.run.selection()} if ev.run.partial else {}),
                                             **ev.gate.to_dict(), **governance})
    snap = ev.run.snapshot
    data = snap.to_dict() if snap is not None else {"meta": {"env_name": ev.run.env.name, "run_id": ev.run.run_id,
                                                             "started": ev.run.started}, "observations": []}
    bundle.write_json(ev.dir / "snapshot.json", data, sort_keys=False)
    ci_outputs(ev, meta)
    session.exitstatus = exit_status(ev.gate, session.exitstatus)


def ci_outputs(ev: Evidence, meta: dict[str, Any]) -> None:
    """results.sarif in the bundle; under GitHub Actions the job summary and the workflow annotations."""
    assert ev.dir is not None and ev.gate is not None
    records = list(ev.records.values())
    bundle.write_json(ev.dir / "results.sarif", sarif.sarif(records, meta), sort_keys=False)
    standard_exports(ev.dir, records, meta)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(redact.text(markdown(ev.gate, meta, github_links(os.environ), since_of(ev), markdown_lines(ev))))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        ev.annotations = [redact.text(line) for line in sarif.annotations(records)]


OCSF_FILE, ASFF_FILE = "findings.ocsf.json", "findings.asff.json"


def export_names() -> list[str]:
    """The standard exports every bundle holds (beside results.json, junit.xml and results.sarif)."""
    return [*csv_export.names(), OCSF_FILE, ASFF_FILE]


def standard_exports(directory: Path, records: list[CheckRecord], meta: dict[str, Any]) -> None:
    """results.csv, compliance_<framework>.csv, findings.ocsf.json (OCSF) and findings.asff.json (ASFF)."""
    csv_export.write(directory, records)
    bundle.write_json(directory / OCSF_FILE, ocsf.ocsf(records, meta), sort_keys=False)
    bundle.write_json(directory / ASFF_FILE, asff.asff(records, meta), sort_keys=False)


def results_json(ev: Evidence, meta: dict[str, Any]) -> dict[str, Any]:
    """The stable results.json (schema 1)."""
    assert ev.gate is not None
    results = [r.result() for _, r in sorted(ev.records.items())]
    return {"schema": RESULTS_SCHEMA, "env": meta["env"], "decision": ev.gate.decision, "complete": ev.gate.complete,
            "started": meta["started"], "finished": meta["finished"], "run_id": meta["run_id"],
            "replay_of": meta["replay_of"], "gate_run": ev.not_gate is None, "counts": ev.gate.counts["by_outcome"],
            "results": results}


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
        "gate_run": ev.not_gate is None, "replay_of": replay})
    if ev.sign_key is not None:
        from checks.evidence import signing
        signing.sign_bundle(ev.dir, ev.sign_key)
        ev.signature = signing.fingerprint(ev.sign_key.public_key())
    if ev.not_gate is None:
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
    terminalreporter.write_sep("=", f"BBWS gate: {decision_label(gate)}", **{colour: True, "bold": True})
    for line in terminal_lines(gate, str(ev.dir) if ev.dir else None):
        terminalreporter.write_line(line)
    for line in text_lines(ev):
        terminalreporter.write_line(line)
    if ev.error:
        terminalreporter.write_line(f"{ev.error} -- the decision is NO-GO", red=True)
    elif ev.manifest is not None:
        terminalreporter.write_line(f"manifest: {len(ev.manifest['files'])} files, SHA-256 each "
                                    f"({', '.join(ev.manifest['files'])})")
        if ev.signature:
            terminalreporter.write_line(f"signed:   manifest.json.sig, Ed25519 key {ev.signature} "
                                        "(ssh-keygen -Y verify -n bbws-evidence)")
    if ev.run.partial:
        terminalreporter.write_line(f"selection: {selection_label(ev.run.selection())} (not every check ran)",
                                    yellow=True)
    if ev.not_gate:
        terminalreporter.write_line(f"{ev.not_gate}; `latest` was not moved", yellow=True)
    if gate.decision == NO_GO:
        terminalreporter.write_line("exit status is non-zero: the gate says NO-GO", red=True)
    fence = config.pluginmanager.get_plugin(FENCE)
    if fence is not None:  # GitHub Actions turns these into annotations on the files
        fence.commands(terminalreporter, list(ev.annotations))
    else:
        for line in ev.annotations:
            terminalreporter.write_line(line)
    _say_exit_once(terminalreporter, gate)
    return result


def _say_exit_once(terminalreporter: Any, gate: Any) -> None:
    """pytest.exit's message (e.g. missing credentials) is already a gate reason: pytest need not repeat it."""
    said = interrupt_message(terminalreporter)
    if said.startswith("_pytest.outcomes.Exit: ") and any(m and m in said for m in gate.incomplete):
        forget_interrupt_message(terminalreporter)
