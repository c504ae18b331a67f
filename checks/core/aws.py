"""The one guarded boto3 layer: sessions, clients and the recorder.

Every AWS read the suite makes goes through `Aws.read` (a `Read` spec), which records an
Observation into the run's Snapshot (an AWS error is an observation, never an exception).
Every client carries the read-only guard (checks/core/guard.py) on botocore's
`before-parameter-build` event, so a write is refused before a request exists, however the
client is used.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore import xform_name

from checks.core.config import Env
from checks.core.guard import Permits, WriteRefused, install_guard
from checks.core.read import Read
from checks.core.snapshot import Calls, Observation, Snapshot, iso, jsonable, now

# botocore's errors for an endpoint that never answered (refused, unresolvable, timed out, TLS, proxy)
UNREACHABLE = frozenset({"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError",
                         "ProxyConnectionError", "SSLError", "ReadTimeoutError", "HTTPClientError"})
# STS answers first (the account guard): when it cannot be reached, say so in seconds, not after a minute of
# retries, and stop (nothing else would be reached either)
FIRST_CONTACT = {"retries": {"mode": "standard", "max_attempts": 2}, "connect_timeout": 5, "read_timeout": 15}


def error_of(exc: Exception) -> dict[str, str]:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Error"))
        return {"code": code, "message": str(err.get("Message", exc))}
    if isinstance(exc, WriteRefused):
        return {"code": "WriteRefused", "message": str(exc)}
    return {"code": type(exc).__name__, "message": str(exc)}


_loader: botocore.loaders.Loader | None = None
_loader_lock = threading.Lock()


def new_session(**kwargs: Any) -> boto3.Session:
    """A boto3 Session (kwargs as for boto3.Session) whose botocore data loader is shared by the
    whole process: a service model is ~0.1 s of JSON to parse, and botocore caches it per loader,
    so without this every session (each run, each world, each self-test run) parses it again."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        core = kwargs.pop("botocore_session", None) or botocore.session.Session()
        core.register_component("data_loader", _loader)
        session = boto3.Session(botocore_session=core, **kwargs)
        _loader.search_paths[:] = list(dict.fromkeys(_loader.search_paths))  # boto3 appends its path each time
    return session


class NoVerifiedCaller(Exception):
    """This run reads no AWS (no credentials, or no selected check needs AWS): nothing was sent."""


_ACCOUNT_PREFIX = re.compile(r"^\d{12}\.")


def strip_account_host(client: Any, endpoint_url: str | None) -> None:
    """s3control puts the account id in the host ("123456789012.<endpoint>"). On a custom endpoint
    (LocalStack, a moto server, a VPC endpoint) that name does not resolve: send to the endpoint itself.
    Registered before signing, so the signature covers the host the request goes to."""
    if not endpoint_url:
        return
    target = urlsplit(endpoint_url).hostname or ""

    def strip(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if _ACCOUNT_PREFIX.match(host) and host.split(".", 1)[1] == target:
            request.url = urlunsplit(parts._replace(netloc=parts.netloc.replace(host, target, 1)))
            if "host" in request.headers:
                del request.headers["host"]

    client.meta.events.register("before-sign", strip)


class Aws:
    """Clients for one env, guarded and recorded into `snapshot`."""

    def __init__(self, env: Env, snapshot: Snapshot, *, allowed: frozenset[tuple[str, str]],
                 endpoint_url: str | None = None, canary: bool = False,
                 adapt: Callable[[str, dict[str, Any]], None] | None = None, session: boto3.Session | None = None):
        self.env = env
        self.allowed = allowed  # the read allowlist (checks.areas.allowlist()): every other call is refused
        self.snapshot = snapshot
        self.endpoint_url = endpoint_url
        self.canary = canary
        self.permits = Permits(scan_tables={env.terraform.lock_table} if env.terraform else set())
        self.adapt = adapt
        self.calls = Calls()
        self._lock = threading.Lock()  # counts, in-flight keys: held for microseconds
        self._client_lock = threading.Lock()  # client creation (~50 ms each; a boto3 Session is not thread-safe)
        self._clients: dict[tuple[str, str], Any] = {}
        self._inflight: dict[str, threading.Event] = {}
        self._session = session
        self.client_hooks: list[Callable[[Any], None]] = []  # e.g. fault injection in self-tests
        self.offline: str | None = None  # set: no AWS read at all (no verified caller); each read says why
        # progress observers: fn(event, obs) with "read" (a request finished, obs) or, from the collector's
        # pool, "planned" / "finished" (a task) and "collected" (all done), obs None. They must not raise.
        self.observers: list[Callable[[str, Observation | None], None]] = []

    def notify(self, event: str, obs: Observation | None = None) -> None:
        for fn in self.observers:
            fn(event, obs)

    @property
    def session(self) -> boto3.Session:
        with self._client_lock:
            if self._session is None:
                self._session = self._make_session()
            return self._session

    def _make_session(self) -> boto3.Session:
        """The env's session: the profile (or default chain), and for `role_arn` botocore's refreshable
        assume-role credentials, which renew themselves before they expire however long the run."""
        base = new_session(profile_name=self.env.profile or None, region_name=self.env.region)
        if not self.env.role_arn:
            return base
        source = base.get_credentials()
        if source is None:
            raise botocore.exceptions.NoCredentialsError()

        def sts_client(service: str, **kwargs: Any) -> Any:  # the fetcher's STS client: guarded like ours
            client = base._session.create_client(service, region_name=self.env.region,
                                                 endpoint_url=self.endpoint_url, config=self._config(service),
                                                 **kwargs)
            install_guard(client, canary=False)
            for hook in self.client_hooks:
                hook(client)
            return client

        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            sts_client, source, self.env.role_arn, extra_args={"RoleSessionName": f"bbws-checks-{self.env.name}"})
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role")
        core = botocore.session.Session()
        core._credentials = credentials  # botocore's documented way to hand a session its own provider
        return new_session(botocore_session=core, region_name=self.env.region)

    def _config(self, service: str) -> botocore.config.Config:
        kwargs: dict[str, Any] = {
            "retries": {"mode": self.env.retry_mode, "max_attempts": self.env.max_attempts},
            "max_pool_connections": max(10, self.env.concurrency),
            "connect_timeout": 10, "read_timeout": 30,
        }
        if service == "sts":
            kwargs.update(FIRST_CONTACT)
        if self.adapt:
            self.adapt(service, kwargs)
        return botocore.config.Config(**kwargs)

    def custom_endpoint(self, service: str) -> str | None:
        """The endpoint the user set for `service` (argument, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL)."""
        if self.endpoint_url:
            return self.endpoint_url
        if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        return (os.environ.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}")
                or (os.environ.get("AWS_ENDPOINT_URL_S3_CONTROL") if service == "s3control" else None)
                or os.environ.get("AWS_ENDPOINT_URL") or None)

    def client(self, service: str, region: str | None = None) -> Any:
        if self.offline:
            raise NoVerifiedCaller(f"{service} not read: {self.offline}")
        region = region or self.env.region
        if not region:  # botocore would build "https://sts..amazonaws.com" and fail with a ValueError
            raise botocore.exceptions.NoRegionError()
        found = self._clients.get((service, region))
        if found is not None:
            return found
        session = self.session
        with self._client_lock:  # not self._lock: requests in flight keep counting while a client is built
            found = self._clients.get((service, region))
            if found is None:
                found = session.client(service, region_name=region, endpoint_url=self.endpoint_url,
                                       config=self._config(service))
                install_guard(found, self.canary, self.permits, self.allowed)
                if service == "s3control":
                    strip_account_host(found, self.custom_endpoint(service))
                found.meta.events.register("before-send", self._count)
                for hook in self.client_hooks:
                    hook(found)
                self._clients[(service, region)] = found
            return found

    def _count(self, request: Any, **_: Any) -> None:
        with self._lock:
            self.calls.sent += 1

    def read(self, spec: Read) -> Observation:
        """Perform one read spec (see checks.core.read), recorded like `call` / `paginate`."""
        return self._record(spec.service, spec.operation, spec.region or self.env.region, dict(spec.params),
                            paginate=spec.paginate)

    def call(self, service: str, operation: str, region: str | None = None, **params: Any) -> Observation:
        """One recorded read. A second identical call returns the first observation unsent."""
        return self._record(service, operation, region or self.env.region, params, paginate=False)

    def paginate(self, service: str, operation: str, region: str | None = None, **params: Any) -> Observation:
        """A paginated read recorded as one observation whose response merges all pages."""
        return self._record(service, operation, region or self.env.region, params, paginate=True)

    def _record(self, service: str, operation: str, region: str, params: dict[str, Any],
                paginate: bool) -> Observation:
        obs = Observation(service, region, operation, jsonable(params), iso(now()))
        with self._lock:  # one request per key, even when two collectors race for it
            existing = self.snapshot.by_key(obs.key)
            gate = self._inflight.get(obs.key)
            if existing is None and gate is None:
                self._inflight[obs.key] = threading.Event()
                self.calls.by_key[obs.key] = self.calls.by_key.get(obs.key, 0) + 1
        if existing is not None:
            return existing
        if gate is not None:
            gate.wait()
            return self.snapshot.by_key(obs.key) or obs
        try:
            return self._send(obs, service, operation, region, params, paginate)
        finally:
            with self._lock:
                self._inflight.pop(obs.key).set()

    def probe(self, service: str, operation: str, region: str | None = None, **params: Any) -> Observation:
        """A guarded read that is not recorded: a poll whose answer changes (the caller records the last)."""
        obs = Observation(service, region or self.env.region, operation, jsonable(params), iso(now()))
        return self._request(obs, service, operation, obs.region, params, paginate=False)

    def _send(self, obs: Observation, service: str, operation: str, region: str, params: dict[str, Any],
              paginate: bool) -> Observation:
        return self.snapshot.add(self._request(obs, service, operation, region, params, paginate))

    def _request(self, obs: Observation, service: str, operation: str, region: str, params: dict[str, Any],
                 paginate: bool) -> Observation:
        started = time.perf_counter()
        try:
            client = self.client(service, region)
            method = xform_name(operation)
            if paginate:
                obs.response = jsonable(_merge_pages(client.get_paginator(method).paginate(**params)))
            else:
                obs.response = jsonable(getattr(client, method)(**params))
        except Exception as exc:  # noqa: BLE001  (any failure to read is an observation; waiters need one too)
            obs.error = error_of(exc)
        obs.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        self.notify("read", obs)
        return obs

    def write(self, service: str, operation: str, region: str | None = None, **params: Any) -> Any:
        """An opted-in canary write: guarded like every call, recorded, and raised on error."""
        obs = Observation(service, region or self.env.region, operation, jsonable(params), iso(now()))
        try:
            response = getattr(self.client(service, obs.region), xform_name(operation))(**params)
            obs.response = jsonable(response)
            return response
        except Exception as exc:
            obs.error = error_of(exc)
            raise
        finally:
            self.snapshot.add(obs)


def _merge_pages(pages: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for page in pages:
        for k, v in page.items():
            if isinstance(v, list):
                merged.setdefault(k, []).extend(v)
            elif k not in merged:
                merged[k] = v
    for k in [k for k in merged if k.startswith("Next") or k in ("IsTruncated", "ContinuationToken", "Marker")]:
        merged.pop(k)
    return merged
