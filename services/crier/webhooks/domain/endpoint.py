"""A webhook endpoint's user-supplied fields, their rules, and its signing secret."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from crier.contracts.webhooks import EVENT_TYPES
from crier.kit.errors import Problem

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
ALL_EVENTS = "*"


@dataclass(frozen=True)
class Url:
    """A syntactically valid endpoint URL; whether it may be called is the SSRF guard's call."""

    raw: str
    scheme: str
    host: str
    port: int


def new_endpoint_id() -> str:
    return f"wh_{uuid.uuid4().hex}"


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def parse_url(url: str) -> Url:
    if len(url) > MAX_URL_LENGTH:
        raise Problem("url", "too_long", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Problem("url", "invalid", "is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise Problem("url", "invalid", "must be an https:// URL")
    if not parts.hostname:
        raise Problem("url", "invalid", "has no host")
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and API replies; use the signature to authenticate.
        raise Problem("url", "invalid", "must not contain credentials")
    if parts.fragment:
        raise Problem("url", "invalid", "must not contain a fragment")
    if any(c.isspace() for c in url):
        raise Problem("url", "invalid", "must not contain whitespace")
    return Url(url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def check_events(events: Sequence[str]) -> list[str]:
    """The subscription, deduplicated in the order given."""
    if not events:
        raise Problem("events", "required", 'must name at least one event type, or "*"')
    unknown = [e for e in events if e != ALL_EVENTS and e not in EVENT_TYPES]
    if unknown:
        raise Problem("events", "unknown_event_type", f"unknown event types: {', '.join(sorted(set(unknown)))}")
    return list(dict.fromkeys(events))


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise Problem("description", "too_long", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return description
