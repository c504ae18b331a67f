"""S3 object versions while versioning is off.

S3 keeps the versions of a bucket whose versioning is suspended, names the version written while
versioning was off (never enabled, or suspended) `null`, and accepts a version id on HeadObject and
DeleteObject in every bucket: a versioned DeleteObject removes that one version. moto 5.2 answers a
HeadObject with a version id by a bare 400 unless versioning is enabled, and in a suspended bucket a
DeleteObject with a version id removes every version of the key. Both follow S3 here.
"""

from __future__ import annotations

from typing import Any

import moto.s3.models  # noqa: F401 - imported with this module (see checks.world.patches)
import moto.s3.responses  # noqa: F401


class _AsVersioned:
    """A bucket as moto's "versioning enabled?" gate of HeadObject sees it; everything else is the bucket."""
    is_versioned = True

    def __init__(self, bucket: Any):
        self._bucket = bucket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


class _Backend:
    def __init__(self, backend: Any):
        self._backend = backend

    def get_bucket(self, name: str) -> Any:
        return _AsVersioned(self._backend.get_bucket(name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


class _Response:
    def __init__(self, response: Any):
        self._response = response

    @property
    def backend(self) -> _Backend:
        return _Backend(self._response.backend)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


def patch() -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    if getattr(S3Response.head_object, "bbws_versions", False):
        return
    head, delete = S3Response.head_object, S3Backend.delete_object

    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str,
                    headers: dict[str, Any]) -> Any:
        if query.get("versionId", [None])[0] and not self.backend.get_bucket(bucket_name).is_versioned:
            return head(_Response(self), bucket_name, query, key_name, headers)
        return head(self, bucket_name, query, key_name, headers)

    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                      bypass: bool = False) -> tuple[bool, dict[str, Any]]:
        bucket = self.get_bucket(bucket_name)
        if version_id is None or getattr(bucket, "versioning_status", None) != "Suspended":
            return delete(self, bucket_name, key_name, version_id, bypass)
        versions = bucket.keys.getlist(key_name, default=[])
        kept = [k for k in versions if str(k.version_id) != str(version_id)]
        if not versions:
            return False, {}
        if kept:
            bucket.keys.setlist(key_name, kept)
        else:
            bucket.keys.pop(key_name)
        return True, {"version-id": version_id}

    head_object.bbws_versions = True  # type: ignore[attr-defined]
    S3Response.head_object = head_object
    S3Backend.delete_object = delete_object
