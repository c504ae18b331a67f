"""`--replay <bundle>`: verify the manifest, then hand back the bundle's snapshot.

Nothing is loaded before every digest in the manifest has been checked; the first file
whose digest differs, or that is missing, is named in the refusal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from checks.core.snapshot import Snapshot
from checks.evidence.bundle import MANIFEST, resolve, sha256

SNAPSHOT = "snapshot.json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BundleError(Exception):
    """The bundle cannot be replayed; the message says which file and why."""


def _manifest(bundle: Path) -> dict[str, Any]:
    path = bundle / MANIFEST
    if not bundle.is_dir():
        raise BundleError(f"{bundle} is not a bundle directory")
    if not path.is_file():
        raise BundleError(f"{MANIFEST} is missing: the bundle cannot be verified")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{MANIFEST} is malformed: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{MANIFEST} is malformed: no 'files' table of digests")
    for name, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise BundleError(f"{MANIFEST} is malformed: no SHA-256 digest for {name}")
        if Path(name).name != name or name in (MANIFEST, "", ".", ".."):
            raise BundleError(f"{MANIFEST} is malformed: {name!r} is not a file of the bundle")
    if SNAPSHOT not in files:
        raise BundleError(f"{MANIFEST} does not list {SNAPSHOT}: the snapshot cannot be verified")
    return manifest


def verify(bundle: Path) -> dict[str, Any]:
    """The manifest, after checking every file's SHA-256 against it. Raises BundleError."""
    bundle = resolve(Path(bundle))
    manifest = _manifest(bundle)
    for name, entry in manifest["files"].items():
        path = bundle / name
        if not path.is_file():
            raise BundleError(f"{name} is listed in {MANIFEST} but missing from the bundle")
        actual = sha256(path)
        if actual != entry["sha256"]:
            raise BundleError(f"{name} has been modified: its SHA-256 is {actual}, the manifest says "
                              f"{entry['sha256']}; refusing to replay a tampered bundle")
    return manifest


def verified_snapshot(bundle: Path) -> Snapshot:
    """The snapshot of a verified bundle. Raises BundleError naming the first bad file."""
    bundle = resolve(Path(bundle))
    verify(bundle)
    try:
        return Snapshot.load(bundle / SNAPSHOT)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BundleError(f"{SNAPSHOT} is malformed: {type(exc).__name__}: {exc}") from None
