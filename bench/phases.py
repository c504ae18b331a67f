"""A pytest plugin for bench/gate_profile.py: wall-clock marks for each phase of one gate run.

Loaded with `-p phases` (bench/ on PYTHONPATH). The outer process puts its own start time in
PHASES_T0; the marks (seconds since then) and the CPU time are written to PHASES_OUT as JSON.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import time
from typing import Any

import pytest

T0 = float(os.environ.get("PHASES_T0") or time.time())
marks: dict[str, float] = {"plugin_imported": time.time() - T0}
spans: dict[str, float] = {}


def mark(name: str) -> None:
    marks.setdefault(name, time.time() - T0)


def timed(owner: Any, attr: str, name: str) -> None:
    """Accumulate the wall time spent in owner.attr under spans[name]."""
    original = getattr(owner, attr)

    @functools.wraps(original)  # pluggy reads a hook's argument names through __wrapped__
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spans[name] = spans.get(name, 0.0) + time.perf_counter() - started

    setattr(owner, attr, wrapper)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    mark("configure")
    from pytest_html import basereport

    from checks.evidence import hooks, report
    from checks.plugin import live

    timed(report, "write_page", "html_render")  # renders and writes report.html, streamed
    timed(basereport.BaseReport, "pytest_runtest_logreport", "html_per_test")
    timed(hooks, "_decide_and_write", "bundle_json")
    timed(hooks, "_seal", "bundle_seal")
    timed(live, "collect_all", "aws_collection")


def pytest_collection_finish(session: pytest.Session) -> None:
    mark("tests_collected")


def pytest_bbws_world_ready(world: Any) -> None:
    mark("world_ready")
    spans["world_build"] = world.start_seconds


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    mark("first_test")


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    try:
        return (yield)
    finally:
        mark("tests_done")  # before any sessionfinish (the bundle is written in one)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    mark("unconfigured")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"marks": marks, "spans": spans, "cpu_s": usage.ru_utime + usage.ru_stime,
           "peak_rss_mb": usage.ru_maxrss / 1024}
    path = os.environ.get("PHASES_OUT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
