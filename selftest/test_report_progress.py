"""Issue 13, progress: collection reports tasks done of planned, AWS calls by service and error responses,
rewritten in place on a terminal and as one summary line otherwise (fake terminal, fake clock)."""

from __future__ import annotations

import io
from itertools import count

from checks.core.snapshot import Observation
from checks.plugin.progress import Progress


def obs(service: str, error: bool = False) -> Observation:
    o = Observation(service, "r", "Describe", {}, "t")
    o.error = {"code": "AccessDenied", "message": "no"} if error else None
    return o


def feed(p: Progress) -> None:
    for _ in range(3):
        p("planned")
    p("read", obs("dynamodb"))
    p("read", obs("dynamodb"))
    p("finished")
    p("read", obs("s3", error=True))
    p("finished")
    p("collected")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_line_is_rewritten_in_place_and_ends_with_the_summary() -> None:
    out, ticks = Tty(), count()
    p = Progress(out, tty=True, width=120, clock=lambda: next(ticks))  # every event is a new redraw slot
    feed(p)
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 9 and text.count("\n") == 1 and text.endswith("\n")
    assert frames[0].startswith("reading: 0/1 tasks, 0 AWS calls, 0 error responses")
    assert frames[3].startswith("reading: 0/3 tasks, 1 AWS calls, 0 error responses (dynamodb 1)")
    assert frames[-1].startswith("collected: 3/3 tasks, 3 AWS calls, 1 error response (dynamodb 2, s3 1), in ")
    assert all(len(f.rstrip("\n")) <= 120 for f in frames)


def test_redraws_are_throttled_on_a_terminal() -> None:
    out = Tty()
    p = Progress(out, tty=True, clock=lambda: 0.0)  # the clock never moves: only the first frame and the end
    feed(p)
    assert out.getvalue().count("\r") == 2


def test_not_a_terminal_prints_one_summary_line() -> None:
    out = io.StringIO()
    p = Progress(out, tty=False, clock=lambda: 0.0)
    feed(p)
    p("read", obs("s3"))  # after the end: ignored
    assert out.getvalue() == "collected: 3/3 tasks, 3 AWS calls, 1 error response (dynamodb 2, s3 1), in 0.0 s\n"
