"""The run's raw observations: every AWS, GitHub and file read, keyed for lookup.

Assertions read only this. A live run fills it; `--replay` loads it from a bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Error codes that are answers ("it is not there"), not failures to read.
ABSENT = frozenset({
    "ResourceNotFoundException", "TableNotFoundException", "NoSuchBucket", "NoSuchKey", "404",
    "NotFound", "NoSuchEntity", "NoSuchBucketPolicy", "NoSuchTagSet", "NoSuchTagSetError",
    "ServerSideEncryptionConfigurationNotFoundError", "ReplicationConfigurationNotFoundError",
    "NoSuchLifecycleConfiguration", "NoSuchPublicAccessBlockConfiguration", "FileNotFound",
    "NoSuchPublicAccessBlockConfigurationException",
})
_ABSENT_SHAPE = re.compile(r"NotFound|^NoSuch")
DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "403", "Forbidden", "AllAccessDisabled",
})


def key(service: str, region: str, operation: str, params: dict[str, Any]) -> str:
    return f"{service}|{region}|{operation}|{json.dumps(params, sort_keys=True, default=str)}"


@dataclass
class Observation:
    service: str
    region: str
    operation: str
    params: dict[str, Any]
    time: str
    response: Any = None
    error: dict[str, str] | None = None  # {"code": ..., "message": ...}
    elapsed_ms: float = 0.0

    @property
    def key(self) -> str:
        return key(self.service, self.region, self.operation, self.params)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str:
        return self.error["code"] if self.error else ""

    @property
    def absent(self) -> bool:
        """The answer says the thing read does not exist (whatever the service calls that: moto and AWS
        spell it ResourceNotFoundException, ResourceNotFound, NoSuchX, XNotFoundError, 404)."""
        code = self.code or ""
        return code in ABSENT or bool(_ABSENT_SHAPE.search(code))

    @property
    def denied(self) -> bool:
        return self.code in DENIED

    @property
    def label(self) -> str:
        return f"{self.service}:{self.operation}"

    def resource(self) -> str:
        """The resource a call was about, for DDB-06 findings."""
        p = self.params
        for k in ("TableName", "Bucket", "BackupVaultName", "RoleName", "ResourceArn", "BackupPlanId",
                  "path", "url"):
            if k in p:
                return str(p[k])
        return "account"


class Snapshot:
    """Observations by key, plus run metadata. Thread-safe for the collectors."""

    def __init__(self, meta: dict[str, Any] | None = None):
        self.meta: dict[str, Any] = meta or {}
        self._obs: dict[str, Observation] = {}
        self._lock = threading.Lock()
        self._denied: list[Observation] = []
        self.reads: list[str] | None = None  # keys read by the current test, set by the plugin

    def add(self, obs: Observation) -> Observation:
        with self._lock:
            kept = self._obs.setdefault(obs.key, obs)
            if kept is obs and obs.denied:
                self._denied.append(obs)
            return kept

    def denied(self) -> list[Observation]:
        """The observations refused with an access error (DDB-06), without walking the whole snapshot."""
        return list(self._denied)

    def get(self, service: str, region: str, operation: str, **params: Any) -> Observation | None:
        k = key(service, region, operation, params)
        if self.reads is not None and k not in self.reads:
            self.reads.append(k)
        return self._obs.get(k)

    def __iter__(self) -> Iterator[Observation]:
        return iter(list(self._obs.values()))

    def __len__(self) -> int:
        return len(self._obs)

    def find(self, service: str | None = None, operation: str | None = None) -> list[Observation]:
        return [o for o in self if (service is None or o.service == service)
                and (operation is None or o.operation == operation)]

    def by_key(self, k: str) -> Observation | None:
        return self._obs.get(k)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form. Shallow: responses are shared with the snapshot (copy before mutating);
        asdict's deep copy cost ~2 s per dump at 15 000 observations (bench/, N = 1000)."""
        names = [f.name for f in fields(Observation)]
        return {"meta": self.meta, "observations": [{n: getattr(o, n) for n in names} for o in self]}

    def dump(self, path: Path) -> None:
        # Key order is kept: the env's tables are ordered, and replay must rebuild them in order.
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """A snapshot from its to_dict() form. Raises TypeError (or KeyError) naming what is malformed."""
        if not isinstance(data, dict):
            raise TypeError(f"a snapshot is a JSON object, got {type(data).__name__}")
        meta, observations = data.get("meta", {}), data["observations"]
        if not isinstance(meta, dict):
            raise TypeError(f"snapshot meta is a JSON object, got {type(meta).__name__}")
        if not isinstance(observations, list):
            raise TypeError(f"snapshot observations are a list, got {type(observations).__name__}")
        snap = cls(dict(meta))
        for i, o in enumerate(observations):
            snap.add(_observation(o, i))
        return snap

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


_OBS_FIELDS = {"service": str, "region": str, "operation": str, "params": dict, "time": str}


def _observation(o: Any, i: int) -> Observation:
    if not isinstance(o, dict):
        raise TypeError(f"observation {i} is a JSON object, got {type(o).__name__}")
    for name, typ in _OBS_FIELDS.items():
        if not isinstance(o.get(name), typ):
            raise TypeError(f"observation {i}: '{name}' must be a {typ.__name__}, got {type(o.get(name)).__name__}")
    err = o.get("error")
    if err is not None and not (isinstance(err, dict)
                                and all(isinstance(err.get(k), str) for k in ("code", "message"))):
        raise TypeError(f"observation {i}: 'error' must be null or {{code, message}} strings")
    if not isinstance(o.get("elapsed_ms", 0.0), (int, float)) or isinstance(o.get("elapsed_ms"), bool):
        raise TypeError(f"observation {i}: 'elapsed_ms' must be a number")
    return Observation(**o)  # an unknown or missing field is a TypeError too


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def jsonable(value: Any) -> Any:
    """A botocore response as plain JSON: datetimes to ISO, bytes and bodies to text."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode()}
    if hasattr(value, "read"):  # a StreamingBody
        return jsonable(value.read())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class Calls:
    """Counts of requests sent, for the duplicate-call and benchmark figures."""
    sent: int = 0
    by_key: dict[str, int] = field(default_factory=dict)

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.by_key.values() if n > 1)
