"""Collectors: read AWS, files and GitHub once, concurrently, into the run's Snapshot.

A collector is `collect(ctx)`. It reads AWS with `ctx.aws.read(spec)` (a `Read` spec from its
area's reads.py), infra repo files with `ctx.file`, and GitHub's REST API with its own client
(checks/areas/cicd/github.py), and fans out with `ctx.spawn(fn, *args)`, which runs `fn` in the
bounded pool. Collectors never raise for an AWS error: it is an observation. `collect_all`
returns when every spawned task has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.core.aws import Aws
from checks.core.config import Env
from checks.core.files import MAX_FILE_BYTES, FileRefused, read_bounded

__all__ = ["MAX_FILE_BYTES", "FileRefused", "read_bounded", "Context", "Options", "record", "collect_all",
           "CollectorCrashed"]
from checks.core.snapshot import Observation, Snapshot, iso, now


@dataclass
class Options:
    infra_repo: Path | None = None
    plan_json: Path | None = None
    github_token: str = ""
    github_api_url: str = ""
    github_repo: str = ""
    compare_with: Path | None = None


@dataclass
class Context:
    env: Env
    aws: Aws
    snapshot: Snapshot
    options: Options = field(default_factory=Options)
    _pool: ThreadPoolExecutor | None = None
    _pending: set[Future] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _errors: list[BaseException] = field(default_factory=list)

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        assert self._pool is not None
        self._notify("planned")
        fut = self._pool.submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(self._done)

    def _notify(self, event: str) -> None:
        notify = getattr(self.aws, "notify", None)  # progress observers (checks.plugin.progress)
        if notify is not None:
            notify(event)

    def _done(self, fut: Future) -> None:
        with self._lock:
            self._pending.discard(fut)
        if fut.exception() is not None:
            self._errors.append(fut.exception())
        self._notify("finished")

    def file(self, path: Path, root: Path | None = None) -> Observation:
        """Record a text file, keyed by its path relative to root (or as given, without one).

        The one reader of files for the whole suite (issue 10.5): a path under `root` that resolves
        outside it (a symlink to ~/.aws/credentials) is refused, only a regular file is read (not
        /dev/zero, a FIFO or a directory), and at most MAX_FILE_BYTES; each refusal is an error
        observation that says why, never the content."""
        rel = path.relative_to(root).as_posix() if root is not None else str(path)
        obs = Observation("file", "", "Read", {"path": rel}, iso(now()))
        try:
            obs.response = {"text": read_bounded(path, root)}
        except FileNotFoundError:
            obs.error = {"code": "FileNotFound", "message": f"{rel} does not exist"}
        except FileRefused as exc:
            obs.error = {"code": exc.code, "message": f"{rel}: {exc}"}
        except UnicodeDecodeError as exc:
            obs.error = {"code": "UnicodeDecodeError", "message": f"{rel} is not UTF-8 text: {exc.reason}"}
        except OSError as exc:
            obs.error = {"code": type(exc).__name__, "message": f"{rel}: {exc.strerror or exc}"}
        return self.snapshot.add(obs)


def record(ctx: Context, service: str, operation: str, params: dict[str, Any], response: Any = None,
           error: dict[str, str] | None = None) -> Observation:
    """Record what a collector saw that is not an AWS read or a file (a listing, a tool's output)."""
    obs = Observation(service, "", operation, params, iso(now()), response=response, error=error)
    return ctx.snapshot.add(obs)


class CollectorCrashed(Exception):
    """A collector raised: a bug or an unexpected answer. The run is incomplete."""


def collect_all(ctx: Context, collectors: list[Callable[[Context], None]]) -> Snapshot:
    ctx.snapshot.meta.setdefault("collected_at", iso(now()))
    # (config does not check concurrency >= 1; a pool of 0 workers would be a ValueError mid-run)
    with ThreadPoolExecutor(max_workers=max(1, ctx.env.concurrency), thread_name_prefix="collect") as pool:
        ctx._pool = pool
        for fn in collectors:
            ctx.spawn(fn, ctx)
        while True:
            with ctx._lock:
                pending = list(ctx._pending)
            if not pending:
                break
            for fut in pending:
                fut.exception()  # wait
    ctx._pool = None
    ctx._notify("collected")
    ctx.snapshot.meta["api_calls"] = ctx.aws.calls.sent
    ctx.snapshot.meta["duplicate_calls"] = ctx.aws.calls.duplicates()
    if ctx._errors:
        raise CollectorCrashed(f"a collector crashed: {ctx._errors[0]!r}") from ctx._errors[0]
    return ctx.snapshot
