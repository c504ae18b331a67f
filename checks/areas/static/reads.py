"""The static area's reads: no AWS, only the infra repo's files, as the collector records them.

`file` observations have no region; `seen` looks them up the way the collector keys them
(`ctx.file` for each file, one `List` of the repo's paths).
"""

from __future__ import annotations

from checks.core.read import Read, read
from checks.core.snapshot import Observation, Snapshot

SUFFIXES = (".tf", ".tfvars", ".terraform.lock.hcl")


def listing() -> Read:
    return read("file", "List", path=".")


def file_text(rel: str) -> Read:
    return read("file", "Read", path=rel)


def seen(snapshot: Snapshot, spec: Read) -> Observation | None:
    return snapshot.get(spec.service, "", spec.operation, **spec.params)
