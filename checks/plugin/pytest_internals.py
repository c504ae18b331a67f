"""The private pytest and pytest-html names the plugin relies on, each used here and nowhere else.

pyproject.toml pins both; selftest/test_pytest_internals.py fails, naming the internal, when an upgrade
renames or changes one. The private modules are imported where they are used (as before): pytest-html
is optional, and an import at plugin load would cost every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def captured_sections(item: pytest.Item) -> list[tuple[str, str]]:
    """The captured output sections of an item, as pytest's own report would carry them."""
    return [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]


# ----- rootdir and inifile (checks.plugin.options.pytest_load_initial_conftests) -----

def rootdir_and_inifile(*, inifile: str | None, override_ini: Sequence[str] | None, args: Sequence[str],
                        rootdir_cmd_arg: str | None, invocation_dir: Path) -> tuple[Path, Path | None, Any, Any]:
    """(rootpath, inipath, ini config, ignored config files) as pytest itself picks them for these args."""
    from _pytest.config.findpaths import determine_setup

    return determine_setup(inifile=inifile, override_ini=override_ini, args=args, rootdir_cmd_arg=rootdir_cmd_arg,
                           invocation_dir=invocation_dir)


def set_rootdir_and_inifile(config: pytest.Config, rootpath: Path, inipath: Path | None, inicfg: Any,
                            ignored: Any) -> None:
    """Give an early config another rootdir and inifile; its ini values are read again from the new inifile."""
    config._rootpath, config._inipath, config._inicfg = rootpath, inipath, inicfg
    config._ignored_config_files = ignored
    config._inicache.clear()


# ----- -m expressions (checks.plugin.options.check_markexpr) -----

def marker_names(expr: str) -> list[str] | None:
    """The marker names a `-m` expression uses (not a keyword argument's name); None when pytest cannot lex it."""
    from _pytest.mark.expression import Scanner, TokenType

    try:
        tokens = list(Scanner(expr).lex(expr))
    except Exception:  # noqa: BLE001  (pytest reports a malformed expression itself)
        return None
    return [t.value for i, t in enumerate(tokens) if t.type == TokenType.IDENT
            and not (i + 1 < len(tokens) and tokens[i + 1].type == TokenType.EQUAL)]


def markexpr_matcher(expr: str) -> Callable[[pytest.Item], bool]:
    """Whether `-m expr` alone keeps an item (as pytest's own deselect_by_mark judges it); every item for ""."""
    if not expr:
        return lambda item: True
    from _pytest.mark import MarkMatcher
    from _pytest.mark.expression import Expression

    compiled = Expression.compile(expr)
    return lambda item: bool(compiled.evaluate(MarkMatcher.from_markers(item.iter_markers())))


# ----- the terminal -----

def terminal_writer(reporter: Any) -> Any:
    """The terminal reporter's writer (write, flush, hasmarkup, fullwidth)."""
    return reporter._tw


def interrupt_message(reporter: Any) -> str:
    """The message of the interruption (Ctrl-C, pytest.exit) the reporter will repeat at the end; "" without one."""
    memo = getattr(reporter, "_keyboardinterrupt_memo", None)
    crash = getattr(memo, "reprcrash", None)
    return str(getattr(crash, "message", "") or "")


def restate_interrupt_message(reporter: Any, text: str) -> None:
    """The line the reporter ends with for the interruption ("! <text> !") instead of pytest's own."""
    crash = getattr(getattr(reporter, "_keyboardinterrupt_memo", None), "reprcrash", None)
    if crash is not None:
        crash.message = text


# ----- the evidence files: JUnit XML and the HTML page -----

def junit_xml_writer(path: Path, config: pytest.Config, suite_name: str) -> Any:
    """pytest's own JUnit XML writer (what --junitxml registers), writing to `path` with the ini's settings."""
    from _pytest.junitxml import LogXML

    return LogXML(str(path), config.option.junitprefix, suite_name,
                  config.getini("junit_logging"), config.getini("junit_duration_report"),
                  config.getini("junit_family"), config.getini("junit_log_passing_tests"))


def html_resource(name: str) -> str:
    """The text of one of pytest-html's own resources (app.js, style.css)."""
    import pytest_html

    return (Path(pytest_html.__file__).parent / "resources" / name).read_text(encoding="utf-8")


@dataclass
class HtmlPage:
    """What pytest-html has for the final page: its file, its JSON data, CSS, outcome counts, table head, duration."""
    path: Path
    data: dict[str, Any]
    styles: str
    outcomes: Any
    table_head: Any
    duration: str


def self_contained_html_report(config: pytest.Config, path: Path, render: Callable[[HtmlPage], None]) -> Any:
    """pytest-html's self-contained writer (a plugin object) whose final page `render` writes; it writes no
    interim page, says nothing in the terminal summary, and keeps no test's reports once their row is made."""
    import pytest_html
    from pytest_html.basereport import _format_duration
    from pytest_html.plugin import ReportData, SelfContainedReport, _process_css

    resources = Path(pytest_html.__file__).parent / "resources"

    class BundleReport(SelfContainedReport):
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            """Silenced: the file moves into the bundle; the gate summary names it."""

        def pytest_runtest_logreport(self, report: Any) -> None:
            """pytest-html keeps each test's reports for reruns; once it has made the row it needs none."""
            super().pytest_runtest_logreport(report)
            if report.when == "teardown" and report.outcome != "rerun":
                self._reports.pop(report.nodeid, None)

        def _generate_report(self, *args: Any, **kwargs: Any) -> None:
            if self._report.running_state != "finished":
                return  # only the final page
            render(HtmlPage(path=self._report_path, data=self._report.data, styles=self.css,
                            outcomes=self._report.outcomes, table_head=self._report.table_header,
                            duration=_format_duration(self._report.total_duration)))

    return BundleReport(str(path), config, ReportData(config), None, _process_css(resources / "style.css", []))
