"""The evidence bundle on disk: atomic writes, the manifest of SHA-256 digests, sealing, the `latest` pointer.

A bundle is written into a hidden sibling, `.<name>.partial`, and renamed onto its reserved (empty) directory
`<name>` once its manifest is written (and signed): a directory named like a bundle is always a sealed one.
A bundle that cannot be sealed (a full disk) loses every file that states a decision and becomes
`<name>.unsealed` with a NO-GO gate.json, when even that can be written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from checks.evidence import redact

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 1
Portable = Sequence[tuple[str, str]]  # absolute prefixes and what they become (provenance.portable_paths)
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # matched in full (fullmatch), never `$`
DECIDING = ("gate.json", "results.json", "report.html", MANIFEST, "manifest.json.sig")  # files stating a decision


class LatestError(OSError):
    """`latest` is not the suite's own pointer (e.g. a real directory): it is never replaced."""


def unwritable(base: Path) -> str | None:
    """Why no bundle can be written under `base` (created when missing), or None: probed with a real file, since
    permission bits say nothing to root or on a read-only mount."""
    if base.exists() and not base.is_dir():
        return f"{base} is a file, not a directory"
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".bbws-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write to {base}: {exc.strerror or exc}"
    return None


def new_dir(base: Path, env: str, when: dt.datetime | None = None) -> Path:
    """reports/<env>/<UTC timestamp>/, created (empty: a reservation until sealed); a suffix only when two runs
    share a second."""
    if not PLAIN_NAME.fullmatch(env):
        raise OSError(f"env name {env!r} is not a plain name (letters, digits, '.', '_', '-'): no bundle directory "
                      "is made from it")
    when = when or dt.datetime.now(dt.UTC)
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parent = base / env
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        path = parent / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise OSError(f"cannot create a bundle directory under {parent}")


def write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same directory and os.replace it into place."""
    _write_atomic(path, [data])


def _write_atomic(path: Path, parts: Iterable[bytes]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


SLICE = 1 << 20  # characters encoded at a time: a 17 MB page is never held twice over as bytes


def write_text(path: Path, text: str, portable: Portable | None = None) -> None:
    """Redact secrets (over the whole text: a credential may span what any chunking would cut), make the
    runner's absolute paths relative (`portable`: prefix -> replacement, see provenance.portable_paths),
    then write atomically, encoding a slice at a time."""
    text = redact.text(text)
    for prefix, short in portable or ():
        if prefix in text:
            text = text.replace(prefix, short)
    _write_atomic(path, (text[i:i + SLICE].encode("utf-8") for i in range(0, len(text), SLICE)))


def json_text(data: Any, sort_keys: bool = True) -> str:
    """json.dumps(data, indent=1), without its list of every token: with an indent json.dumps joins
    the pure-Python encoder's chunks, a few million small strings for a 14 MB snapshot (~90 MB);
    these are joined a batch at a time."""
    chunks = json.JSONEncoder(indent=1, sort_keys=sort_keys, default=str).iterencode(data)
    batches = []
    while batch := "".join(itertools.islice(chunks, 65536)):
        batches.append(batch)
    return "".join(batches)


def write_json(path: Path, data: Any, sort_keys: bool = True, portable: Portable | None = None) -> None:
    """JSON, indented; sort_keys=False where order is meaning (the snapshot's env: its tables' order)."""
    write_text(path, json_text(data, sort_keys) + "\n", portable)


def adopt(written: Path, final: Path, portable: Portable | None = None) -> bool:
    """Move a file another plugin wrote (pytest-html, junitxml) into place, redacted. False when absent."""
    if not written.is_file():
        return False
    write_text(final, written.read_text(encoding="utf-8", errors="replace"), portable)
    if written != final:
        written.unlink()
    return True


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(bundle: Path, info: dict[str, Any], portable: Portable | None = None
                   ) -> dict[str, Any]:
    """Hash every file in the bundle (but the manifest) and write manifest.json last."""
    files = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
             for p in sorted(bundle.iterdir()) if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")}
    manifest = {"schema": MANIFEST_SCHEMA, **info, "files": files}
    write_json(bundle / MANIFEST, manifest, portable=portable)
    return manifest


def staging_of(final: Path) -> Path:
    """The hidden sibling a bundle is written into before it is sealed."""
    return final.parent / f".{final.name}.partial"


def seal(staging: Path, final: Path) -> None:
    """Rename the written, hashed (and signed) bundle onto its reserved empty directory."""
    try:
        os.rename(staging, final)  # POSIX: replaces the empty reservation atomically
    except OSError:
        final.rmdir()
        os.rename(staging, final)


def unseal(staging: Path, final: Path, why: str) -> Path:
    """A bundle that could not be sealed: drop every file that states a decision (deleting needs no space),
    write a NO-GO gate.json if it can, and move it to `<name>.unsealed` (the bundle's name stays free)."""
    for name in DECIDING:
        (staging / name).unlink(missing_ok=True)
    for leftover in staging.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    try:
        write_json(staging / "gate.json", {"decision": "NO-GO", "complete": False, "sealed": False, "gate_run": False,
                                          "incomplete": [f"the bundle could not be sealed: {why}"]})
    except OSError:
        (staging / "gate.json").unlink(missing_ok=True)
    if final.is_dir() and not any(final.iterdir()):
        final.rmdir()
    target = final.parent / f"{final.name}.unsealed"
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
    return target


def is_pointer(latest: Path) -> bool:
    """Is `latest` the suite's own pointer: a symlink, or a short text file naming a sibling?"""
    if latest.is_symlink():
        return True
    if not latest.is_file() or latest.stat().st_size > 256:
        return False
    try:
        return bool(PLAIN_NAME.fullmatch(latest.read_text(encoding="utf-8").strip()))
    except (OSError, UnicodeDecodeError):
        return False


def point_latest(bundle: Path) -> Path:
    """reports/<env>/latest -> <bundle>: a relative symlink, or a text file naming it where symlinks fail.
    Raises LatestError, replacing nothing, when `latest` exists and is not the suite's own pointer."""
    latest = bundle.parent / "latest"
    if (latest.exists() or latest.is_symlink()) and not is_pointer(latest):
        what = "a real directory" if latest.is_dir() else "not the suite's pointer"
        raise LatestError(f"{latest.parent.name}/latest is {what}, not the suite's pointer: refusing to replace "
                          f"it, so `latest` was not moved to {bundle.name}; move it away and re-run")
    tmp = bundle.parent / f".latest.{os.getpid()}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(bundle.name, tmp)
        os.replace(tmp, latest)
    except OSError:
        tmp.unlink(missing_ok=True)
        if latest.is_symlink():
            latest.unlink()
        write_bytes(latest, (bundle.name + "\n").encode())
    return latest


def resolve(path: Path) -> Path:
    """A bundle directory, following a `latest` symlink or text pointer."""
    if path.name == "latest" and not path.is_symlink() and is_pointer(path):
        return path.parent / path.read_text(encoding="utf-8").strip()
    return path
