"""S3 replication: moto stores a replication configuration but never replicates. Replicate
for real, after a delay, on a timer thread: PENDING -> COMPLETED (the copy is a REPLICA) or FAILED.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import moto.s3.exceptions  # noqa: F401 - imported with this module (see checks.world.patches)
import moto.s3.models  # noqa: F401
import moto.s3.responses  # noqa: F401

_lock = threading.RLock()
_generation = 0  # bumped on every reset; stale replication timers check it
_timers: dict[threading.Timer, Callable[[], bool]] = {}  # pending replications and how to run each
delay = 0.5  # seconds before a replication happens; World sets it (set_delay)
_replicating = threading.local()


def _s3(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def _rule_for(bucket: Any, key_name: str) -> tuple[dict[str, Any], str] | None:
    config = getattr(bucket, "replication", None)
    if not config:
        return None
    rules = []
    for rule in config.get("Rule", []):
        if rule.get("Status") != "Enabled":
            continue
        filt = rule.get("Filter") or {}
        prefix = (filt.get("Prefix") if isinstance(filt, dict) else None) or rule.get("Prefix") or ""
        if isinstance(filt, dict) and isinstance(filt.get("And"), dict):
            prefix = filt["And"].get("Prefix") or ""
        if key_name.startswith(prefix):
            rules.append(rule)
    if not rules:
        return None
    rules.sort(key=lambda r: -int(r.get("Priority") or 0))
    return rules[0], config.get("Role", "")


def _schedule(delay: float, fn: Callable[[], None]) -> None:
    generation = _generation
    done = threading.Event()  # run once, by the timer or by run_pending, whichever comes first

    def run() -> bool:
        with _lock:
            if done.is_set():
                return False
            done.set()
        try:
            if generation == _generation:  # a reset since scheduling: the objects are gone
                fn()
        except Exception:  # noqa: BLE001 - a replication problem must never kill the server thread
            pass
        finally:
            with _lock:
                _timers.pop(timer, None)  # only now: pending() counts running ones too
        return True

    timer = threading.Timer(delay, run)
    timer.daemon = True
    with _lock:
        _timers[timer] = run
    timer.start()


def _destination_ok(account: str, rule: dict[str, Any], role: str) -> Any:
    from moto.iam.models import iam_backends

    dest_name = str(rule["Destination"]["Bucket"]).split(":::")[-1]
    try:
        dest = _s3(account).get_bucket(dest_name)
        iam_backends[account]["aws"].get_role_by_arn(role)
    except Exception:  # noqa: BLE001 - MissingBucket or a missing role: the replication FAILS
        return None
    return dest if dest.is_versioned else None


def _replicate(account: str, bucket_name: str, key: Any, rule: dict[str, Any], role: str) -> None:
    dest = _destination_ok(account, rule, role)
    if dest is None:
        key.replication_status = "FAILED"
        return
    _replicating.active = True
    try:
        replica = _s3(account).put_object(dest.name, key.name, key.value, disable_notification=True)
    finally:
        _replicating.active = False
    replica.set_metadata(key.metadata)
    if getattr(key, "_version_id", None) and key._version_id != "null":
        replica._version_id = key._version_id
    replica.replication_status = "REPLICA"
    key.replication_status = "COMPLETED"


def patch() -> None:
    from moto.s3.models import FakeKey, S3Backend
    from moto.s3.responses import S3Response

    original_put = S3Backend.put_object

    def put_object(self: Any, bucket_name: str, key_name: str, value: bytes, *args: Any, **kwargs: Any) -> Any:
        key = original_put(self, bucket_name, key_name, value, *args, **kwargs)
        if getattr(_replicating, "active", False):
            return key
        found = _rule_for(self.get_bucket(bucket_name), key_name)
        if found:
            rule, role = found
            key.replication_status = "PENDING"
            account = self.account_id
            _schedule(delay, lambda: _replicate(account, bucket_name, key, rule, role))
        return key

    S3Backend.put_object = put_object

    # Delete markers are replicated when the rule says so (a versioned delete without a version id).
    original_delete = S3Backend.delete_object

    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                      *args: Any, **kwargs: Any) -> Any:
        result = original_delete(self, bucket_name, key_name, version_id, *args, **kwargs)
        try:
            bucket = self.get_bucket(bucket_name)
        except Exception:  # noqa: BLE001 - the bucket is gone: nothing to replicate
            return result
        found = _rule_for(bucket, key_name)
        if (found and version_id is None and bucket.is_versioned and not getattr(_replicating, "active", False)
                and (found[0].get("DeleteMarkerReplication") or {}).get("Status") == "Enabled"):
            rule, role = found
            account = self.account_id

            def replicate_marker() -> None:
                dest = _destination_ok(account, rule, role)
                if dest is not None:
                    _replicating.active = True
                    try:
                        original_delete(_s3(account), dest.name, key_name)
                    finally:
                        _replicating.active = False

            _schedule(delay, replicate_marker)
        return result

    S3Backend.delete_object = delete_object

    # GetObject/HeadObject report x-amz-replication-status.
    original_dict = FakeKey.response_dict

    def response_dict(self: Any) -> dict[str, Any]:
        res = original_dict.fget(self)
        if getattr(self, "replication_status", None):
            res["x-amz-replication-status"] = self.replication_status
        return res

    FakeKey.response_dict = property(response_dict)

    # moto's GetBucketReplication hard-codes DeleteMarkerReplication Disabled and Filter
    # {Prefix: ""}; answer with what was stored.
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = []
        for rule in replication["Rule"]:
            out = {k: v for k, v in rule.items() if v is not None}
            out["Priority"] = int(rule.get("Priority") or 0)
            if "Filter" in rule:
                out["Filter"] = rule["Filter"] or {}
            out.setdefault("DeleteMarkerReplication", {"Status": "Disabled"})
            rules.append(out)
        return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"],
                                                                          "Rules": rules}}))

    S3Response.get_bucket_replication = get_bucket_replication


def set_delay(seconds: float) -> None:
    global delay
    delay = seconds


def pending() -> int:
    """Replications scheduled or running."""
    with _lock:
        return len(_timers)


def run_pending() -> None:
    """Run every scheduled replication now, in this thread (the world build and tests that must
    see PENDING first use it instead of waiting for the delay)."""
    while True:
        with _lock:
            due = [(timer, run) for timer, run in _timers.items()]
        if not due:
            return
        ran = False
        for timer, run in due:
            timer.cancel()
            ran = run() or ran
        if not ran:  # the timer threads are running them: let them finish
            time.sleep(0.01)


def reset() -> None:
    """Forget pending replications (their objects are about to be reset)."""
    global _generation
    with _lock:
        _generation += 1
        for timer in list(_timers):
            timer.cancel()
        _timers.clear()
