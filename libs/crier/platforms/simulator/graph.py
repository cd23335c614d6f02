"""What Meta's Graph APIs (Facebook, Instagram, Threads) share: the error shape, the `fields`
parameter, the version in every path, Graph times, and media containers (made by one call,
published by another).

A container that carries media pulls it from its URL when it is made (`pull`), as Meta's servers
cURL it, and is IN_PROGRESS while that media processes (the platform's `processing_s`), ERROR if it
fails (`processing_fails`), FINISHED once every item (a carousel's children's too) is ready."""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar import Response

from crier.platforms.simulator.authz import Dialect, SimError, reply
from crier.platforms.simulator.media import MediaItem, fetch, inspected
from crier.platforms.simulator.world import World


def graph_error(
    status: int,
    code: int,
    message: str,
    subcode: int | None = None,
    *,
    transient: bool = False,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    err: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(8),
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    if transient:
        err["is_transient"] = True
    return reply({"error": err}, status, headers)


class GraphDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        if error == "invalid_client":
            return graph_error(400, 1, "Error validating client secret.")
        if error == "invalid_grant" and "already used" in description:
            return graph_error(400, 100, "This authorization code has been used.", 36009)
        if error == "invalid_grant" and "code expired" in description:
            return graph_error(400, 100, "This authorization code has expired.", 36007)
        if error == "invalid_grant" and "refresh token" in description:
            return graph_error(400, 190, "Error validating access token: The session has been invalidated.", 460)
        if "redirect_uri" in description:
            return graph_error(
                400,
                100,
                "Error validating verification code. Please make sure your redirect_uri "
                "is identical to the one you used in the OAuth dialog request",
            )
        return graph_error(400, 100, description)

    def invalid_token(self, expired: bool) -> Response[Any]:
        if expired:
            return graph_error(400, 190, "Error validating access token: Session has expired.", 463)
        return graph_error(400, 190, "Error validating access token: The user has not authorized application.", 458)

    def rate_limited(self, retry_after: int) -> Response[Any]:
        # Meta's own wait is in the usage headers, in whole minutes; the simulator also sends a
        # Retry-After, which a stand-in may and Crier honours first, so tests need not wait minutes.
        usage = {
            "simulated": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 12,
                    "total_time": 15,
                    "estimated_time_to_regain_access": math.ceil(retry_after / 60),
                }
            ]
        }
        headers = {
            "Retry-After": str(retry_after),
            "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 15}),
            "X-Business-Use-Case-Usage": json.dumps(usage),
        }
        return graph_error(429, 4, "(#4) Application request limit reached", transient=True, headers=headers)

    def server_error(self, status: int) -> Response[Any]:
        return graph_error(
            status, 2, "An unexpected error has occurred. Please retry your request later.", transient=True
        )

    def rejected(self) -> Response[Any]:
        return graph_error(400, 506, "(#506) Duplicate status message")


def parse_fields(raw: str) -> dict[str, str | None]:
    """`id,name,picture{url},ig{id,username}` → {"id": None, ..., "picture": "url", "ig": "id,username"}."""
    out: dict[str, str | None] = {}
    depth, start, name = 0, 0, ""
    for i, ch in enumerate(raw + ","):
        if ch == "{":
            if depth == 0:
                name, start = raw[start:i].strip(), i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out[name] = raw[start:i]
                start = i + 1
        elif ch == "," and depth == 0:
            field = raw[start:i].strip()
            if field:
                out[field] = None
            start = i + 1
    return out


def pick(node: dict[str, Any], fields: str, default: str) -> dict[str, Any]:
    """The requested fields of a node (Graph always answers `id`)."""
    wanted = parse_fields(fields or default)
    out: dict[str, Any] = {"id": node["id"]}
    for name, sub in wanted.items():
        if name not in node or node[name] is None:
            continue
        value = node[name]
        if sub is not None and isinstance(value, dict):
            value = pick(value, sub, sub) if "id" in value else {k: v for k, v in value.items()}
        out[name] = value
    return out


_VERSION = re.compile(r"^v\d+\.\d+$")


def check_version(version: str) -> None:
    """Graph paths start with a version such as `v23.0`; anything else is an unknown path."""
    if not _VERSION.match(version):
        raise SimError(graph_error(400, 2500, f"Unknown path components: /{version}"))


def graph_time(at: float) -> str:
    """A Graph API timestamp: `2026-05-01T12:00:00+0000`."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def newest_first(items: list[Any], params: dict[str, str], default: int = 25) -> list[Any]:
    """A page of a newest-first listing: `limit` items (Graph caps it at 100)."""
    limit = max(1, min(100, int(params.get("limit") or default)))
    return list(reversed(items))[:limit]


def cursor_page(
    items: list[Any], params: dict[str, str], url: str, default: int = 25
) -> tuple[list[Any], dict[str, Any]]:
    """A page of a newest-first listing with Graph's cursor paging: `limit` items after the `after`
    cursor, and `paging` with both cursors and a `next` URL only while more follow."""
    newest = list(reversed(items))
    limit = max(1, min(100, int(params.get("limit") or default)))
    try:
        start = int(base64.urlsafe_b64decode(params["after"] + "==").decode()) if params.get("after") else 0
    except ValueError:
        start = 0
    page = newest[start : start + limit]
    end = start + len(page)
    paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
    if end < len(newest):
        paging["next"] = f"{url}?limit={limit}&after={_cursor(end)}"
    return page, paging


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


# Media containers expire a day after they are made if nobody publishes them.
CONTAINER_TTL_S = 86400.0


@dataclass
class MediaContainer:
    id: str
    user_id: str
    # The grant whose token made it: a container of a forgotten world (after a reset) is no one's.
    grant_id: str
    params: dict[str, Any]
    created_at: float
    published_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The media it pulled, and for a carousel the item containers it gathers.
    media: list[MediaItem] = field(default_factory=list)
    children: list[MediaContainer] = field(default_factory=list)

    def items(self) -> list[MediaItem]:
        return self.media + [m for child in self.children for m in child.media]

    def status(self, now: float) -> str:
        if self.published_id is not None:
            return "PUBLISHED"
        if now - self.created_at > CONTAINER_TTL_S:
            return "EXPIRED"
        states = {m.status(now) for m in self.items()}
        if "failed" in states:
            return "ERROR"
        return "IN_PROGRESS" if "processing" in states else "FINISHED"

    def error_message(self, now: float) -> str | None:
        if self.status(now) != "ERROR":
            return None
        return "MEDIA_PROCESSING_FAILED: the media could not be processed (simulated failure)"


class Containers:
    """The media containers a platform (Threads, Instagram) made and has not forgotten."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._by_id: dict[str, MediaContainer] = {}

    def add(self, container: MediaContainer) -> MediaContainer:
        self._by_id[container.id] = container
        return container

    def get(self, container_id: str) -> MediaContainer | None:
        found = self._by_id.get(container_id)
        return found if found is not None and found.grant_id in self.world.grants else None


async def pull(world: World, platform: str, user_id: str, url: str) -> MediaItem:
    """The media at `url`, downloaded and inspected as Meta's servers do when a container is made;
    it processes for the platform's `processing_s`. Graph's 9004 when the URL cannot be fetched."""
    try:
        data, mime = await fetch(url)
    except SimError:
        raise SimError(
            graph_error(400, 9004, "The media could not be fetched from the URI provided", 2207052)
        ) from None
    item = inspected(platform, world.number(17), user_id, data, declared_mime=mime)
    item.ready_at, item.fails = world.processing_until(platform)
    item.extra["url"] = url
    return item
