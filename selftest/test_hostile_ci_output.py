"""Issue 23 (6, 7): repo-derived text never runs as a workflow command and never renders in the job summary.

A finding whose resource and message carry line breaks followed by workflow commands, Markdown
(an image beacon, a link), HTML and backticks is printed under GitHub Actions and written to
$GITHUB_STEP_SUMMARY. The runner's view is simulated line by line (`::stop-commands::` included):
the only commands it would execute are the suite's own annotations. The summary is rendered by
markdown-it (CommonMark plus tables): no image, link, HTML element or broken code span appears.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from checks.evidence import ci_text
from selftest.test_evidence import PASS, Fake

BEACON = "![pixel](https://collector.invalid/p.gif)"
# one line for Python's "\n" split (the fake harness keeps a message's first line), several for a runner,
# which also breaks lines at CR
PAYLOAD = ("deploy`prod`.yml\r::error title=forged::the gate passed\r::add-mask::x\u2028::notice::y "
           f"<img src=https://collector.invalid/q.gif> [open me](https://collector.invalid/) {BEACON}\nmore")
HOSTILE = PASS + f'''
@pytest.fixture
def hostile(request):
    request.node.bbws_location = {{"file": ".github/workflows/deploy.yml", "line": 7}}

@pytest.mark.issue("CICD-01")
@pytest.mark.sev("P1")
def test_hostile_names(hostile):
    assert False, {PAYLOAD!r}
'''


@pytest.fixture
def fake(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return Fake(pytester, monkeypatch)


def executed(log: str) -> list[str]:
    """The workflow commands a runner would execute in this log: it reads lines as .NET does (CR, LF or
    CRLF end one) and honours ::stop-commands::."""
    out, stopped = [], ""
    for line in re.split(r"\r\n|\r|\n", log):
        if stopped:
            if line == f"::{stopped}::":
                stopped = ""
            continue
        if m := re.match(r"::stop-commands::(.+)$", line):
            stopped = m.group(1)
        elif line.startswith("::"):
            out.append(line)
    return out


def test_only_the_suites_own_annotations_run_as_workflow_commands(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    r, _ = fake.run(HOSTILE, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    log = r.stdout.str() + "\n" + r.stderr.str()
    commands = executed(log)
    assert commands and all(c.startswith("::error file=.github/workflows/deploy.yml,line=7,") for c in commands), \
        commands
    assert "%0D::error title=forged" in commands[0]  # the annotation's own data, encoded
    # and the gate summary's own line shows the break instead of making one
    assert any("\\r::error title=forged" in line for line in log.splitlines() if line.startswith("  [NO-GO]"))
    assert log.count("::stop-commands::") >= 2 and executed(log + "\n::error::after the run") == [
        *commands, "::error::after the run"], "the fence is closed when the run ends"


def test_the_job_summary_renders_no_markup_from_data(fake: Fake, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    fake.run(HOSTILE, GITHUB_STEP_SUMMARY=str(summary))
    html = MarkdownIt("commonmark").enable("table").render(summary.read_text())
    assert "<img" not in html and "collector.invalid/p.gif\"" not in html and "<a href" not in html, html
    assert "&lt;img src=https://collector.invalid/q.gif&gt;" in html
    for cell in re.findall(r"<code>(.*?)</code>", html):
        assert "deploy" not in cell or "deploy`prod`.yml" in cell, cell  # a backtick never ends the span


@pytest.mark.parametrize("value", ["a`b", "``", "` x `", "", "|pipe|", "<b>x</b>"])
def test_a_code_span_keeps_any_value_whole(value: str) -> None:
    html = MarkdownIt("commonmark").enable("table").render(f"| h |\n|---|\n| {ci_text.code(value, True)} |\n")
    assert html.count("<code>") == 1, html
    inner = re.search(r"<code>(.*)</code>", html, re.S).group(1)
    assert inner.strip() == (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                             .replace('"', "&quot;")).strip(), html


def test_one_line_escapes_every_line_break_and_terminal_control() -> None:
    text = "a\nb\rc\x1b[2Jd\u2028e\x85f"
    assert ci_text.one_line(text) == "a\\nb\\rc\\x1b[2Jd\\u2028e\\x85f"
    assert "\n" not in ci_text.md(text) and "\r" not in ci_text.md(text)
