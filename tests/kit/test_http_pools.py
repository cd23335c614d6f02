"""`kit.http_pools.SpreadTransport`: calls spread over small pools, counted until their response is
closed, at most `connections` connections in all, idle ones reused. Against a real HTTP/1.1
server on loopback that answers when the test lets it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from crier.kit import http_pools
from crier.kit.guarded_http import guarded_client
from crier.kit.http_pools import SpreadTransport, spread_client
from crier.kit.ssrf import parse_networks


@dataclass
class HeldServer:
    """Answers each request once `release` is set; counts connections and requests in flight."""

    port: int = 0
    connections: int = 0
    open_connections: int = 0
    most_open: int = 0
    waiting: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    heads: list[bytes] = field(default_factory=list)
    # A header the answers carry, e.g. a Set-Cookie.
    extra_header: bytes = b""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.most_open = max(self.most_open, self.open_connections)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.heads.append(head)
                self.waiting += 1
                await self.release.wait()
                self.waiting -= 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n"
                    + self.extra_header
                    + b"\r\nok"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[HeldServer]:
    held = HeldServer()
    srv = await asyncio.start_server(held.handle, "127.0.0.1", 0)
    held.port = srv.sockets[0].getsockname()[1]
    try:
        yield held
    finally:
        srv.close()


async def _until(condition, what: str, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_pools_are_small_and_hold_the_connections_asked_for() -> None:
    transport = SpreadTransport(40)
    assert len(transport.calls) == 3  # 40 connections in pools of at most 16: three of 14
    assert len(SpreadTransport(16).calls) == 1
    assert len(SpreadTransport(1).calls) == 1
    with pytest.raises(ValueError):
        SpreadTransport(0)


async def test_calls_go_to_the_least_busy_pool_and_are_counted_until_closed(server: HeldServer) -> None:
    transport = SpreadTransport(3 * http_pools.POOL_CONNECTIONS)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{server.port}") as client:
        calls = [asyncio.ensure_future(client.get("/")) for _ in range(30)]
        await _until(lambda: server.waiting == 30, "30 requests at the server")
        assert transport.calls == [10, 10, 10]
        assert server.connections == 30
        server.release.set()
        answers = await asyncio.gather(*calls)
        assert [r.text for r in answers] == ["ok"] * 30
        assert transport.calls == [0, 0, 0]
        # Idle connections are kept and used again.
        again = await asyncio.gather(*(client.get("/") for _ in range(10)))
        assert all(r.status_code == 200 for r in again)
        assert server.connections == 30


async def test_a_streamed_response_holds_its_call_until_closed(server: HeldServer) -> None:
    server.release.set()
    transport = SpreadTransport(2)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{server.port}") as client:
        async with client.stream("GET", "/") as response:
            assert transport.calls == [1]
            assert await response.aread() == b"ok"
        assert transport.calls == [0]


async def test_no_more_connections_than_asked_for(server: HeldServer) -> None:
    transport = SpreadTransport(2)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{server.port}") as client:
        calls = [asyncio.ensure_future(client.get("/")) for _ in range(5)]
        await _until(lambda: server.waiting == 2, "2 requests at the server")
        server.release.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*calls))
        # The other three waited for a connection the whole time: none was opened for them.
        assert server.most_open == 2
        assert server.connections == 2


async def test_a_call_that_fails_to_connect_is_not_counted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens on it once closed
    transport = SpreadTransport(4)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
    assert transport.calls == [0]


async def test_the_guarded_client_spreads_each_hosts_calls(server: HeldServer) -> None:
    client = guarded_client(parse_networks(["127.0.0.0/8"]), timeout_s=10, connections=20)
    try:
        calls = [asyncio.ensure_future(client.get(f"http://127.0.0.1:{server.port}/")) for _ in range(20)]
        await _until(lambda: server.waiting == 20, "20 requests at the server")
        (pool,) = client._transport._pools.values()  # type: ignore[attr-defined]
        assert pool.calls == [10, 10]
        server.release.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*calls))
        assert pool.calls == [0, 0]
    finally:
        await client.aclose()


async def test_the_spread_client_goes_through_the_proxy_the_environment_names(
    server: HeldServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.release.set()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with spread_client(4, timeout_s=10, headers={"User-Agent": "t"}) as client:
        r = await client.get("http://platform.invalid/statuses")
        assert r.text == "ok"
        assert client._transport.calls == [0]  # type: ignore[attr-defined]
    # A proxy is sent the whole URL.
    assert server.heads[0].startswith(b"GET http://platform.invalid/statuses HTTP/1.1")


async def test_the_spread_client_goes_straight_to_a_host_no_proxy_names(
    server: HeldServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with spread_client(4, timeout_s=10, headers={"User-Agent": "t"}) as client:
        call = asyncio.ensure_future(client.get(f"http://127.0.0.1:{server.port}/statuses"))
        await _until(lambda: server.waiting == 1, "the request at the server")
        assert client._transport.calls == [1]  # type: ignore[attr-defined]
        server.release.set()
        assert (await call).text == "ok"
    assert server.heads[0].startswith(b"GET /statuses HTTP/1.1")


@pytest.mark.parametrize("make", ["spread", "guarded", "plain"])
async def test_the_clients_keep_no_cookie_an_answer_sets(server: HeldServer, make: str) -> None:
    """A cookie set in the answer to one tenant's call must not go out with the next call."""
    server.release.set()
    server.extra_header = b"set-cookie: session=tenant-a; Path=/\r\n"
    if make == "spread":
        client = spread_client(4, timeout_s=10, headers={})
    elif make == "guarded":
        client = guarded_client(parse_networks(["127.0.0.0/8"]), timeout_s=10)
    else:
        client = http_pools.keeping_no_cookies(httpx.AsyncClient(timeout=10))
    async with client:
        for _ in range(2):
            assert (await client.get(f"http://127.0.0.1:{server.port}/")).cookies["session"] == "tenant-a"
        assert len(client.cookies.jar) == 0
    assert len(server.heads) == 2 and not any(b"cookie:" in head.lower() for head in server.heads)
