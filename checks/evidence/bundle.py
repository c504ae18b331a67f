"""The evidence bundle on disk: atomic writes, the manifest of SHA-256 digests, the `latest` pointer."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from checks.evidence import redact

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 1


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
    """reports/<env>/<UTC timestamp>/, created; a suffix only when two runs share a second."""
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


def write_text(path: Path, text: str) -> None:
    """Redact secrets (over the whole text: a credential may span what any chunking would cut), then
    write atomically, encoding a slice at a time."""
    text = redact.text(text)
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


def write_json(path: Path, data: Any, sort_keys: bool = True) -> None:
    """JSON, indented; sort_keys=False where order is meaning (the snapshot's env: its tables' order)."""
    write_text(path, json_text(data, sort_keys) + "\n")


def adopt(written: Path, final: Path) -> bool:
    """Move a file another plugin wrote (pytest-html, junitxml) into place, redacted. False when absent."""
    if not written.is_file():
        return False
    write_text(final, written.read_text(encoding="utf-8", errors="replace"))
    if written != final:
        written.unlink()
    return True


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def git_sha(where: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None


def write_manifest(bundle: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Hash every file in the bundle (but the manifest) and write manifest.json last."""
    files = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
             for p in sorted(bundle.iterdir()) if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")}
    manifest = {"schema": MANIFEST_SCHEMA, **info, "files": files}
    write_json(bundle / MANIFEST, manifest)
    return manifest


def point_latest(bundle: Path) -> Path:
    """reports/<env>/latest -> <bundle>: a relative symlink, or a text file naming it where symlinks fail."""
    latest = bundle.parent / "latest"
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
    if path.is_file() and path.name == "latest":
        return path.parent / path.read_text(encoding="utf-8").strip()
    return path
