"""The embedded moto world: a moto server on 127.0.0.1 holding the env's reference deployment.

    world = World(load()["local"], faults=parse_faults("DDB-03", env)).start()
    ... point the suite at world.endpoint_url, with adapt_client for its botocore configs ...
    world.stop()
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import boto3
import botocore.config

from checks.core.aws import new_session, strip_account_host
from checks.core.config import Env
from checks.world import build as world_build
from checks.world.faults import FAULTS, Fault, area_deploys, injection_order, parse_faults
from checks.world.patches import denygate, s3replication
from checks.world.server import MotoServer

__all__ = ["FAULTS", "Fault", "World", "adapt_client", "parse_faults"]

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_session: boto3.session.Session | None = None  # one session for every world: botocore loads each model once


def adapt_client(service: str, kwargs: dict[str, Any]) -> None:
    """Adjust botocore Config kwargs so a client works against the moto server.

    s3: path-style addressing (no bucket subdomains on 127.0.0.1). (s3control's account-id host
    prefix is handled by the AWS layer for every custom endpoint: checks.core.aws.strip_account_host.)
    """
    if service == "s3":
        kwargs["s3"] = {**kwargs.get("s3", {}), "addressing_style": "path"}


class World:
    """One moto server with the reference deployment of `env`, optionally broken by faults."""

    def __init__(self, env: Env, faults: Iterable[tuple[str, str | None]] = (), replication_delay: float = 0.5):
        self.env = env
        self.faults = list(faults)
        self.replication_delay = replication_delay
        self.endpoint_url = ""
        self.start_seconds = 0.0
        self._server = MotoServer(env.account)
        self._clients: dict[tuple[str, str], Any] = {}

    def start(self) -> World:
        started = time.perf_counter()
        self.endpoint_url = self._server.start()  # resets moto and applies checks.world.patches
        s3replication.set_delay(self.replication_delay)

        try:
            world_build.build(self)
            for deploy in area_deploys():
                deploy(self)
            for fid, resource in injection_order(self.faults):
                FAULTS[fid].inject(self, resource)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        self._server.stop()
        self._clients.clear()

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def client(self, service: str, region: str | None = None) -> Any:
        """An unguarded boto3 client to the moto server."""
        region = region or self.env.region
        found = self._clients.get((service, region))
        if found is None:
            global _session
            if _session is None:
                _session = new_session(**CREDENTIALS)
            kwargs: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 2}}
            adapt_client(service, kwargs)
            found = _session.client(service, region_name=region, endpoint_url=self.endpoint_url,
                                    config=botocore.config.Config(**kwargs), **CREDENTIALS)
            if service == "s3control":
                strip_account_host(found, self.endpoint_url)
            self._clients[(service, region)] = found
        return found

    def deny(self, service: str, operation: str, resource: str | None = None, region: str | None = None) -> None:
        """Make `service:operation` answer AccessDenied; optionally only requests whose path, query or
        body mention `resource`, and only in `region`."""
        denygate.deny(service, operation, resource, region)

    def inject(self, fault_id: str, resource: str | None = None) -> None:
        FAULTS[fault_id].inject(self, resource)

    def wait_replication(self, timeout: float = 30) -> None:
        """Block until pending replications have run."""
        deadline = time.monotonic() + timeout
        while s3replication.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
