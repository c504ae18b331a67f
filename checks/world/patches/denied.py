"""AccessDenied error responses in each protocol the suite's clients speak (JSON, REST-XML,
query, smithy-rpc-v2-cbor), for the deny gate."""

from __future__ import annotations

import json
import re
import uuid


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    raise ValueError(n)


def _cbor_map(data: dict[str, str]) -> bytes:
    """A CBOR map of text strings (no cbor library is installed)."""
    out = _cbor_head(5, len(data))
    for k, v in data.items():
        for text in (k, v):
            raw = text.encode()
            out += _cbor_head(3, len(raw)) + raw
    return out



def denied_response(service: str, operation: str, region: str, text: str, account: str,
                     content_type: str = "") -> tuple[int, list, bytes]:
    resource = f"arn:aws:{service}:{region}:{account}:*"
    m = re.search(r'"TableName"\s*:\s*"([^"]+)"', text)
    if service == "dynamodb" and m:
        resource = f"arn:aws:dynamodb:{region}:{account}:table/{m.group(1)}"
    message = (f"User: arn:aws:sts::{account}:assumed-role/bbws-checks/bbws-checks-session is not authorized "
               f"to perform: {service}:{operation} on resource: {resource} because no identity-based policy "
               f"allows the {service}:{operation} action")
    rid = str(uuid.uuid4())
    if service == "dynamodb":
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException", "message": message})
        return 400, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", rid)], body.encode()
    if service in ("s3", "s3control"):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>Access Denied</Message><RequestId>{rid}</RequestId></Error>")
        return 403, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body.encode()
    if "json" in content_type:  # awsJson1_0/1_1 (cloudwatch's JSON protocol)
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return 400, [("Content-Type", content_type), ("x-amzn-RequestId", rid)], body.encode()
    if "cbor" in content_type:  # smithy-rpc-v2-cbor
        payload = _cbor_map({"__type": "AccessDeniedException", "message": message})
        return 400, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                     ("x-amzn-RequestId", rid)], payload
    if service in ("iam", "sts", "cloudwatch"):  # the query protocol
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>AccessDeniedException</Code>'
                f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        return 403, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode()
    body = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message})
    return 403, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException"),
                 ("x-amzn-RequestId", rid)], body.encode()
