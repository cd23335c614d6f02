"""Standard Webhooks signatures (https://www.standardwebhooks.com).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the base64 part of a
`whsec_` secret. While a rotated-out secret is still honoured, the header carries one signature
per secret, space-separated, so receivers holding either secret can verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets)


def headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, message_id, timestamp, body),
    }
