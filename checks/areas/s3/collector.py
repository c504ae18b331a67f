"""Reads of the deployed buckets: configuration, templates, the DR bucket and the account block."""

from __future__ import annotations

from pathlib import Path

from checks.areas.s3 import reads as r
from checks.core.collect import Context
from checks.core.read import get_role


def collect(ctx: Context) -> None:
    env, aws = ctx.env, ctx.aws
    ctx.spawn(aws.read, r.list_buckets())
    ctx.spawn(aws.read, r.account_public_access_block(env.account))
    ctx.spawn(_bucket, ctx, env.s3.bucket)
    if env.s3.replication:
        ctx.spawn(_dr_bucket, ctx, env.s3.replication.destination)
        ctx.spawn(aws.read, get_role(env.s3.replication.role))


def inventory_bucket(ctx: Context, bucket: str, region: str | None = None) -> None:
    """The configuration reads of one bucket (any number of buckets: bench/ inventories use it)."""
    ctx.spawn(ctx.aws.read, r.head_bucket(bucket, region))
    for op in r.BUCKET_CONFIG:
        ctx.spawn(ctx.aws.read, r.bucket_config(op, bucket, region))
    ctx.spawn(ctx.aws.read, r.list_objects(bucket, region))


def _bucket(ctx: Context, bucket: str) -> None:
    env = ctx.env
    inventory_bucket(ctx, bucket)
    for key in env.s3.templates:
        ctx.spawn(ctx.aws.read, r.get_object(bucket, key))
    if env.s3.template_manifest:
        root = Path(env.source).parent
        ctx.file(root / env.s3.template_manifest, root)


def _dr_bucket(ctx: Context, bucket: str) -> None:
    region = ctx.env.dr_region
    ctx.spawn(ctx.aws.read, r.head_bucket(bucket, region))
    for op in r.DR_CONFIG:
        ctx.spawn(ctx.aws.read, r.bucket_config(op, bucket, region))
    ctx.spawn(ctx.aws.read, r.list_objects(bucket, region))
