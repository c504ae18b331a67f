"""Evidence hooks: collect every check's record, decide the gate, write the bundle once.

Lifecycle (controller only; xdist workers do nothing here but record their selection):
- pytest_configure: register our own junitxml and self-contained pytest-html writers aimed
  at a temporary directory (independent of the user's --junitxml / --html);
- pytest_runtest_logreport: redact secrets from the report, keep `report.bbws`;
- pytest_sessionfinish (an inner wrapper): before the other implementations run, decide the
  gate and the run's kind (checks.evidence.runkind), write results.json, gate.json,
  snapshot.json and results.sarif into the bundle's hidden staging sibling, and set the exit
  status; after them (pytest-html and junitxml have written their files), move those in,
  write manifest.json last (signed when a key is given, and for a replay only when its source
  verified), rename the bundle onto its name, then move `latest` (a gate run only) and write
  the job summary. A bundle that cannot be sealed is made NO-GO (bundle.unseal).
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
from checks.evidence import asff, bundle, ci_text, csv_export, keys, ocsf, provenance, redact, sarif, signing
from checks.evidence.changes import previous_gate_run
from checks.evidence.evidence import CHECKOUT, EVIDENCE, Evidence, evidence_of
from checks.evidence.gate import NO_GO, RAN, decide, exit_status
from checks.evidence.governance import govern, markdown_lines, since_of, text_lines
from checks.evidence.runkind import RunKind, kind_of
from checks.evidence.summary import COLOUR, decision_label, github_links, markdown, terminal_lines
from checks.plugin.pytest_internals import interrupt_message, junit_xml_writer, restate_interrupt_message
from checks.plugin.replaying import ORIGINAL
from checks.plugin.run import RUN, Run, is_worker

RESULTS_SCHEMA = 1
FENCE = "bbws-command-fence"


def _active(config: pytest.Config) -> bool:
    return (RUN in config.stash and not is_worker(config) and not config.option.collectonly
            and not getattr(config.option, "help", False))


def pytest_configure(config: pytest.Config) -> None:
    if RUN in config.stash:  # what was selected, workers included (the run's kind depends on it)
        config.pluginmanager.import_plugin("checks.plugin.selected")
    if not _active(config):
        return
    run = config.stash[RUN]
    base = reports_base(config, run)
    ev = Evidence(config=config, run=run, base=base, work=Path(tempfile.mkdtemp(prefix="bbws-evidence-")))
    ev.sign_key = _sign_key(config)
    ev.signers = _allowed_signers(config)
    ev.secrets = redact.secrets()
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
    into the bundle it replays (the checkout's reports/ then). A place no bundle can be written is a usage
    error before anything is read."""
    reports = getattr(config.option, "reports", None)
    base = ((config.invocation_params.dir / reports) if reports else config.rootpath / "reports").resolve()
    if run.replay is not None and not reports:
        src = bundle.resolve(run.replay).resolve()
        if base == src or src in base.parents:
            base = Path(__file__).resolve().parents[2] / "reports"
    problem = bundle.unwritable(base)
    if problem:
        raise pytest.UsageError(f"--reports {reports}: {problem}" if reports else
                                f"cannot write evidence bundles to {base}: {problem}; name a directory with --reports")
    return base


def not_a_gate_run(status: int) -> str | None:
    """Exit 4 (usage error, the account guard) and 5 (nothing selected) are not gate runs: their bundle
    records the attempt, is marked so, and does not move `latest` (checks.evidence.runkind decides the rest)."""
    if status == pytest.ExitCode.USAGE_ERROR:
        return "not a gate run: it stopped before any check (exit 4: usage error or the account guard)"
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        return "not a gate run: no check was selected (exit 5)"
    return None


def _sign_key(config: pytest.Config) -> Any:
    path = getattr(config.option, "sign_key", None)
    if not path:
        return None
    try:
        return keys.load_private(Path(path))
    except keys.KeyError_ as exc:
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
        _redact_report(report, ev.secrets)
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


def _redact_report(report: pytest.TestReport, values: list[str]) -> None:
    """The environment's secret values (read once, at configure) and credential-shaped text, masked."""
    if report.longrepr is not None and redact.contains(report.longreprtext, values):
        report.longrepr = redact.text(report.longreprtext, values)
    report.sections = [(redact.text(t, values), redact.text(c, values)) for t, c in report.sections]
    if getattr(report, "bbws", None) is not None:
        report.bbws = redact.record(report.bbws, values)


# ----- the decision and the bundle -----

@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    ev = evidence_of(session.config)
    if ev is None or not ev.gated:
        return (yield)
    try:
        _decide_and_write(ev, session)
    except OSError as exc:
        _not_sealed(ev, session, f"could not write the evidence bundle: {exc}")
    try:
        return (yield)
    finally:
        if ev.error is None:
            try:
                _seal(ev)
            except OSError as exc:
                _not_sealed(ev, session, f"could not complete the evidence bundle: {exc}")
        _after_seal(ev, session)


def run_kind(ev: Evidence, status: int) -> RunKind:
    """What this run is (checks.evidence.runkind), from what it selected, read and evaluated."""
    run, snap = ev.run, ev.run.snapshot
    caller = ev.caller()
    return kind_of(selection=run.selection, stopped=not_a_gate_run(status),
                   replay_of=str(snap.meta.get("run_id") or "?") if run.replay is not None and snap else None,
                   replay_made=run.started, faults=run.faults,
                   offline=snap.meta.get("offline") if snap is not None else None,
                   caller_verified=(caller.get("account") == run.env.account) if caller else None,
                   evaluated=any(r.outcome in RAN for r in ev.records.values()),
                   interrupted=bool(ev.reasons_incomplete()))


def _decide_and_write(ev: Evidence, session: pytest.Session) -> None:
    if session.shouldfail or session.shouldstop:
        ev.incomplete.append(f"stopped early: {session.shouldfail or session.shouldstop}")
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        ev.incomplete.append("pytest hit an internal error")
    ev.gate = decide(ev.records.values(), ev.reasons_incomplete())
    ev.kind = run_kind(ev, int(session.exitstatus))
    ev.not_gate = None if ev.kind.gate_run else ev.kind.label
    ev.finished = iso(now())
    started = parse_time(ev.run.started) or dt.datetime.now(dt.UTC)
    ev.dir = bundle.new_dir(ev.base, ev.run.env.name, started)
    ev.staging = bundle.staging_of(ev.dir)
    ev.staging.mkdir()
    meta, portable = ev.meta(), ev.portable()
    governance = govern(ev, ev.staging)
    bundle.write_json(ev.staging / "results.json", results_json(ev, meta), portable=portable)
    bundle.write_json(ev.staging / "gate.json", gate_json(ev, meta, governance), portable=portable)
    snap = ev.run.snapshot
    data = snap.to_dict() if snap is not None else {"meta": {"env_name": ev.run.env.name, "run_id": ev.run.run_id,
                                                             "started": ev.run.started}, "observations": []}
    bundle.write_json(ev.staging / "snapshot.json", provenance.portable_snapshot(data, CHECKOUT), sort_keys=False)
    records = list(ev.records.values())
    bundle.write_json(ev.staging / "results.sarif", sarif.sarif(records, meta), sort_keys=False, portable=portable)
    standard_exports(ev.staging, records, meta)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        ev.annotations = [redact.text(line) for line in sarif.annotations(records)]
    session.exitstatus = exit_status(ev.gate, session.exitstatus)


def gate_json(ev: Evidence, meta: dict[str, Any], governance: dict[str, Any]) -> dict[str, Any]:
    """gate.json: the decision, what kind of run made it (and its selection), its provenance, and its governance
    (accepted risks, changes since the previous gate run, approvals)."""
    assert ev.gate is not None and ev.kind is not None
    return {"env": meta["env"], "run_id": meta["run_id"], "started": meta["started"], "finished": meta["finished"],
            "replay_of": meta["replay_of"], "not_gate_run": ev.not_gate, **ev.kind.to_dict(),
            "provenance": meta["provenance"], **ev.gate.to_dict(), **governance}


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
    assert ev.gate is not None and ev.kind is not None
    results = [r.result() for _, r in sorted(ev.records.items())]
    return {"schema": RESULTS_SCHEMA, "env": meta["env"], "decision": ev.gate.decision, "complete": ev.gate.complete,
            "started": meta["started"], "finished": meta["finished"], "run_id": meta["run_id"],
            "replay_of": meta["replay_of"], "gate_run": ev.kind.gate_run, "kind": ev.kind.kind,
            "counts": ev.gate.counts["by_outcome"], "results": results}


def _replay_source(ev: Evidence, meta: dict[str, Any]) -> dict[str, Any] | None:
    """What a replay's manifest says of its source: path, run id, manifest digest, decision, and the pinned key its
    signature verified with (None: it was not verified against a pinned key)."""
    if ev.run.replay is None:
        return None
    src = bundle.resolve(ev.run.replay)
    original = ev.config.stash.get(ORIGINAL, None)
    digest = bundle.sha256(src / bundle.MANIFEST) if (src / bundle.MANIFEST).is_file() else None
    return {"path": meta["replay_of"], "run_id": original.run_id if original else None, "manifest_sha256": digest,
            "decision": original.decision if original else None,
            "signer": original.signer if original else None}


def _seal(ev: Evidence) -> None:
    """After pytest-html and junitxml wrote their files: move them in, write the manifest (and sign it), then
    rename the bundle into place."""
    assert ev.dir is not None and ev.staging is not None and ev.gate is not None and ev.kind is not None
    portable = ev.portable()
    bundle.adopt(ev.work / "report.html", ev.staging / "report.html", portable=portable)
    bundle.adopt(ev.work / "junit.xml", ev.staging / "junit.xml", portable=portable)
    meta = ev.meta()
    replay = _replay_source(ev, meta)
    ev.manifest = bundle.write_manifest(ev.staging, {
        "suite": {"name": "bbws-checks", "version": __version__, "git_sha": meta["git_sha"],
                  "dirty": meta["provenance"]["suite_dirty"]},
        "env": meta["env"], "run_id": meta["run_id"], "account": meta["account"], "region": meta["region"],
        "caller": {"arn": meta["caller_arn"], "account": meta["caller_account"], "region": meta["caller_region"]},
        "started": meta["started"], "finished": meta["finished"], "command": meta["command"],
        "decision": ev.gate.decision, "complete": ev.gate.complete, "incomplete": ev.gate.incomplete,
        **ev.kind.to_dict(), "provenance": {k: meta["provenance"][k] for k in ("infra", "ci")},
        "replay_of": replay}, portable=portable)
    if ev.sign_key is not None and replay is not None and not replay["signer"]:
        # a replay vouches only for a source whose signature verified: never sign what anyone could have re-hashed
        ev.unsigned = ("not signed: a replay is signed only when its source verified against a pinned key "
                       "(--replay DIR --verify-key PUB)")
    elif ev.sign_key is not None:
        signing.sign_bundle(ev.staging, ev.sign_key)
        ev.signature = keys.fingerprint(ev.sign_key.public_key())
    bundle.seal(ev.staging, ev.dir)
    ev.staging = None


def _not_sealed(ev: Evidence, session: pytest.Session, why: str) -> None:
    """The bundle could not be written or sealed: it holds no decision but NO-GO, and the run is NO-GO."""
    ev.error = why
    ev.manifest = None
    ev.gate = decide(ev.records.values(), [*ev.reasons_incomplete(), f"the evidence bundle was not sealed: {why}"])
    if ev.dir is not None and ev.staging is not None and ev.staging.exists():
        try:
            ev.dir = bundle.unseal(ev.staging, ev.dir, why)
        except OSError:
            pass  # the hidden .partial stays; no directory named like a bundle holds it
    elif ev.dir is not None and ev.dir.is_dir() and not any(ev.dir.iterdir()):
        ev.dir.rmdir()
    session.exitstatus = exit_status(ev.gate, int(session.exitstatus) or pytest.ExitCode.TESTS_FAILED)


def _after_seal(ev: Evidence, session: pytest.Session) -> None:
    """A sealed gate run moves `latest` (never over something that is not the suite's pointer); then the job
    summary, which says what the run is and whether its bundle was sealed."""
    if ev.error is None and ev.kind is not None and ev.kind.gate_run and ev.dir is not None:
        try:
            bundle.point_latest(ev.dir)
        except OSError as exc:
            ev.latest_error = str(exc)
            session.exitstatus = session.exitstatus or pytest.ExitCode.TESTS_FAILED
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary and ev.gate is not None:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(redact.text(markdown(ev.gate, ev.meta(), github_links(os.environ), since_of(ev), markdown_lines(ev),
                                         problems=[p for p in (ev.error, ev.latest_error, ev.unsigned) if p])))


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
    kind = "" if ev.kind is None or ev.kind.gate_run else f" ({ev.kind.label})"
    terminalreporter.write_sep("=", f"BBWS gate: {decision_label(gate)}{kind}", **{colour: True, "bold": True})
    for line in terminal_lines(gate, str(ev.dir) if ev.dir else None, ev.meta()):
        terminalreporter.write_line(line)
    for line in text_lines(ev):
        terminalreporter.write_line(line)
    if ev.error:
        terminalreporter.write_line(f"{ev.error} -- the bundle was not sealed and the decision is NO-GO", red=True)
    elif ev.manifest is not None:
        terminalreporter.write_line(f"manifest: {len(ev.manifest['files'])} files, SHA-256 each "
                                    f"({', '.join(ev.manifest['files'])})")
        if ev.signature:
            terminalreporter.write_line(f"signed:   manifest.json.sig, Ed25519 key {ev.signature} "
                                        "(ssh-keygen -Y verify -n bbws-evidence)")
        elif ev.unsigned:
            terminalreporter.write_line(f"unsigned: {ev.unsigned}", yellow=True)
    if ev.not_gate:
        said = ev.not_gate if ev.not_gate.startswith("not a gate run") else f"not a gate run: {ev.not_gate}"
        terminalreporter.write_line(f"{said}; `latest` was not moved", yellow=True)
    if ev.latest_error:
        terminalreporter.write_line(f"latest:   {ev.latest_error}", red=True, bold=True)
    if gate.decision == NO_GO:
        terminalreporter.write_line("exit status is non-zero: the gate says NO-GO", red=True)
    fence = config.pluginmanager.get_plugin(FENCE)
    if fence is not None:  # GitHub Actions turns these into annotations on the files
        fence.commands(terminalreporter, list(ev.annotations))
    else:
        for line in ev.annotations:
            terminalreporter.write_line(line)
    _say_exit_plainly(terminalreporter)
    return result


EXIT_PREFIX = "_pytest.outcomes.Exit: "


def _say_exit_plainly(terminalreporter: Any) -> None:
    """A stop (the account guard, an unreachable endpoint) ends on its own words, not on pytest's exception name."""
    said = interrupt_message(terminalreporter)
    if said.startswith(EXIT_PREFIX):
        restate_interrupt_message(terminalreporter, said[len(EXIT_PREFIX):])
