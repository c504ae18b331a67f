"""The deny gate: a WSGI middleware in front of moto's dispatcher that answers AccessDenied.

Self-tests need one API to answer AccessDenied at a time; moto has no such switch. The gate
resolves the request's service and operation (botocore's own model for REST services) and
answers the service's AccessDenied error (checks.world.patches.denied).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3

from checks.world.patches.denied import denied_response

_lock = threading.Lock()
_denied: list[tuple[str, str, str | None, str | None]] = []
SIGNING_TO_SERVICE = {"monitoring": "cloudwatch"}
_models: dict[str, Any] = {}

def deny(service: str, operation: str, resource_substring: str | None = None, region: str | None = None) -> None:
    """Make matching requests (optionally only those mentioning resource_substring in the path,
    query or body, and only in one region) answer AccessDenied until the next reset."""
    with _lock:
        _denied.append((service, operation, resource_substring, region))


def clear_denies() -> None:
    with _lock:
        _denied.clear()


reset = clear_denies


def _service_model(service: str) -> Any:
    if service not in _models:
        # A session of its own, not checks.core.aws.new_session: botocore rewrites S3 request URIs in
        # the loaded model when it sends (remove_bucket_from_url_paths_from_model), and this matches
        # requests against the model's original URIs.
        _models[service] = boto3.Session(region_name="us-east-1").client(
            service, aws_access_key_id="x", aws_secret_access_key="x").meta.service_model
    return _models[service]


def _credential_scope(environ: dict[str, Any]) -> tuple[str, str]:
    """(signing service, region) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", auth)
    return (m.group(2), m.group(1)) if m else ("", "")


def _rest_operation(service: str, method: str, path: str, query: dict[str, list[str]],
                    headers: dict[str, str]) -> str:
    """The most specific operation of a REST service whose HTTP binding matches."""
    model = _service_model(service)
    best, best_score = "", -1
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        uri_path, _, uri_query = http["requestUri"].partition("?")
        rx = re.sub(r"\\{[^}]+\\\+\\}", ".+", re.escape(uri_path))
        rx = re.sub(r"\\{[^}]+\\}", "[^/]+", rx)
        if not re.fullmatch(rx.rstrip("/") + "/?", path):
            continue
        score = len(re.sub(r"{[^}]+}", "", uri_path))
        ok = _required_query_present(model.operation_model(name), query)
        for part in filter(None, uri_query.split("&")):
            k, _, v = part.partition("=")
            if k not in query or (v and v not in query[k]):
                ok = False
            score += 1000
        # On a tie (GET ?lifecycle is GetBucketLifecycle and GetBucketLifecycleConfiguration),
        # the current operation wins over the deprecated one.
        if ok and (score > best_score or (score == best_score and best
                                          and model.operation_model(best).deprecated
                                          and not model.operation_model(name).deprecated)):
            best, best_score = name, score
    if best == "PutObject" and "x-amz-copy-source" in headers:
        best = "CopyObject"
    if best == "UploadPart" and "x-amz-copy-source" in headers:
        best = "UploadPartCopy"
    return best


def _required_query_present(op: Any, query: dict[str, list[str]]) -> bool:
    """Operations sharing a URI differ by required query members (DeleteObject vs
    AbortMultipartUpload's uploadId); one whose required member is absent does not match."""
    shape = op.input_shape
    if shape is None:
        return True
    for name in shape.required_members:
        member = shape.members[name]
        if member.serialization.get("location") == "querystring" and \
                member.serialization.get("name", name) not in query:
            return False
    return True


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def resolve(environ: dict[str, Any]) -> tuple[str, str, str, Callable[[], bytes]]:
    """(service, operation, region, body reader) of one WSGI request to the moto server."""
    signing, region = _credential_scope(environ)
    path = unquote(environ.get("PATH_INFO", ""))
    service = SIGNING_TO_SERVICE.get(signing, signing)
    if service == "s3" and path.startswith("/v20180820/"):
        service = "s3control"
    cache: list[bytes] = []

    def body() -> bytes:
        if not cache:
            cache.append(_read_body(environ))
        return cache[0]

    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    rpc = re.match(r"/service/[^/]+/operation/([^/]+)", path)
    if target:
        operation = target.split(".")[-1]
    elif rpc:
        operation = rpc.group(1)
    elif "Action" in query:
        operation = query["Action"][0]
    elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        operation = parse_qs(body().decode("utf-8", "replace")).get("Action", [""])[0]
    elif service:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            operation = _rest_operation(service, environ.get("REQUEST_METHOD", ""), path, query, headers)
        except Exception:  # noqa: BLE001 - an unknown service: nothing to deny
            operation = ""
    else:
        operation = ""
    return service, operation, region, body


def wrap_app(app: Callable, account: str = "123456789012") -> Callable:
    """WSGI middleware: answer AccessDenied for requests on the deny list."""

    def gate(environ: dict[str, Any], start_response: Callable) -> Any:
        with _lock:
            rules = list(_denied)
        if rules:
            service, operation, region, body = resolve(environ)
            for svc, op, needle, only_region in rules:
                if svc != service or op != operation or (only_region and only_region != region):
                    continue
                text = ""
                if needle is not None or service == "dynamodb":
                    text = unquote(environ.get("PATH_INFO", "")) + "?" + unquote(environ.get("QUERY_STRING", ""))
                    text += "\n" + body().decode("utf-8", "replace")
                if needle is not None and needle not in text:
                    continue
                status, headers, payload = denied_response(service, operation, region, text, account,
                                                          environ.get("CONTENT_TYPE", ""))
                start_response(f"{status} Denied", headers + [("Content-Length", str(len(payload)))])
                return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else payload]
        return app(environ, start_response)

    return gate
