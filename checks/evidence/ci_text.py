"""Repo-derived text made safe for what a CI runner reads: its log (workflow commands) and the job summary.

A GitHub runner executes any output line that starts with `::` (`::warning title=...::`, `::add-mask::`,
`::stop-commands::`), and renders $GITHUB_STEP_SUMMARY as Markdown with HTML. A workflow file name, an
input name or a `runs-on` value from an infra repo the suite did not write must not become either. So:

- `one_line`: CR, LF and every other control character shown escaped (`\\n`), for terminal lines;
- `Fence`: under GitHub Actions, everything the run prints is fenced with `::stop-commands::<random
  token>` (the runner ignores commands until `::<token>::`), opened only to print the suite's own
  annotations;
- `md`, `code`, `block`: a value as Markdown text (Markdown and HTML escaped), as an inline code span,
  or as a fenced block, each with a backtick fence longer than any run inside.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

import pytest

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), 0x7F, 0x85]}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})
# what Markdown gives a meaning mid-line: emphasis, code, links and images, table cells, strikethrough,
# escapes (HTML and autolinks are taken by the entities below); line-start markers cannot occur mid-line
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~])")
_BREAKS = re.compile("[\r\n\x85\u2028\u2029]+")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def one_line(text: object) -> str:
    """The text on one line: line breaks and other control characters (terminal escapes too) escaped."""
    return str(text or "").translate(_CONTROL)


def md(text: object) -> str:
    """The text as literal Markdown inline content: no markup, link, image, HTML or table cell break
    (line breaks become spaces)."""
    out = _MARKDOWN.sub(r"\\\1", one_line(_BREAKS.sub(" ", str(text or ""))))
    return "".join(_HTML.get(c, c) for c in out)


def _fence_for(text: str, least: int) -> str:
    return "`" * max(least, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))


def code(text: object, in_table: bool = False) -> str:
    """The text as an inline code span: nothing in it renders; the fence is longer than any backtick run."""
    value = one_line(text)
    fence = _fence_for(value, 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    span = f"{fence}{pad}{value}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span  # GFM splits table cells even inside code


def block(text: object, lang: str = "", indent: str = "") -> list[str]:
    """The text as a fenced code block (each line indented to stay inside a list item)."""
    value = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    fence = _fence_for(value, 3)
    lines = [one_line(line) for line in value.split("\n")]
    return [f"{indent}{fence}{lang}", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


def under_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


class Fence:
    """A pytest plugin (registered under GitHub Actions): `::stop-commands::<token>` before the session's
    first line, `::<token>::` after its last; `commands()` opens it only for the suite's own commands."""

    def __init__(self) -> None:
        self.token = ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        _write(session.config, self.stop())

    def commands(self, terminalreporter: Any, lines: list[str]) -> None:
        """Print the suite's own workflow commands (annotations) where the runner executes them."""
        if not lines:
            return
        resume = self.resume()
        for line in ([resume] if resume else []) + lines + [self.stop()]:
            terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        _write(config, self.resume())

    def stop(self) -> str:
        """The line that stops command processing (a new unguessable token each time)."""
        self.token = secrets.token_hex(16)
        return f"::stop-commands::{self.token}"

    def resume(self) -> str:
        """The line that resumes command processing ('' when it was not stopped)."""
        token, self.token = self.token, ""
        return f"::{token}::" if token else ""


def _write(config: pytest.Config, line: str) -> None:
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if line and terminal is not None:
        terminal.write_line(line)
