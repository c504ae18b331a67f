"""DynamoDB: replicas (UpdateTable ReplicaUpdates), and the GSI IndexStatus and Backfilling backdoor."""

from __future__ import annotations

from typing import Any

import moto.dynamodb.models.table  # noqa: F401 - imported with this module (see checks.world.patches)
import moto.dynamodb.responses  # noqa: F401


def _ddb(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def set_index_status(account: str, region: str, table: str, index: str, status: str,
                     backfilling: bool | None = None) -> None:
    """Backdoor: a GSI's IndexStatus (and Backfilling, which moto never reports)."""
    for gsi in _ddb(account, region).get_table(table).global_indexes:
        if gsi.name == index:
            gsi.status = status
            gsi.motofix_backfilling = backfilling
            return
    raise KeyError(f"{table} has no index {index}")


def _create_replica(account: str, region: str, table: Any, replica_region: str) -> None:
    """A same-schema table in replica_region; both sides list each other as replicas."""
    backend = _ddb(account, replica_region)
    if table.name not in backend.tables:
        backend.create_table(
            table.name, schema=table.schema, throughput=table.throughput, attr=table.attr,
            global_indexes=[g.describe() for g in table.global_indexes], indexes=[i.describe() for i in table.indexes],
            streams=table.stream_specification, billing_mode=table.billing_mode,
            sse_specification=table.sse_specification, tags=list(table.tags),
            deletion_protection_enabled=table.deletion_protection_enabled, warm_throughput=None)
    other = backend.tables[table.name]
    table.motofix_replicas = sorted(set(getattr(table, "motofix_replicas", [])) | {replica_region})
    other.motofix_replicas = sorted(set(getattr(other, "motofix_replicas", [])) | {region})


def patch() -> None:
    from moto.dynamodb.models.table import GlobalSecondaryIndex, Table
    from moto.dynamodb.responses import DynamoHandler

    # moto ignores UpdateTable ReplicaUpdates (global tables 2019.11.21): create the replica
    # table in the other region so DescribeTable works there too.
    original_update = DynamoHandler.update_table

    def update_table(self: Any) -> Any:
        for update in self.body.get("ReplicaUpdates") or []:
            if "Create" in update:
                table = self.dynamodb_backend.get_table(self.body["TableName"])
                _create_replica(self.current_account, self.region, table, update["Create"]["RegionName"])
            if "Delete" in update:
                table = self.dynamodb_backend.get_table(self.body["TableName"])
                gone = update["Delete"]["RegionName"]
                table.motofix_replicas = [r for r in getattr(table, "motofix_replicas", []) if r != gone]
                _ddb(self.current_account, gone).tables.pop(table.name, None)
        return original_update(self)

    DynamoHandler.update_table = update_table

    # moto's describe never reports Replicas and never Backfilling.
    original_describe = Table.describe

    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original_describe(self, base_key)
        desc = result[base_key]
        replicas = getattr(self, "motofix_replicas", None)
        if replicas:
            desc["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in replicas]
            desc["GlobalTableVersion"] = "2019.11.21"
        return result

    Table.describe = describe
    original_gsi_describe = GlobalSecondaryIndex.describe

    def gsi_describe(self: Any) -> dict[str, Any]:
        out = original_gsi_describe(self)
        if getattr(self, "motofix_backfilling", None) is not None:
            out["Backfilling"] = self.motofix_backfilling
        return out

    GlobalSecondaryIndex.describe = gsi_describe
