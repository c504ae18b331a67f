"""Regular expressions over text from an infra repo, matched in time linear in the text (RE2).

Python's `re` backtracks: `\\$\\{\\{\\s*(.*?)\\s*\\}\\}` took minutes over `${{` and 3000 spaces, and a crafted
`paths:` glob seconds per file. RE2 (google-re2) never backtracks, so the cost is linear by construction
whatever the input. Its syntax is `re`'s without lookarounds and backreferences; a pattern RE2 cannot
compile (one built from repo text and too large) raises `PatternError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN = 4096  # characters of a pattern built from repo text (a glob): longer ones are not compiled


class PatternError(ValueError):
    """RE2 could not compile the pattern (too large, or a construct it does not support)."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # an uncompilable repo glob is a PatternError, not a line on stderr
    return options


@lru_cache(maxsize=512)
def compile(pattern: str) -> Any:  # noqa: A001 - the `re` spelling, on purpose
    """The pattern, compiled by RE2."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"a pattern of {len(pattern)} characters (the limit is {MAX_PATTERN})")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        raise PatternError(why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)) from None


def search(pattern: str, text: str) -> Any:
    return compile(pattern).search(text)


def fullmatch(pattern: str, text: str) -> Any:
    return compile(pattern).fullmatch(text)


def findall(pattern: str, text: str) -> list[Any]:
    return compile(pattern).findall(text)


def finditer(pattern: str, text: str) -> Iterator[Any]:
    return compile(pattern).finditer(text)


def sub(pattern: str, repl: str | Callable[[Any], str], text: str) -> str:
    return compile(pattern).sub(repl, text)


escape = re.escape  # RE2 reads `re`'s escapes


def split(pattern: str, text: str) -> list[str]:
    return compile(pattern).split(text)
