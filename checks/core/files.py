"""The one bounded, confined reader of a file from disk (infra repo files, environments.toml, a plan).

Only a regular file is read (not /dev/zero, a FIFO or a directory), at most `limit` bytes, and with a
`root`, never one whose real path leaves it (a symlink to ~/.aws/credentials)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 5 * 1024 * 1024


class FileRefused(OSError):
    """A file the suite will not read: outside the repo, not a regular file, or too large."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def read_bounded(path: Path, root: Path | None = None, limit: int | None = None) -> str:
    """The UTF-8 text of a regular file, refusing what leaves `root` (after symlinks) or exceeds `limit`."""
    limit = MAX_FILE_BYTES if limit is None else limit
    real = Path(os.path.realpath(path))
    if root is not None:
        base = Path(os.path.realpath(root))
        if real != base and base not in real.parents:
            raise FileRefused("OutsideRepo", "is a symlink that leaves the repository; it was not read")
    # O_NONBLOCK: opening a FIFO must not hang; fstat on the open descriptor, so the check is on what is read
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("NotARegularFile", "is not a regular file; it was not read")
        if info.st_size > limit:
            raise FileRefused("TooLarge", f"is {info.st_size} bytes, above the {limit}-byte limit; it was not read")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileRefused("TooLarge", f"is above the {limit}-byte limit; it was not read")
    return data.decode("utf-8")
