"""What changed since the previous gate run of the same env: gate.json's `changes`.

The previous gate run is the bundle `reports/<env>/latest` pointed at when this run started (only gate
runs move it). It is verified against its manifest before its results are read; one that does not verify
is named, and nothing is compared. Findings are matched by check, test (independent of the rootdir) and
resource:

- new: failed or unverified now, and not failed or unverified then (a finding whose waiver expired is new);
- fixed: failed, unverified or waived then, and passed now;
- still_failing: failed or unverified then and now;
- newly_waived: waived now, and not waived then.

A replay reproduces its original's comparison (from the original's verified gate.json): the previous
bundle may not travel with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from checks.core.record import BAD, CheckRecord
from checks.evidence.bundle import MANIFEST, resolve, sha256
from checks.evidence.replay import BundleError, load_json, verify
from checks.plugin.replaying import test_key

KINDS = ("new", "fixed", "still_failing", "newly_waived")


def previous_gate_run(base: Path, env: str) -> Path | None:
    """The bundle `<base>/<env>/latest` points at now (call it before this run moves it), or None."""
    latest = base / env / "latest"
    if not (latest.is_symlink() or latest.is_file()):
        return None
    try:
        target = resolve(latest).resolve()
    except OSError:
        return None
    return target if target.is_dir() else None


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(row.get("check") or ""), test_key(str(row.get("test") or "")), str(row.get("resource") or "")


def _item(row: Mapping[str, Any]) -> dict[str, str]:
    return {"check": str(row.get("check") or ""), "test": str(row.get("test") or ""),
            "resource": str(row.get("resource") or "")}


def compare(before: Iterable[Mapping[str, Any]], now: Iterable[CheckRecord]) -> dict[str, list[dict[str, str]]]:
    """new / fixed / still_failing / newly_waived between results.json rows (before) and this run's records."""
    then = {_key(r): r for r in before if isinstance(r, Mapping)}
    bad_then = {k for k, r in then.items() if r.get("outcome") in BAD}
    waived_then = {k for k, r in then.items() if r.get("outcome") == "waived"}
    out: dict[str, list[dict[str, str]]] = {k: [] for k in KINDS}
    for r in sorted(now, key=lambda r: (r.check, r.resource, r.test)):
        row = {"check": r.check, "test": r.test, "resource": r.resource}
        key = _key(row)
        if r.outcome in BAD:
            out["still_failing" if key in bad_then else "new"].append(row)
        elif r.outcome == "waived" and key not in waived_then:
            out["newly_waived"].append(row)
        elif r.outcome == "passed" and key in bad_then | waived_then:
            out["fixed"].append(_item(then[key]))
    return out


def _none(note: str) -> dict[str, Any]:
    return {"previous": None, "note": note, **{k: [] for k in KINDS}}


def changes(previous: Path | None, records: Iterable[CheckRecord], env: str) -> dict[str, Any]:
    """gate.json's `changes` against the previous gate run (None: there was none)."""
    if previous is None:
        return _none(f"no previous gate run of env {env}: nothing to compare")
    name = f"{previous.parent.name}/{previous.name}"
    try:
        verify(previous)
        results = load_json(previous / "results.json", "results.json")
        gate = load_json(previous / "gate.json", "gate.json")
    except (BundleError, OSError, ValueError) as exc:
        return _none(f"the previous gate run {name} could not be verified ({exc}): nothing compared")
    rows = results.get("results") if isinstance(results, dict) else None
    if not isinstance(rows, list) or not isinstance(gate, dict):
        return _none(f"the previous gate run {name} has no results to compare")
    prev = {"run_id": str(gate.get("run_id") or previous.name), "decision": str(gate.get("decision") or "?"),
            "started": gate.get("started"), "finished": gate.get("finished"), "bundle": name,
            "manifest_sha256": sha256(previous / MANIFEST)}
    return {"previous": prev, "note": "", **compare(rows, records)}


def replayed_changes(source: Path) -> dict[str, Any]:
    """A replay's `changes`: its original's, as the original's verified gate.json recorded them."""
    try:
        gate = json.loads((resolve(source) / "gate.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        gate = {}
    found = gate.get("changes") if isinstance(gate, dict) else None
    if not isinstance(found, dict):
        return _none("the replayed bundle records no comparison with a previous gate run")
    return {**found, "replayed": True}


def since_line(changes: Mapping[str, Any] | None) -> str:
    """The first-screen line: "2 new since <run id> (GO, <time>); 1 fixed, 1 still failing"."""
    if not changes:
        return ""
    said = "the replayed run recorded: " if changes.get("replayed") else ""
    prev = changes.get("previous")
    if not prev:
        return said + str(changes.get("note") or "")
    n = len(changes.get("new") or [])
    head = f"{n} new since {prev.get('run_id')} ({prev.get('decision')}, {prev.get('finished') or prev.get('started')})"
    rest = [f"{len(changes.get(k) or [])} {k.replace('_', ' ')}" for k in ("fixed", "still_failing", "newly_waived")
            if changes.get(k)]
    return said + head + ("; " + ", ".join(rest) if rest else "")
