"""PDV-08 compares every setting a view declares (`@setting`), so a new table or bucket property is part of
promotion parity without a list to extend."""

from __future__ import annotations

import pytest

from checks.areas.dynamodb import views as ddb
from checks.areas.pdv.parity import configuration
from checks.core.config import load
from checks.core.snapshot import Observation, Snapshot
from checks.core.view import setting

ENV = load()["local"]


def snapshot_with_table(name: str) -> Snapshot:
    snap = Snapshot({"run_id": "parity"})
    snap.add(Observation("dynamodb", ENV.region, "DescribeTable", {"TableName": name}, "t",
                         response={"Table": {"TableName": name, "KeySchema": [], "AttributeDefinitions": []}}))
    return snap


def test_a_new_table_setting_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    table = next(iter(ENV.tables))
    monkeypatch.setattr(ddb.Table, "ttl_probe", setting(lambda self: f"expires-{self.name}"), raising=False)
    found, _ = configuration(snapshot_with_table(table), ENV)
    assert found[f"tables.{table}.ttl_probe"] == f"expires-{table}"


def test_a_plain_property_is_not_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    table = next(iter(ENV.tables))
    monkeypatch.setattr(ddb.Table, "not_config", property(lambda self: "x"), raising=False)
    found, _ = configuration(snapshot_with_table(table), ENV)
    assert f"tables.{table}.not_config" not in found
