"""Replay loading: a verified bundle's env and snapshot, and what the replay reproduces of the run it replays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checks.core import config as cfg
from checks.core.snapshot import Snapshot
from checks.evidence import keys
from checks.evidence import replay as replay_mod

CHECKOUT = Path(__file__).resolve().parents[2]


def replayed(bundle: Path, verify_key: str | None = None) -> tuple[cfg.Env, Snapshot, replay_mod.Verified]:
    """The env and the snapshot of a verified bundle (and how it was verified): replay reads both, and no AWS."""
    try:
        pinned = keys.pinned(Path(verify_key)) if verify_key else None
    except keys.KeyError_ as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        snapshot, verified = replay_mod.verified_replay(bundle, pinned)
    except replay_mod.BundleError as exc:
        raise pytest.UsageError(f"--replay {bundle}: {exc}") from None
    try:
        env = cfg.from_dict(snapshot.meta["env"], f"{bundle}/snapshot.json")
    except (KeyError, TypeError, AttributeError, cfg.ConfigError) as exc:
        raise pytest.UsageError(f"--replay {bundle}: the snapshot has no usable env: {exc}") from None
    if env.source and not Path(env.source).is_absolute():  # recorded relative to the checkout (portable)
        env = env.model_copy(update={"source": str(CHECKOUT / env.source)})
    try:
        replay_mod.check_paths(snapshot, env)
    except replay_mod.BundleError as exc:
        raise pytest.UsageError(f"--replay {bundle}: {exc}") from None
    snapshot.meta["replay_of"] = str(bundle)
    return env, snapshot, verified


@dataclass(frozen=True)
class Original:
    """What a replay reproduces of the run it replays: its id, its checks and why it was incomplete."""
    run_id: str
    files: int  # files verified against its manifest
    incomplete: list[str]  # as the original's gate said, less what the gate itself adds ("no check ran")
    tests: frozenset[str] | None  # the checks it evaluated (None: unknown, evaluate every check)
    signer: str | None = None  # "<principal> SHA256:..." of the pinned key its signature verified with (None: not)
    decision: str | None = None  # the decision its gate.json records


ORIGINAL = pytest.StashKey[Original]()


def test_key(nodeid: str) -> str:
    """A check's id independent of rootdir: `<area>/<file>::<test>[<param>]`."""
    path, sep, rest = nodeid.partition("::")
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:]) + sep + rest


def original_of(bundle: Path, snapshot: Snapshot, signer: keys.Signer | None = None) -> Original:
    """The replayed run's gate (its files were just verified against the manifest)."""
    from checks.evidence.bundle import MANIFEST, resolve

    root = resolve(bundle)

    def doc(name: str) -> dict[str, Any]:
        try:
            data = json.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    manifest, gate, results = doc(MANIFEST), doc("gate.json"), doc("results.json")
    incomplete = [str(m) for m in gate.get("incomplete") or manifest.get("incomplete") or []
                  if not str(m).startswith("no check ran")]
    rows = results.get("results")
    tests = frozenset(test_key(str(r.get("test", ""))) for r in rows if isinstance(r, dict)) \
        if isinstance(rows, list) else None
    return Original(run_id=str(snapshot.meta.get("run_id") or manifest.get("run_id") or "?"),
                    files=len(manifest.get("files") or {}), incomplete=incomplete, tests=tests,
                    signer=signer.fingerprint if signer is not None else None,
                    decision=str(gate["decision"]) if gate.get("decision") else None)


def replay_selection(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A replay evaluates the checks its original evaluated, and no others (same selection, same gate)."""
    original = config.stash.get(ORIGINAL, None)
    if original is None or original.tests is None:
        return
    keep = [i for i in items if test_key(i.nodeid) in original.tests or i.get_closest_marker("issue") is None]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
