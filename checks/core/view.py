"""The base of every resource view: a name, a region, and look-ups of the snapshot by read spec.

A view's property returns data, raises Missing when the resource itself is absent (its own
check reports that), or raises Unverifiable when the read failed. Views never read AWS.
"""

from __future__ import annotations

from typing import Any

from checks.core.config import Env
from checks.core.outcome import Missing
from checks.core.read import Read
from checks.core.snapshot import Observation, Snapshot


class setting(property):  # noqa: N801  (a kind of property, spelled like one)
    """A property that is part of the resource's configuration: PDV-08 compares every one between envs."""


def settings(cls: type) -> list[str]:
    """The names of a view class's settings, in definition order."""
    return [name for klass in reversed(cls.__mro__) for name, v in vars(klass).items() if isinstance(v, setting)]


class View:
    def __init__(self, snapshot: Snapshot, env: Env, name: str, region: str | None = None):
        self.snapshot, self.env, self.name = snapshot, env, name
        self.region = region or env.region

    def seen(self, spec: Read) -> Observation | None:
        """The observation of this read (None when it was not collected)."""
        return self.snapshot.get(spec.service, spec.region or self.region, spec.operation, **spec.params)

    def context(self) -> dict[str, Any]:
        return {"region": self.region, "resource": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def table_missing(name: str, region: str) -> Missing:
    return Missing(f"table {name} does not exist in {region} (reported by DDB-01)", by="DDB-01/table")


def bucket_missing(name: str) -> Missing:
    return Missing(f"bucket {name} does not exist (reported by S3-01)", by="S3-01/bucket")


def plan_missing(plan: str) -> Missing:
    return Missing(f"backup plan {plan} does not exist (reported by test_backup_plan)", by="DDB-04/plan")
