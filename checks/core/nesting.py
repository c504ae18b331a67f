"""How deep `[` and `{` nest in TOML or JSON text, counted without recursion (before a recursive parser sees it)."""

from __future__ import annotations

import re
from functools import cache

_REST_OF_DOUBLE = re.compile(r'[^"\\]*(?:\\[\s\S][^"\\]*)*"')  # the rest of a "...": a backslash escapes what follows
_NEWLINE = re.compile(r"\n")


@cache
def _outside(quotes: str, comments: bool) -> re.Pattern[str]:
    """The characters that matter outside strings and comments."""
    return re.compile("[" + re.escape(quotes + ("#" if comments else "") + "[]{}") + "]")


def deepest(text: str, *, quotes: str = '"', comments: bool = False, floor: bool = False,
            limit: int | None = None) -> int:
    """The deepest nesting of `[` and `{` outside strings: JSON by default.

    quotes: the characters that open a string (a backslash escapes only inside `"`); comments: `#` starts
    a comment to the end of the line (TOML); floor: a stray `]` or `}` does not count below zero (TOML).
    With a limit, counting stops at the first level above it (and returns that level)."""
    outside = _outside(quotes, comments)
    level = top = pos = 0
    end = len(text)
    while pos < end:
        m = outside.search(text, pos)
        if m is None:
            break
        ch, pos = m.group(), m.end()
        if ch in "[{":
            level += 1
            if level > top:
                top = level
                if limit is not None and top > limit:
                    return top
        elif ch in "]}":
            level = max(0, level - 1) if floor else level - 1
        elif ch == "#":
            m = _NEWLINE.search(text, pos)
            pos = end if m is None else m.end()
        elif ch == '"':
            m = _REST_OF_DOUBLE.match(text, pos)
            if m is None:
                return top
            pos = m.end()
        else:  # a quote with no escapes: TOML's '...'
            close = text.find(ch, pos)
            if close < 0:
                return top
            pos = close + 1
    return top
