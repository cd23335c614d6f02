"""What Meta's Graph APIs (Facebook, Instagram, Threads) share: the error shape and the `fields`
parameter."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Response

from crier.platforms.simulator.authz import Dialect, reply


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
        return graph_error(
            429, 4, "Application request limit reached", transient=True, headers={"Retry-After": str(retry_after)}
        )

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
