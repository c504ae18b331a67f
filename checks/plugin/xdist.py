"""Under xdist the controller collects once and hands the snapshot to the workers."""

from __future__ import annotations

from typing import Any

import pytest

from checks.plugin.live import prepare_snapshot
from checks.plugin.run import Run


class XdistController:
    def __init__(self, run: Run, config: pytest.Config):
        self.run, self.config = run, config

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Runs before the controller schedules any test, so workers find the snapshot ready.
        if ids and not self.config.option.collectonly and not self.run.passive:
            prepare_snapshot(self.config, self.run, ids=ids)

    def pytest_configure_node(self, node: Any) -> None:
        path = self.run.snapshot_path
        node.workerinput["bbws_snapshot"] = str(path) if path else ""
        node.workerinput["bbws_endpoint"] = self.run.endpoint_url or ""
        node.workerinput["bbws_run_id"] = self.run.run_id
        node.workerinput["bbws_started"] = self.run.started  # waivers are judged against the run's start


