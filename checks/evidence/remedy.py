"""A filled-in remediation as steps a reader can paste: shell commands, one per step, and prose between them.

Catalog resolutions are either a list of lines (a line starting with "# " is prose) or one line in which
commands are joined by "; " or " && " and introduced by prose ("recreate a failed index with aws ...").
Both become the same list of steps; splitting respects quotes, so JSON arguments stay whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A step is a command when it starts with one of these (optionally after VAR=value assignments).
COMMAND = re.compile(r"(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:aws|terraform|gh|git|actionlint|pytest|python|jq)\s")


@dataclass(frozen=True)
class Step:
    kind: str  # "command" or "prose"
    text: str


def _split(line: str) -> list[str]:
    """Split on top-level `;` and `&&` (outside quotes and parentheses)."""
    parts, cur, quote, depth, i = [], [], "", 0, 0
    while i < len(line):
        c = line[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and (c == ";" or line.startswith("&&", i)):
            parts.append("".join(cur))
            cur = []
            i += 2 if c == "&" else 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _command_at(text: str) -> int:
    """Where a command starts in this text (0: it is one), or -1."""
    m = COMMAND.match(text + " ")
    if m:
        return 0
    for m in re.finditer(r"(?:^|[\s:(])(?=\S)", text):
        at = m.end()
        if COMMAND.match(text[at:] + " "):
            return at
    return -1


def _part(text: str) -> list[Step]:
    note = ""
    m = re.search(r"(?<!\$)\s*\(([^()]*)\)$", text)
    if m and _command_at(text[:m.start()]) >= 0:  # "cmd (or: other cmd)" / "cmd (only when ...)"
        text, note = text[:m.start()].rstrip(), m.group(1).strip()
    at = _command_at(text)
    steps = ([Step("prose", text)] if at < 0 else
             [Step("command", text)] if at == 0 else
             [Step("prose", text[:at].strip()), Step("command", text[at:].strip())])
    if note:
        alt = note.removeprefix("or:").strip()
        if note.startswith("or:") and _command_at(alt) == 0:
            steps += [Step("prose", "or:"), Step("command", alt)]
        else:
            steps.append(Step("prose", f"({note})"))
    return steps


def steps(remediation: str) -> list[Step]:
    """The remediation as steps; empty for an empty remediation."""
    out: list[Step] = []
    for line in (remediation or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            out.append(Step("prose", line.lstrip("#").strip()))
            continue
        for part in _split(line):
            out.extend(_part(part))
    return out


def commands(remediation: str) -> list[str]:
    return [s.text for s in steps(remediation) if s.kind == "command"]


def first_command(remediation: str) -> str:
    """The one command a banner shows for a finding ("" when the remediation has none)."""
    found = commands(remediation)
    return found[0] if found else ""
