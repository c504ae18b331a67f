"""Bounds on static evaluation: an infra repo the suite did not write must not exhaust memory, time or the stack.

Every value the evaluator builds is checked against a size limit before it exists (a list or map, a
string, a number), every step of evaluation is charged to one budget per env's model, and nesting (a
local that uses a local, brackets within brackets) is counted. Going past a limit raises LimitExceeded:
the check that needed the value is an *error* naming the file:line, never a pass, and `try()` / `can()`
never catch it (it is not an error Terraform would raise).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from checks.areas.static.values import LimitExceeded

__all__ = ["LimitExceeded", "Budget", "items", "chars", "number"]

MAX_ITEMS = 10_000       # elements in one list or map (real configurations hold tens)
MAX_STRING = 1 << 20     # characters in one string built by evaluation
MAX_NUMBER_BITS = 256    # an integer wider than this is not a configuration value
MAX_STEPS = 100_000      # evaluation steps for one env's model (the sample repo needs about 250)
MAX_DEPTH = 64           # nested locals plus nested brackets and calls, counted together (the sample: 8);
# past it (or when a deep expression still exhausts Python's stack) evaluation stops with LimitExceeded


def items(n: int, what: str) -> int:
    """n, when a list or map of n elements may be built."""
    if n > MAX_ITEMS:
        raise LimitExceeded(f"{what} would hold {n} elements, above the limit of {MAX_ITEMS}")
    return n


def chars(n: int, what: str) -> int:
    """n, when a string of n characters may be built."""
    if n > MAX_STRING:
        raise LimitExceeded(f"{what} would be {n} characters long, above the limit of {MAX_STRING}")
    return n


def number(v: int | float) -> int | float:
    """v, when it is a number a configuration can hold."""
    if isinstance(v, int) and v.bit_length() > MAX_NUMBER_BITS:
        raise LimitExceeded(f"a number wider than {MAX_NUMBER_BITS} bits")
    if isinstance(v, float) and not math.isfinite(v):
        raise LimitExceeded("a number beyond the range of a float")
    return v


@dataclass
class Budget:
    """The steps and nesting one env's model may still spend."""
    steps: int = 0
    depth: int = 0
    exhausted: str = ""

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_STEPS:
            self.exhausted = self.exhausted or f"evaluation took more than {MAX_STEPS} steps"
            raise LimitExceeded(self.exhausted)

    @contextmanager
    def deeper(self, n: int, what: str) -> Iterator[None]:
        if self.depth + n > MAX_DEPTH:
            raise LimitExceeded(f"{what} nests more than {MAX_DEPTH} levels deep (locals and brackets)")
        self.depth += n
        try:
            yield
        finally:
            self.depth -= n
