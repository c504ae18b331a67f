"""What an area package declares about itself (`AREA` in checks/areas/<name>/__init__.py), and what a
runbook fault declares about its effect. Everything that lists areas, markers, reads or faults elsewhere
(the plugin's markers, the read allowlist and the IAM policies, the report's labels, the fault oracle and
the world's expectations) is derived from these declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AwsReads = Literal["all", "some", "none"]
Operation = tuple[str, str]  # (boto3 service name, API operation), e.g. ("dynamodb", "DescribeTable")


IAM_ACTIONS: dict[Operation, str] = {}  # declared with operations("s3:GetBucketX=s3:GetX") where IAM differs


def operations(*labels: str) -> frozenset[Operation]:
    """frozenset of (service, operation) from "service:Operation" labels. Where the IAM action that
    authorizes a call is not "service:Operation", say so: "s3:HeadBucket=s3:ListBucket"."""
    out = set()
    for label in labels:
        call, _, action = label.partition("=")
        service, sep, operation = call.partition(":")
        if not (sep and service and operation) or (action and ":" not in action):
            raise ValueError(f"an operation is 'service:Operation' or 'service:Operation=iam:Action', got {label!r}")
        out.add((service, operation))
        if action:
            if IAM_ACTIONS.get((service, operation), action) != action:
                raise ValueError(f"{call} is authorized by {IAM_ACTIONS[(service, operation)]}, not {action}")
            IAM_ACTIONS[(service, operation)] = action
    return frozenset(out)


@dataclass(frozen=True)
class Area:
    """An area of checks: a package under checks/areas/ and a folder under tests/ of the same name."""
    name: str
    label: str  # how the report and the summaries name it ("DynamoDB")
    prefixes: tuple[str, ...]  # the catalog id prefixes of its own checks ("DDB"); none for an area that shares ids
    markers: Mapping[str, str]  # the pytest markers it introduces, with their help text
    order: int  # where it stands in the report's picture
    aws_reads: AwsReads = "all"  # how much of it reads AWS: all, some (cicd), none (files only)
    reads: frozenset[Operation] = frozenset()  # what a run without canaries calls (reads.py READS)
    canary_reads: frozenset[Operation] = frozenset()  # read calls made only with --canary
    faults: str = ""  # the module that registers its faults (checks.areas.<name>.faults), imported for drills only


Kind = Literal["table", "bucket", "template", "plan", "none"]


@dataclass(frozen=True)
class Fault:
    """A runbook fault the embedded world can inject, and what it must do to the suite.

    `fails` and `errors` map test ids (with `{r}` for the fault's resource) to the catalog id that must
    fail, or be an error, for that resource; nothing else may. `changes` names the reads whose answers
    the fault may change ("service:Operation"), which test_world checks against the world itself.
    `removes` is what the fault deletes ("table", "bucket"): a fault that `needs` it, on the same
    resource, is then masked (its checks are skipped: the removal is the finding).
    """
    id: str
    kind: Kind
    description: str
    inject: Callable[[Any, Any], None]
    fails: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    changes: frozenset[Operation] = frozenset()
    removes: str = ""
    needs: str = ""
    area: str = ""
    after: tuple[str, ...] = ()  # faults it is injected after, when they are present (it breaks what they keep)

    def resources(self, env: Any) -> list[str]:
        if self.kind == "table":
            return list(env.tables)
        if self.kind == "bucket":
            return [env.s3.bucket]
        if self.kind == "template":
            return list(env.s3.templates)
        if self.kind == "plan":
            return [env.backup.plan] if getattr(env, "backup", None) else []
        return []

    def default_resource(self, env: Any) -> str | None:
        found = self.resources(env)
        return found[0] if found else None

    def expect(self, env: Any, resource: str | None) -> dict[str, Expected]:
        """What this fault on `resource` must do: test id -> the check that fails (or errors) and the
        resource its record names (the fault's own where the id is written with `{r}` or has no parameter,
        e.g. test_backup_plan; else the test's parameter: the lock table, the state key)."""
        out = {}
        for outcome, tests in (("failed", self.fails), ("error", self.errors)):
            for template, check in tests.items():
                test = _fill(template, env, resource)
                own = "{r}" in template or "[" not in template
                named = resource if own else test.partition("[")[2].removesuffix("]")
                out[test] = Expected(check, outcome, str(named))
        return out


@dataclass(frozen=True)
class Expected:
    check: str
    outcome: str  # failed | error
    resource: str


def _fill(template: str, env: Any, resource: str | None) -> str:
    """A test id: `{r}` is the fault's resource; `{lock_table}`, `{state_key}` and `{bucket}` the env's."""
    tf = getattr(env, "terraform", None)
    return template.format(r=resource, bucket=env.s3.bucket, lock_table=getattr(tf, "lock_table", ""),
                           state_key=getattr(tf, "state_key", ""))
