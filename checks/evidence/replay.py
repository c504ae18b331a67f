"""`--replay <bundle>`: verify the manifest (and, with --verify-key, its signature), then hand back
the bundle's snapshot.

Nothing is loaded before every digest in the manifest has been checked; the first file
whose digest differs, or that is missing, is named in the refusal, and so is a file the manifest
does not list (only the signature, and issue 21's approvals/, live beside the manifest unlisted). A
bundle file that is a symlink is refused (its digest would be of a file outside the bundle); JSON
nested deeper than MAX_DEPTH is refused before it is parsed (no RecursionError anywhere later); the
snapshot must be of the run the manifest names; every snapshot field the replay uses as a path (the
env name names the new bundle's directory) must be a plain name, matched in full.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.core.nesting import deepest
from checks.core.snapshot import Snapshot
from checks.evidence import keys, signing
from checks.evidence.bundle import MANIFEST, resolve, sha256

SNAPSHOT = "snapshot.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_DEPTH = 200  # no bundle the suite writes nests deeper than ~20
MAX_MANIFEST_BYTES = 1 << 20
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # always fullmatch: `$` lets "local\n" through
UNLISTED = {MANIFEST, signing.SIGNATURE, "approvals"}  # beside the manifest by design (approvals: issue 21)


class BundleError(Exception):
    """The bundle cannot be replayed; the message says which file and why."""


def load_json(path: Path, name: str, limit: int | None = None) -> Any:
    """Parse one bundle file: not a symlink, bounded, nested at most MAX_DEPTH. Raises BundleError."""
    if path.is_symlink():
        raise BundleError(f"{name} is a symlink; refusing to read a bundle file that points elsewhere")
    if limit is not None and path.stat().st_size > limit:
        raise BundleError(f"{name} is {path.stat().st_size} bytes, above the {limit}-byte limit")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{name} is malformed: {exc}") from None
    if deepest(text) > MAX_DEPTH:
        raise BundleError(f"{name} is malformed: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"{name} is malformed: {type(exc).__name__}: {exc}") from None


def _manifest(bundle: Path) -> dict[str, Any]:
    path = bundle / MANIFEST
    if not bundle.is_dir():
        raise BundleError(f"{bundle} is not a bundle directory")
    if not path.is_symlink() and not path.is_file():
        raise BundleError(f"{MANIFEST} is missing: the bundle cannot be verified")
    manifest = load_json(path, MANIFEST, MAX_MANIFEST_BYTES)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{MANIFEST} is malformed: no 'files' table of digests")
    for name, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise BundleError(f"{MANIFEST} is malformed: no SHA-256 digest for {name}")
        if Path(name).name != name or name in (MANIFEST, "", ".", ".."):
            raise BundleError(f"{MANIFEST} is malformed: {name!r} is not a file of the bundle")
    if SNAPSHOT not in files:
        raise BundleError(f"{MANIFEST} does not list {SNAPSHOT}: the snapshot cannot be verified")
    return manifest


@dataclass(frozen=True)
class Verified:
    """A bundle whose every digest matched its manifest; `signer` the pinned key that signed it (None: no key was
    pinned, so only the digests were checked, and anyone can recompute those)."""
    bundle: Path
    manifest: dict[str, Any]
    signer: keys.Signer | None


def check(bundle: Path, pinned: Sequence[keys.Signer] | None = None, refusing: str = "refusing to replay") -> Verified:
    """Verify a bundle: its signature by a pinned key (when any is given), every listed file's SHA-256, and no
    unlisted file. Raises BundleError naming the first problem."""
    bundle = resolve(Path(bundle))
    manifest = _manifest(bundle)
    signer = None
    if pinned is not None:
        try:
            signer = signing.verify_bundle(bundle, pinned)
        except signing.SigningError as exc:
            raise BundleError(f"{exc}; {refusing}") from None
    _check_digests(bundle, manifest, refusing)
    unlisted = sorted(p.name for p in bundle.iterdir() if p.name not in manifest["files"] and p.name not in UNLISTED)
    if unlisted:
        raise BundleError(f"{unlisted[0]} is in the bundle but listed in no manifest: {refusing} a bundle with "
                          f"files its manifest (and signature) do not cover")
    return Verified(bundle=bundle, manifest=manifest, signer=signer)


def verify(bundle: Path, verify_key: Path | None = None) -> dict[str, Any]:
    """The manifest, after checking every file's SHA-256 against it (and, given a public key, the
    manifest's signature). Raises BundleError."""
    return check(bundle, _pinned(verify_key)).manifest


def _pinned(verify_key: Path | None) -> list[keys.Signer] | None:
    try:
        return keys.pinned(Path(verify_key)) if verify_key is not None else None
    except keys.KeyError_ as exc:
        raise BundleError(str(exc)) from None


def _check_digests(bundle: Path, manifest: dict[str, Any], refusing: str) -> None:
    for name, entry in manifest["files"].items():
        path = bundle / name
        if path.is_symlink():
            raise BundleError(f"{name} is a symlink; {refusing} a bundle file that points elsewhere")
        if not path.is_file():
            raise BundleError(f"{name} is listed in {MANIFEST} but missing from the bundle")
        actual = sha256(path)
        if actual != entry["sha256"]:
            raise BundleError(f"{name} has been modified: its SHA-256 is {actual}, the manifest says "
                              f"{entry['sha256']}; {refusing} a tampered bundle")


def verified_snapshot(bundle: Path, verify_key: Path | None = None) -> Snapshot:
    """The snapshot of a verified bundle. Raises BundleError naming the first bad file."""
    return verified_replay(bundle, _pinned(verify_key))[0]


def verified_replay(bundle: Path, pinned: Sequence[keys.Signer] | None = None) -> tuple[Snapshot, Verified]:
    """The snapshot of a verified bundle, and how it was verified; the snapshot must be of the manifest's run."""
    verified = check(bundle, pinned)
    data = load_json(verified.bundle / SNAPSHOT, SNAPSHOT)
    try:
        snapshot = Snapshot.from_dict(data)
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{SNAPSHOT} is malformed: {type(exc).__name__}: {exc}") from None
    ours, theirs = snapshot.meta.get("run_id"), verified.manifest.get("run_id")
    if ours is not None and theirs is not None and ours != theirs:
        raise BundleError(f"{SNAPSHOT} is of run {ours!r} but {MANIFEST} is of run {theirs!r}: a snapshot from "
                          "another run; refusing to replay")
    return snapshot, verified


def check_paths(snapshot: Snapshot, env: Any) -> None:
    """Every snapshot field a replay uses as a path must be a plain name. Raises BundleError."""
    for what, value in (("env name", getattr(env, "name", None)), ("meta.env_name", snapshot.meta.get("env_name")),
                        ("meta.run_id", snapshot.meta.get("run_id"))):
        if value is None and what != "env name":
            continue
        if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
            raise BundleError(f"{SNAPSHOT} is malformed: its {what} {value!r} is not a plain name "
                              "(letters, digits, '.', '_', '-'); replay would write outside reports/")
