"""The plugin's hooks in the suite's own runs (registered by `checks.plugin` only then). State lives in `run`,
options in `options`, the live start in `live`, xdist sharing in `xdist`, check records in `records`, the common
fixtures in `fixtures`.
"""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Any

import pytest

from checks import areas
from checks.core.env_model import MAX_CONCURRENCY
from checks.plugin.live import has_checks, prepare_snapshot, shared_snapshot_path
from checks.plugin.options import check_markexpr, env_name, load_env, marker_name, run_options
from checks.plugin.outcomes import Outcomes, reporters
from checks.plugin.progress import ProgressPlugin
from checks.plugin.replaying import ORIGINAL, original_of, replay_selection, replayed
from checks.plugin.run import RUN, Run, canary_skip_reason, is_worker
from checks.plugin.selection import LIST_CHECKS, by_severity, listing, parse_severity
from checks.plugin.waiving import waivers_for
from checks.plugin.xdist import XdistController

PLUGINS = ("checks.plugin.fixtures", "checks.plugin.selected", *areas.fixture_plugins(), "checks.evidence.hooks",
           "checks.plugin.signals")  # SIGTERM as Ctrl-C, and the started-run marker


MARKERS = {
    "smoke": "fast, read-only immediate checks (the post-deploy gate runs these)",
    "extended": "slower or deeper checks (recovery points, replicated objects)",
    "canary": "writes canary items/objects; runs only with --canary, and in PROD only when the env allows",
    "issue(id, reports=None)": "the catalog id this assertion belongs to, e.g. issue(\"DDB-03\"); reports=\"table\" "
                               "when it reports that resource missing (a view's Missing(by=\"DDB-01/table\"))",
}


def suite_markers() -> dict[str, str]:
    return {**MARKERS, **areas.markers()}


def pytest_configure(config: pytest.Config) -> None:
    global _frozen
    if _frozen:  # an earlier run in this process (pytester) froze its heap: collectable again
        gc.unfreeze()
        _frozen = False
    freeze_at_exit()
    for name, text in suite_markers().items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if config.option.help:
        return
    opt = config.option
    replay = Path(opt.replay) if opt.replay else None
    replayed_snapshot = None
    if replay is not None:
        env, replayed_snapshot, verified = replayed(replay, opt.verify_key)
        config.stash[ORIGINAL] = original_of(replay, replayed_snapshot, verified.signer)
    elif opt.verify_key:
        raise pytest.UsageError("--verify-key checks a bundle's signature: use it with --replay DIR")
    else:
        env = load_env(opt.environments, env_name(config), config.rootpath)
    if opt.concurrency is not None:
        if not 1 <= opt.concurrency <= MAX_CONCURRENCY:
            raise pytest.UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, got {opt.concurrency}")
        env = env.model_copy(update={"concurrency": opt.concurrency})
    run = Run(env=env, options=run_options(env, opt), args=list(config.invocation_params.args),
              canary=bool(replayed_snapshot.meta.get("canary")) if replayed_snapshot else bool(opt.canary),
              replay=replay, snapshot=replayed_snapshot)
    if parse_severity(opt.severity):
        run.selectors["--severity"] = ",".join(parse_severity(opt.severity))
    if opt.list_checks:  # the catalog, from collection alone: no AWS read, no world, no bundle
        config.stash[LIST_CHECKS] = True
        opt.collectonly = True
    if ORIGINAL in config.stash:  # a replay says what its original said about being incomplete
        run.incomplete.extend(config.stash[ORIGINAL].incomplete)
    if opt.fault:
        if not env.embedded:
            raise pytest.UsageError(f"--fault needs the embedded world; env {env.name!r} is a real account")
        from checks.world.faults import parse_faults  # moto: only for drills
        try:
            run.faults = parse_faults(opt.fault, env)
        except ValueError as exc:
            raise pytest.UsageError(f"--fault: {exc}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        run.snapshot_path = Path(workerinput["bbws_snapshot"])
        run.endpoint_url = workerinput.get("bbws_endpoint") or None
        run.run_id = workerinput["bbws_run_id"]
        run.started = workerinput.get("bbws_started") or run.started
    run.waivers = waivers_for(config, env, run.started, replayed_snapshot)
    config.stash[RUN] = run
    for name in PLUGINS:
        config.pluginmanager.import_plugin(name)
    config.pluginmanager.register(Outcomes(), "bbws-outcomes")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistController(run, config), "bbws-xdist")
    if not is_worker(config):
        config.pluginmanager.register(ProgressPlugin(config), "bbws-progress")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None:
        return
    check_markexpr(session.config, sorted({marker_name(m) for m in suite_markers()}))
    say_replay(session.config)
    if not is_worker(session.config):
        run.snapshot_path = shared_snapshot_path(session.config, run)


def say_replay(config: pytest.Config) -> None:
    original = config.stash.get(ORIGINAL, None)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if original is not None and terminal is not None and not is_worker(config):
        terminal.write_line(f"replay of {original.run_id}: {original.files} files verified")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Collect (or load) the snapshot before the first check runs."""
    config = session.config
    run = config.stash.get(RUN, None)
    if run is None or config.option.collectonly or is_worker(config) or run.passive or not has_checks(session.items):
        return
    prepare_snapshot(config, run, session.items)
    # The items, the world and the snapshot live until the end: out of the collector's sight, the
    # full collections during the run, and the five pytest makes at its cleanup (looking for
    # unraisable exceptions), stop walking them (~1 s of a 4 s gate; ~40 MB of peak at N = 1000).
    # A later run in the same process (pytester) gives the heap back at its start.
    global _frozen
    gc.freeze()
    _frozen = True


_frozen = False  # this process froze the heap for a run (see pytest_runtestloop)
_exit_freeze = False  # at interpreter exit, freeze whatever is left (registered by the first suite run)


def freeze_at_exit() -> None:
    """The final collection then has nothing to walk (it took ~1 s of a 4 s gate, for memory the OS takes back
    anyway). Files are closed by then: every evidence file is written with a context manager and fsync'ed."""
    global _exit_freeze
    if not _exit_freeze:
        atexit.register(gc.freeze)
        _exit_freeze = True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Canary checks run only with --canary, and only where the env allows writes."""
    run = config.stash.get(RUN, None)
    if run is None:
        return
    run.reporter_names = reporters(items)
    replay_selection(config, items)
    run.deselected += by_severity(config, items, tuple(run.selectors.get("--severity", "").split(",")) if
                                  run.selectors.get("--severity") else ())
    reason = canary_skip_reason(run)
    if reason:
        for item in items:
            if item.get_closest_marker("canary"):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The final selection (after -m / -k), for Missing's 'reported by' rule; --list-checks prints the
    catalog in place of pytest's list of items."""
    run = session.config.stash.get(RUN, None)
    if run is None:
        return
    if session.config.stash.get(LIST_CHECKS, False):
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        severities = tuple(run.selectors["--severity"].split(",")) if "--severity" in run.selectors else ()
        for line in listing(session.items, severities):
            terminal.write_line(line) if terminal is not None else print(line)
        session.items = []  # pytest's own list of them would follow
        return
    run.reporters = set(reporters(session.items))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """--list-checks lists the catalog even when -m or --severity leave no test item: that is not a failure."""
    if session.config.stash.get(LIST_CHECKS, False) and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None and run.world is not None:
        run.world.stop()
        run.world = None


# ----- the reads each check makes (its record's observations) -----

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    run = item.config.stash.get(RUN, None)
    snap = run.snapshot if run else None
    if snap is not None:
        snap.reads = []
    yield
    if snap is not None:
        snap.reads = None
