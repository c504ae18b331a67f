"""Template content checks (S3-04): HTML that parses, Mustache placeholders that balance."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from checks.core.config import Env
from checks.core.outcome import read
from checks.core.snapshot import Snapshot

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PLACEHOLDER = re.compile(r"\{\{\{?\s*([#^/!>&]?)\s*([\w.\-]*)\s*\}?\}\}")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.seen_html = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.seen_html = self.seen_html or tag == "html"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if tag not in self.stack:
            self.problems.append(f"closing </{tag}> without an opening tag")
            return
        while self.stack and self.stack.pop() != tag:
            pass


def html_problems(body: str) -> list[str]:
    """Why this text is not a well-formed HTML template; empty when it is."""
    parser = _Tags()
    try:
        parser.feed(body)
        parser.close()
    except Exception as exc:  # noqa: BLE001  (html.parser rarely raises; any failure is a finding)
        return [f"does not parse as HTML: {exc}"]
    problems = list(parser.problems)
    if not parser.seen_html:
        problems.append("has no <html> element")
    if body.count("{{") != body.count("}}"):
        problems.append(f"unbalanced Mustache braces: {body.count('{{')} '{{{{' vs {body.count('}}')} '}}}}'")
    sections: list[str] = []
    for sigil, name in PLACEHOLDER.findall(body):
        if not name and sigil != "!":
            problems.append("an empty {{ }} placeholder")
        elif sigil in ("#", "^"):
            sections.append(name)
        elif sigil == "/":
            if not sections or sections.pop() != name:
                problems.append(f"section {{{{/{name}}}}} closes nothing open")
    problems += [f"section {{{{#{s}}}}} is never closed" for s in sections]
    return problems


def manifest_digest(snapshot: Snapshot, env: Env, key: str) -> str | None:
    """The SHA-256 the env's template manifest gives for this key, if there is a manifest."""
    if not env.s3.template_manifest:
        return None
    obs = snapshot.get("file", "", "Read", path=Path(env.s3.template_manifest).as_posix())
    text = read(obs, f"the template manifest {env.s3.template_manifest}")["text"]
    for line in text.splitlines():
        digest, _, name = line.strip().partition("  ")
        if name.strip() == key and not line.startswith("#"):
            return digest.strip().lower()
    return "(not in the manifest)"
