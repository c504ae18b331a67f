"""What an assertion does when it cannot judge: error (could not read) or skip (depends on a finding)."""

from __future__ import annotations

from checks.core.snapshot import Observation

NOT_COLLECTED = "it was not collected in this run"


class Unverifiable(Exception):
    """The data for an assertion could not be read. Reported as an *error* outcome, never a pass."""

    def __init__(self, reason: str, observation: Observation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.observation = observation

    @classmethod
    def of(cls, obs: Observation | None, what: str) -> Unverifiable:
        if obs is None:
            return cls(f"could not verify {what}: {NOT_COLLECTED}")
        return cls(f"could not verify {what}: {obs.label} in {obs.region or 'n/a'} failed with "
                   f"{obs.code}: {obs.error['message'] if obs.error else ''}".rstrip(": "), obs)


class Missing(Exception):
    """The resource this assertion is about does not exist; the finding belongs to another check.

    `by` names the check that reports the absence as "<catalog id>/<what>", e.g. "DDB-01/table": the
    test declared with `@pytest.mark.issue("DDB-01", reports="table")`. When no such test is part of
    the run (deselected with -m or -k), the plugin reports an error instead of a skip, so a missing
    resource can never pass unnoticed. Without `by` the skip stands on its own (an input not given).
    """

    def __init__(self, reason: str, by: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.by = by


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
