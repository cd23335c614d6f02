"""The failure classification every publishing adapter shares (`platforms._publish_http`): whether
the request can have reached the platform decides between TransientError and OutcomeUnknown; the
status decides the rest; the platform's own words are the message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from crier.platforms import _publish_http as ph
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    RateLimited,
    TokenRejected,
    TransientError,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Start = Callable[[Handler], Awaitable[str]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def raw_server() -> AsyncIterator[Start]:
    """A TCP server that answers however the test says (or not at all)."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_connection_dropped_after_the_request_is_unknown(raw_server: Start) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)  # the platform has the whole request, then dies
        writer.close()

    url = await raw_server(hang_up)
    async with httpx.AsyncClient(timeout=5) as http:
        with pytest.raises(OutcomeUnknown) as raised:
            await ph.send(http, "mastodon", "POST", f"{url}/api/v1/statuses", json={"status": "hi"})
    assert raised.value.retryable and "may have been accepted" in raised.value.message


async def test_half_an_answer_is_unknown(raw_server: Start) -> None:
    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{"id":')
        await writer.drain()
        writer.close()

    url = await raw_server(cut_short)
    async with httpx.AsyncClient(timeout=5) as http:
        with pytest.raises(OutcomeUnknown):
            await ph.send(http, "mastodon", "POST", f"{url}/api/v1/statuses", json={"status": "hi"})


async def test_a_silent_platform_times_out_unknown(raw_server: Start) -> None:
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await release.wait()
        writer.close()

    url = await raw_server(silent)
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(OutcomeUnknown):
            await ph.send(http, "x", "POST", f"{url}/2/tweets", json={"text": "hi"})
    release.set()


async def test_no_connection_is_transient_not_unknown() -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        with pytest.raises(TransientError) as raised:
            await ph.send(http, "x", "POST", "http://127.0.0.1:9/2/tweets", json={"text": "hi"})
    assert not isinstance(raised.value, OutcomeUnknown) and "could not reach /2/tweets" in raised.value.message


def _answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> PlatformError:
    resp = httpx.Response(status, json=body, headers=headers)
    return ph.error_for("mastodon", resp, resp.json())


@pytest.mark.parametrize(
    ("status", "kind", "code", "retryable"),
    [
        (401, TokenRejected, "token_rejected", False),
        (429, RateLimited, "rate_limited", True),
        (408, TransientError, "platform_unavailable", True),
        (500, TransientError, "platform_unavailable", True),
        (503, TransientError, "platform_unavailable", True),
        (502, OutcomeUnknown, "outcome_unknown", True),
        (504, OutcomeUnknown, "outcome_unknown", True),
        (400, ContentRejected, "content_rejected", False),
        (422, ContentRejected, "content_rejected", False),
        (403, PlatformError, "missing_permission", False),
        (404, PlatformError, "not_found", False),
        (409, PlatformError, "http_409", False),
    ],
)
def test_statuses(status: int, kind: type[PlatformError], code: str, retryable: bool) -> None:
    error = _answer(status, {"error": "said so"})
    assert type(error) is kind and error.code == code and error.retryable is retryable
    assert "said so" in error.message


def test_waiting_hints_come_from_the_headers() -> None:
    assert _answer(429, {}, {"Retry-After": "12"}).retry_after_s == 12
    assert _answer(503, {}, {"Retry-After": "3"}).retry_after_s == 3
    assert _answer(500, {}).retry_after_s is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "Validation failed: Text can't be blank"}, "Validation failed: Text can't be blank"),  # Mastodon
        ({"error": "invalid_token", "error_description": "The token expired"}, "The token expired"),  # RFC 6750
        ({"title": "Forbidden", "detail": "Duplicate content."}, "Duplicate content."),  # X problem details
        ({"error": {"message": "(#100) Invalid parameter", "code": 100}}, "(#100) Invalid parameter"),  # Meta
        ({"message": "Invalid record", "error": "InvalidRequest"}, "Invalid record"),  # XRPC
        ({"errors": [{"message": "first of many"}]}, "first of many"),
        ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        ({}, None),
    ],
)
def test_the_platforms_own_words(body: object, message: str | None) -> None:
    assert ph.message_of(body) == message


async def test_a_platform_classify_sees_every_answer_first(raw_server: Start) -> None:
    async def ok_with_error(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        body = b'{"error": {"code": 17, "message": "User request limit reached"}}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)
        await writer.drain()
        writer.close()

    def meta(resp: httpx.Response, body: object) -> PlatformError | None:
        error = body.get("error") if isinstance(body, dict) else None
        return RateLimited(ph.message_of(body) or "") if isinstance(error, dict) and error.get("code") == 17 else None

    url = await raw_server(ok_with_error)
    async with httpx.AsyncClient(timeout=5) as http:
        with pytest.raises(RateLimited) as raised:
            await ph.send(http, "facebook", "POST", f"{url}/v23.0/1/feed", classify=meta)
    assert raised.value.message == "User request limit reached"
