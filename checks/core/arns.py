"""ARNs and regions of the env's resources: the one home of how they are spelled."""

from __future__ import annotations

from checks.core.config import Env


def table_arn(env: Env, name: str, region: str | None = None) -> str:
    return f"arn:aws:dynamodb:{region or env.region}:{env.account}:table/{name}"


def role_arn(env: Env, name: str) -> str:
    return f"arn:aws:iam::{env.account}:role/{name}"


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def objects_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}/*"


def bucket_region(env: Env, bucket: str) -> str:
    """The DR bucket lives in the DR region; every other bucket in the primary region."""
    rep = env.s3.replication
    return env.dr_region if rep and bucket == rep.destination else env.region
