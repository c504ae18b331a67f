"""The private pytest and pytest-html internals the plugin uses (checks/plugin/pytest_internals.py), each pinned
against the installed versions: an upgrade that renames or changes one fails here, naming the internal.

Each adapter is exercised for real (small in-process pytest runs without the suite's plugin, no suite run),
and the signatures it calls are checked, so a failure says what changed, not only that something did.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from checks.plugin import pytest_internals as pi

# A pytest of its own: without the suite's plugin, and without hypothesis's (0.3 s a run; pytest.ini drops it too)
PLAIN = ("-p", "no:checks.plugin", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def changed(internal: str, adapter: str, what: str) -> str:
    return f"{internal} changed ({what}): fix checks/plugin/pytest_internals.py {adapter}, which uses it"


def params(fn: object) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]


# ----- pytest -----

def test_item_report_sections(pytester: pytest.Pytester) -> None:
    """item._report_sections: the captured output a verdict's report keeps (records.VerdictReports)."""
    item = pytester.genitems([pytester.getmodulecol("def test_x(): pass", configargs=PLAIN)])[0]
    assert hasattr(item, "_report_sections"), changed("pytest.Item._report_sections", "captured_sections", "gone")
    item.add_report_section("call", "stdout", "hello")
    assert pi.captured_sections(item) == [("Captured stdout call", "hello")], \
        changed("pytest.Item._report_sections", "captured_sections", "entries are not (when, key, content)")


def test_rootdir_and_inifile(pytester: pytest.Pytester) -> None:
    """_pytest.config.findpaths.determine_setup and Config._rootpath, _inipath, _inicfg, _ignored_config_files,
    _inicache (options.pytest_load_initial_conftests picks rootdir and inifile again)."""
    from _pytest.config.findpaths import determine_setup

    kinds = {name: p.kind for name, p in inspect.signature(determine_setup).parameters.items()}
    assert kinds == dict.fromkeys(("inifile", "override_ini", "args", "rootdir_cmd_arg", "invocation_dir"),
                                  inspect.Parameter.KEYWORD_ONLY), \
        changed("_pytest.config.findpaths.determine_setup", "rootdir_and_inifile", f"parameters {kinds}")
    suite = pytester.mkdir("suite")
    (suite / "pytest.ini").write_text("[pytest]\nmarkers =\n    bbws_probe: only the suite's ini has it\n")
    elsewhere = pytester.mkdir("elsewhere")
    found = pi.rootdir_and_inifile(inifile=None, override_ini=None, args=[str(suite)], rootdir_cmd_arg=None,
                                   invocation_dir=suite)
    assert len(found) == 4 and found[:2] == (suite, suite / "pytest.ini"), \
        changed("_pytest.config.findpaths.determine_setup", "rootdir_and_inifile", f"returned {found!r}")

    config = pytester.parseconfig(*PLAIN, str(elsewhere))
    for name in ("_rootpath", "_inipath", "_inicfg", "_ignored_config_files", "_inicache"):
        assert hasattr(config, name), changed(f"pytest.Config.{name}", "set_rootdir_and_inifile", "gone")
    assert not any(m.startswith("bbws_probe") for m in config.getini("markers"))  # cached before the switch
    pi.set_rootdir_and_inifile(config, *found)
    assert (config.rootpath, config.inipath) == (suite, suite / "pytest.ini"), \
        changed("pytest.Config._rootpath / _inipath", "set_rootdir_and_inifile", "rootpath/inipath did not follow")
    assert any(m.startswith("bbws_probe") for m in config.getini("markers")), \
        changed("pytest.Config._inicfg / _inicache", "set_rootdir_and_inifile", "getini still reads the old ini")


def test_marker_names() -> None:
    """_pytest.mark.expression Scanner and TokenType (options.check_markexpr: `-m smok` is a usage error)."""
    from _pytest.mark.expression import Scanner, TokenType

    assert params(Scanner) == ["input"] and params(Scanner.lex) == ["input"], \
        changed("_pytest.mark.expression.Scanner", "marker_names", f"Scanner{params(Scanner)}.lex{params(Scanner.lex)}")
    assert {"IDENT", "EQUAL"} <= set(TokenType.__members__), \
        changed("_pytest.mark.expression.TokenType", "marker_names", "no IDENT or EQUAL")
    assert pi.marker_names("smoke and not dynamodb") == ["smoke", "dynamodb"], \
        changed("_pytest.mark.expression.Scanner", "marker_names", "`smoke and not dynamodb` lexes differently")
    assert pi.marker_names('issue(id="DDB-03") or canary') == ["issue", "canary"], \
        changed("_pytest.mark.expression.TokenType.EQUAL", "marker_names", "a keyword argument reads as a marker")
    assert pi.marker_names("smoke ~") is None, \
        changed("_pytest.mark.expression.Scanner", "marker_names", "lexes an unexpected character")


def test_markexpr_matcher(pytester: pytest.Pytester) -> None:
    """_pytest.mark Expression and MarkMatcher (selection.Selection: what `-m` alone keeps of a deselected item)."""
    pytester.makeini("[pytest]\nmarkers =\n    smoke: a probe\n")
    source = "import pytest\n@pytest.mark.smoke\ndef test_s(): pass\ndef test_p(): pass\n"
    items = pytester.genitems([pytester.getmodulecol(source, configargs=PLAIN)])
    keeps = pi.markexpr_matcher("smoke and not extended")
    assert [keeps(i) for i in items] == [True, False], \
        changed("_pytest.mark.Expression / MarkMatcher", "markexpr_matcher", "`-m smoke` keeps other items")
    assert all(pi.markexpr_matcher("")(i) for i in items)


def test_terminal_writer(pytester: pytest.Pytester) -> None:
    """TerminalReporter._tw: the collection progress draws on it (progress.ProgressPlugin)."""
    reporter = pytester.parseconfigure(*PLAIN).pluginmanager.get_plugin("terminalreporter")
    assert hasattr(reporter, "_tw"), changed("TerminalReporter._tw", "terminal_writer", "gone")
    tw = pi.terminal_writer(reporter)
    missing = [a for a in ("write", "flush", "hasmarkup", "fullwidth") if not hasattr(tw, a)]
    assert missing == [], changed("TerminalReporter._tw", "terminal_writer", f"the writer lacks {missing}")


def test_interrupt_message(pytester: pytest.Pytester) -> None:
    """TerminalReporter._keyboardinterrupt_memo: pytest.exit's message, said plainly (hooks._say_exit_plainly)."""
    pytester.makeconftest("""
        import pytest
        from checks.plugin.pytest_internals import interrupt_message, restate_interrupt_message

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(session):
            pytest.exit("bbws probe: no credentials", returncode=1)

        def pytest_terminal_summary(terminalreporter):
            terminalreporter.write_line(f"SAID<{interrupt_message(terminalreporter)}>")
            restate_interrupt_message(terminalreporter, "bbws probe, restated")
    """)
    reporter = pytester.parseconfigure(*PLAIN).pluginmanager.get_plugin("terminalreporter")
    assert hasattr(reporter, "_keyboardinterrupt_memo"), \
        changed("TerminalReporter._keyboardinterrupt_memo", "interrupt_message", "gone")
    out = pytester.runpytest_inprocess(*PLAIN).stdout.str()
    assert "SAID<_pytest.outcomes.Exit: bbws probe: no credentials>" in out, \
        changed("TerminalReporter._keyboardinterrupt_memo", "interrupt_message", "the message reads differently")
    assert out.count("bbws probe: no credentials") == 1 and "! bbws probe, restated !" in out, \
        changed("TerminalReporter._keyboardinterrupt_memo", "restate_interrupt_message", "pytest says its own line")


def test_junit_xml_writer(pytester: pytest.Pytester) -> None:
    """_pytest.junitxml.LogXML: the bundle's junit.xml (hooks._register_junit)."""
    from _pytest.junitxml import LogXML

    expected = ["logfile", "prefix", "suite_name", "logging", "report_duration", "family", "log_passing_tests"]
    assert params(LogXML.__init__) == expected, \
        changed("_pytest.junitxml.LogXML", "junit_xml_writer", f"parameters {params(LogXML.__init__)}")
    pytester.makeconftest("""
        from pathlib import Path
        from checks.plugin.pytest_internals import junit_xml_writer

        def pytest_configure(config):
            config.pluginmanager.register(junit_xml_writer(Path("probe.xml").resolve(), config, "probe-suite"))
    """)
    pytester.makepyfile("def test_one(): pass\ndef test_two(): assert 0\n")
    pytester.runpytest_inprocess(*PLAIN)
    xml = (pytester.path / "probe.xml").read_text() if (pytester.path / "probe.xml").is_file() else ""
    assert 'testsuite name="probe-suite"' in xml and 'tests="2"' in xml and 'failures="1"' in xml, \
        changed("_pytest.junitxml.LogXML", "junit_xml_writer", f"it wrote {xml[:300]!r}")


# ----- pytest-html -----

def test_html_internals_have_the_shape_called() -> None:
    """pytest_html's _process_css, _format_duration, ReportData and SelfContainedReport (report.html_plugin)."""
    from pytest_html.basereport import _format_duration
    from pytest_html.plugin import ReportData, SelfContainedReport, _process_css

    assert params(_process_css) == ["default_css", "extra_css"], \
        changed("pytest_html.plugin._process_css", "self_contained_html_report", f"parameters {params(_process_css)}")
    assert _format_duration(0.25) == "250 ms" and _format_duration(3661) == "01:01:01", \
        changed("pytest_html.basereport._format_duration", "self_contained_html_report", "another format")
    assert params(ReportData) == ["config"], \
        changed("pytest_html.plugin.ReportData", "self_contained_html_report", f"parameters {params(ReportData)}")
    for name in ("running_state", "data", "outcomes", "table_header", "total_duration"):
        assert isinstance(getattr(ReportData, name, None), property), \
            changed(f"pytest_html ReportData.{name}", "self_contained_html_report", "not a property")
    assert params(SelfContainedReport) == ["report_path", "config", "report_data", "template", "css"], \
        changed("pytest_html.plugin.SelfContainedReport", "self_contained_html_report",
                f"parameters {params(SelfContainedReport)}")
    assert callable(getattr(SelfContainedReport, "_generate_report", None)), \
        changed("SelfContainedReport._generate_report", "self_contained_html_report", "gone")
    assert pi.html_resource("app.js") and pi.html_resource("style.css"), \
        changed("pytest_html/resources", "html_resource", "app.js or style.css is empty")


def test_self_contained_html_report(pytester: pytest.Pytester) -> None:
    """SelfContainedReport._generate_report, ._report, ._report_path, ._reports and .css: one final page,
    rendered by the plugin, no interim page, no terminal line, no reports kept."""
    pytester.makeconftest("""
        import json
        from pathlib import Path
        from checks.plugin.pytest_internals import self_contained_html_report

        def pytest_configure(config):
            def render(page):
                with open("pages.jsonl", "a") as f:
                    f.write(json.dumps({"path": str(page.path), "tests": sorted(page.data["tests"]),
                                        "styles": len(page.styles), "outcomes": page.outcomes,
                                        "table_head": len(page.table_head), "duration": page.duration}) + "\\n")
            config.stash["probe"] = self_contained_html_report(config, Path("probe.html").resolve(), render)
            config.pluginmanager.register(config.stash["probe"], "probe-html")

        def pytest_unconfigure(config):
            Path("left.json").write_text(json.dumps(len(config.stash["probe"]._reports)))
    """)
    pytester.makepyfile("def test_one(): pass\ndef test_two(): assert 0\n")
    out = pytester.runpytest_inprocess(*PLAIN).stdout.str()
    pages_file = pytester.path / "pages.jsonl"
    pages = [json.loads(x) for x in pages_file.read_text().splitlines()] if pages_file.is_file() else []
    internal = "pytest_html SelfContainedReport._generate_report / ._report"
    assert len(pages) == 1, changed(internal, "self_contained_html_report", f"{len(pages)} final pages rendered")
    page = pages[0]
    assert Path(page["path"]) == pytester.path / "probe.html", \
        changed("SelfContainedReport._report_path", "self_contained_html_report", f"path {page['path']}")
    assert page["tests"] == ["test_self_contained_html_report.py::test_one",
                             "test_self_contained_html_report.py::test_two"] and page["styles"] > 0, \
        changed(internal, "self_contained_html_report", f"page {page}")
    assert page["outcomes"]["passed"]["value"] == 1 and page["outcomes"]["failed"]["value"] == 1, \
        changed("ReportData.outcomes", "self_contained_html_report", f"{page['outcomes']}")
    assert page["table_head"] > 0 and (page["duration"].endswith(" ms") or page["duration"].count(":") == 2), \
        changed("ReportData.table_header / total_duration", "self_contained_html_report", f"page {page}")
    assert not (pytester.path / "probe.html").exists(), \
        changed(internal, "self_contained_html_report", "pytest-html wrote a page of its own")
    assert "Generated html report" not in out, \
        changed("SelfContainedReport.pytest_terminal_summary", "self_contained_html_report", "it is not silent")
    assert json.loads((pytester.path / "left.json").read_text()) == 0, \
        changed("SelfContainedReport._reports", "self_contained_html_report", "reports are kept after their row")
