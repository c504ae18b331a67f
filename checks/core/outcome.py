"""What an assertion does when it cannot judge: error (could not read) or skip (depends on a finding)."""

from __future__ import annotations

import re

from checks.core.snapshot import Observation

REPORTER = re.compile(r"\((?:see|reported by) (test_\w+)\)")


class Unverifiable(Exception):
    """The data for an assertion could not be read. Reported as an *error* outcome, never a pass."""

    def __init__(self, reason: str, observation: Observation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.observation = observation

    @classmethod
    def of(cls, obs: Observation | None, what: str) -> Unverifiable:
        if obs is None:
            return cls(f"could not verify {what}: it was not collected in this run")
        return cls(f"could not verify {what}: {obs.label} in {obs.region or 'n/a'} failed with "
                   f"{obs.code}: {obs.error['message'] if obs.error else ''}".rstrip(": "), obs)


class Missing(Exception):
    """The resource this assertion is about does not exist; the finding belongs to another check.

    `by` names the test function that reports the absence (by default the one the reason names as
    "(see test_x)" or "(reported by test_x)"). When that test is not part of the run (deselected
    with -m or -k), the plugin reports an error instead of a skip, so a missing resource can never
    pass unnoticed.
    """

    def __init__(self, reason: str, by: str = ""):
        super().__init__(reason)
        self.reason = reason
        found = REPORTER.search(reason)
        self.by = by or (found.group(1) if found else "")


def read(obs: Observation | None, what: str, *, absent_ok: bool = False) -> dict | None:
    """The response of an observation, or None when absent_ok and the answer was 'not found'.

    Anything else that is not a clean answer raises Unverifiable.
    """
    if obs is None:
        raise Unverifiable.of(None, what)
    if obs.ok:
        return obs.response or {}
    if absent_ok and obs.absent:
        return None
    raise Unverifiable.of(obs, what)
