"""The evidence index as a timeline per env: its runs newest first, the current gate run marked, and the
trend of its decisions (oldest to newest), instead of one flat list sorted by decision.

The current gate run of an env is the bundle its `latest` pointer names, when the pointer is there (only gate
runs move it); else (bundles downloaded as CI artifacts lose their symlinks) the newest verified gate run. The
trend is that of its gate runs: a review, drill, replay or partial run decides nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from checks.evidence import approvals
from checks.evidence.allowed_signers import Signer
from checks.evidence.bundle import resolve
from checks.evidence.gate import NO_GO

UNVERIFIED = "UNVERIFIED"


def _pointed_at(bundle: Path) -> bool:
    latest = bundle.parent / "latest"
    try:
        return (latest.is_symlink() or latest.is_file()) and resolve(latest).resolve() == bundle.resolve()
    except OSError:
        return False


def timeline(rows: Sequence[Any], out: Path) -> list[dict[str, Any]]:
    """[{env, rows (newest first), current (its run id), trend (decisions, oldest first)}], envs by name."""
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(r.env, []).append(r)
    found = []
    for env in sorted(groups):
        runs = sorted(groups[env], key=lambda r: (r.started, r.run_id), reverse=True)
        pointed = [r for r in runs if r.bundle and _pointed_at(out / r.bundle)]
        gate_runs = [r for r in runs if r.decision != UNVERIFIED and r.gate_run]
        current = pointed[0] if pointed else gate_runs[0] if gate_runs else None
        found.append({"env": env, "rows": runs, "current": current.run_id if current is not None else "",
                      "by_latest": bool(pointed),
                      "trend": [{"decision": r.decision, "run_id": r.run_id} for r in reversed(gate_runs)]})
    return found


def with_approvals(rows: Sequence[Any], out: Path, signers: Sequence[Signer] | None = None) -> list[Any]:
    """Each verified row with its recorded approvals ("approved by … (2 of 2)", "awaiting: …")."""
    done = []
    for r in rows:
        if r.decision == UNVERIFIED or not r.bundle:
            done.append(r)
            continue
        found = approvals.status(out / r.bundle, signers=signers)
        line = found.line() if (found.required or found.approved or found.refused) else ""
        if r.decision == NO_GO and not found.approved:
            line = "NO-GO: not approvable" if found.required else ""
        done.append(replace(r, approvals=line))
    return done
