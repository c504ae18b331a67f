"""What kind of run this was, and whether it is a gate run: the only kind whose decision approves a release
and the only kind that moves `reports/<env>/latest`.

A gate run read the env's AWS with a verified caller (PDV-01; the embedded world for `local`) and evaluated a
complete gate selection: every check (no `-m`), or the post-deploy smoke gate (`-m smoke`), with no `-k`, no
narrower test path and nothing deselected by any other selector (`--lf`, `--deselect`, a plugin's option).
Every other run says what it is:

- review: no AWS read (a credential-free review, or a selection of checks that read files only);
- drill (faults injected into the embedded world with --fault);
- replay of <run id> made <time> (an offline re-evaluation of a bundle);
- partial: <the selection>, <n> deselected;
- not a gate run: <why> (stopped before any check, exit 4; nothing selected, exit 5; no check evaluated).

An interrupted gate run (Ctrl-C, SIGTERM, a crashed collector) stays a gate run: its NO-GO moves `latest`, so
nobody promotes on the previous GO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checks.plugin.selected import Selection

GATE, REVIEW, DRILL, REPLAY, PARTIAL, NONE = "gate", "review", "drill", "replay", "partial", "none"
KINDS = (GATE, REVIEW, DRILL, REPLAY, PARTIAL, NONE)
GATE_MARKERS = ("", "smoke")  # -m of a gate selection: every check, or the post-deploy smoke gate


@dataclass(frozen=True)
class RunKind:
    kind: str
    label: str  # what the run is, in words: "review: no AWS read", "partial: -m canary, 278 deselected"
    selection: dict[str, Any]

    @property
    def gate_run(self) -> bool:
        return self.kind == GATE

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "kind_label": self.label, "gate_run": self.gate_run, "selection": self.selection}


def gate_selection(selection: Selection | None) -> bool:
    """Is this a complete gate selection? Unknown counts (collection interrupted) judge what was asked."""
    if selection is None:
        return False
    return (" ".join(selection.markers.split()) in GATE_MARKERS and not selection.keyword and not selection.paths
            and not selection.outside)


def selected(selection: Selection | None) -> str:
    """"-m canary, 278 deselected", as the kind's label names a selection."""
    if selection is None:
        return "the selection is unknown"
    count = f", {selection.deselected} deselected" if selection.deselected else ""
    return f"{selection.describe()}{count}"


def partial_label(selection: Selection | None) -> str:
    return f"partial: {selected(selection)}"


def kind_of(*, selection: Selection | None, stopped: str | None = None, replay_of: str | None = None,
            replay_made: str | None = None, faults: Sequence[Sequence[str]] = (), offline: str | None = None,
            caller_verified: bool | None = None, evaluated: bool = True, interrupted: bool = False) -> RunKind:
    """The run's kind, from what it selected and how it read. Pure: every input is a recorded fact."""
    partial = not gate_selection(selection)
    data = {**(selection.to_dict() if selection is not None else {}), "partial": partial}
    suffix = f", {selected(selection)}" if partial else ""
    if stopped:
        return RunKind(NONE, stopped, data)
    if replay_of is not None:
        return RunKind(REPLAY, f"replay of {replay_of} made {replay_made or 'now'}", data)
    if faults:
        injected = ",".join(":".join(str(p) for p in f if p) for f in faults)
        return RunKind(DRILL, f"drill: --fault {injected}{suffix}", data)
    if offline:
        return RunKind(REVIEW, f"review: no AWS read{suffix}", data)
    if partial:
        return RunKind(PARTIAL, partial_label(selection), data)
    if not evaluated and not interrupted:
        return RunKind(NONE, "not a gate run: no check was evaluated (every selected check was skipped)", data)
    if caller_verified is False or (caller_verified is None and not interrupted):
        return RunKind(NONE, "not a gate run: the caller was not verified against the env's account", data)
    return RunKind(GATE, f"gate run: {selection.describe() if selection else 'every check'}", data)
