"""Canned botocore transports for the reliability self-tests and the benchmark.

A `before-send` handler that returns an AWSResponse short-circuits botocore's HTTP send:
the response is parsed (and retried, for throttling) exactly as if the service had sent it.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSResponse


class Raw:
    """The `raw` of an AWSResponse: botocore reads the body through stream()."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any):
        yield self.body


def response(url: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> AWSResponse:
    return AWSResponse(url, status, {"x-amzn-requestid": "selftest", **(headers or {})}, Raw(body))


def json_error(url: str, status: int, code: str, message: str, protocol: str = "json") -> AWSResponse:
    """An error in the JSON protocols (DynamoDB, KMS, Backup)."""
    ctype = "application/x-amz-json-1.0" if protocol == "json" else "application/json"
    body = json.dumps({"__type": f"com.amazonaws.service#{code}", "message": message}).encode()
    return response(url, status, body, {"content-type": ctype, "x-amzn-errortype": code})


def xml_error(url: str, status: int, code: str, message: str, query: bool = False) -> AWSResponse:
    """An error in the XML protocols: rest-xml (S3) or query (STS, IAM)."""
    inner = f"<Code>{code}</Code><Message>{message}</Message>"
    body = (f"<ErrorResponse><Error><Type>Sender</Type>{inner}</Error><RequestId>x</RequestId></ErrorResponse>"
            if query else f"<Error>{inner}<RequestId>x</RequestId></Error>")
    return response(url, status, body.encode(), {"content-type": "text/xml"})


def operation_of(event_name: str) -> tuple[str, str]:
    """(service id, operation) of a `before-send.<service-id>.<Operation>` event."""
    _, service, operation = event_name.split(".", 2)
    return service, operation
