"""The one hook that decides a check's outcome and attaches its record to the report.

InSpec's outcomes: a view that raises `Missing` makes the check *skipped* (another check reports the
absent resource), or an *error* when that reporter is not part of the run; `Unverifiable` (the data
could not be read) is an *error*; an assertion is a *failure*, or *waived* when an active waiver (an
accepted risk, checks/core/waivers.py) matches it; a teardown that fails after a check ran makes it an
*error* (its evidence cannot be trusted). Any other exception a check raises (a RecursionError, a KeyError
in a view, a MemoryError) is an *error* too, never the failure of the check it would mask: only an
assertion fails a check, and no waiver applies to an error. A verdict (Missing, Unverifiable) gets its
reason as text, with no traceback.
"""

from __future__ import annotations

import pytest

from checks.core.outcome import Missing, Unverifiable
from checks.core.record import CheckRecord, Outcome
from checks.evidence.ci_text import one_line
from checks.plugin.records import check_record, first_part
from checks.plugin.run import RUN

RECORD = pytest.StashKey[CheckRecord]()  # the record an item's call (or setup) produced
RUNBOOK_SECTION = "runbook "  # the report section added to a failing check (the report shows it in the card)


def reporters(items: list[pytest.Item]) -> dict[str, str]:
    """{"DDB-01/table": "test_table_exists"}: the tests that report a missing resource, by what they report.
    A test declares it with `@pytest.mark.issue("DDB-01", reports="table")`; a view names it in Missing's `by`."""
    out = {}
    for item in items:
        marker = item.get_closest_marker("issue")
        if marker is not None and marker.kwargs.get("reports"):
            out[f"{marker.args[0]}/{marker.kwargs['reports']}"] = getattr(item, "originalname", item.name)
    return out


class Outcomes:
    """A plugin object (registered by checks.plugin): pytest's makereport for every catalog check."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        if item.get_closest_marker("issue") is None:
            return None
        exc = call.excinfo.value if call.excinfo else None
        run = item.config.stash[RUN]
        if isinstance(exc, Missing) and exc.by and exc.by not in run.reporters:
            who = run.reporter_names.get(exc.by) or f"the test that reports it ({exc.by})"
            exc = Unverifiable(f"{exc.reason}, and {who} is not part of this run")
        if call.when == "call" and _crashed(exc):
            exc = Unverifiable(f"could not be evaluated: the check raised {type(exc).__name__}: "
                               f"{_short(exc)}")
        if isinstance(exc, (Missing, Unverifiable)):
            report = _verdict_report(item, call, exc)
        else:
            report = pytest.TestReport.from_item_and_call(item, call)
        if call.when == "teardown":
            _teardown(item, report)
            return report
        if call.when == "setup" and report.passed:
            return report
        outcome: Outcome
        message = ""
        if isinstance(exc, Missing):
            outcome, message = "skipped", exc.reason
            path, line, _ = item.reportinfo()
            report.outcome = "skipped"
            report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {exc.reason}")
        elif isinstance(exc, Unverifiable):
            outcome, message = "error", exc.reason
            report.outcome = "failed"
            report.when = "setup"  # pytest's error outcome: the check could not be evaluated
            report.longrepr = f"ERROR (could not be evaluated): {exc.reason}"
        elif report.skipped:
            outcome = "skipped"
            if isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
            message = first_part(exc) if exc is not None else ""
        else:
            outcome = "passed"
        record = check_record(item, outcome, message)
        if run.waivers is not None:
            record = run.waivers.apply(record)
        if record.outcome == "waived":  # pytest's own word for an accepted failure: xfailed (JUnit <skipped>)
            report.outcome = "skipped"
            report.wasxfail = f"waived ({record.waiver['where']}, until {record.waiver['expires']}): " \
                              f"{record.waiver['justification']}"
        item.stash[RECORD] = record
        report.bbws = record  # type: ignore[attr-defined]
        if record.outcome == "failed":
            rb = record.runbook
            rb = {k: one_line(v) for k, v in rb.items()}  # printed at column 0: one line per field, always
            report.sections.append((f"{RUNBOOK_SECTION}{rb['id']}: {rb['title']}",
                                    f"symptom:     {rb['symptom']}\nroot cause:  {rb['cause']}\n"
                                    f"remediation: {rb['resolution']}\nprevention:  {rb['prevention']}"))
        return report


def _crashed(exc: BaseException | None) -> bool:
    """An exception that is neither an assertion, a verdict nor one of pytest's own outcomes (skip, xfail,
    fail): the check did not judge anything, so it must not read as a finding."""
    own = (pytest.skip.Exception, pytest.fail.Exception, pytest.xfail.Exception, pytest.exit.Exception)
    return isinstance(exc, Exception) and not isinstance(exc, (AssertionError, Missing, Unverifiable, *own))


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _teardown(item: pytest.Item, report: pytest.TestReport) -> None:
    """A check whose teardown failed: its evidence cannot be trusted, so it is an error."""
    known = item.stash.get(RECORD, None)
    if not report.failed or known is None:
        return
    lines = (report.longreprtext or "").strip().splitlines()
    detail = lines[-1] if lines else report.outcome
    message = f"{known.message}; {report.when} failed: {detail}".lstrip("; ")
    report.bbws = known.replace(outcome="error", message=message)  # type: ignore[attr-defined]


def _verdict_report(item: pytest.Item, call: pytest.CallInfo[None], exc: BaseException) -> pytest.TestReport:
    """The report of a verdict: its reason as text, no traceback (pytest would format one, source lines
    and all, per test, only for it to be replaced)."""
    from checks.plugin.pytest_internals import captured_sections

    return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", str(exc),
                             call.when, captured_sections(item), call.duration, call.start, call.stop,
                             list(item.user_properties))
