"""`kit.http_backend`: the spread pools' connections on asyncio's streams, against real servers on
loopback: answers, TLS with its name checked, idle connections the server closed (or wrote to)
never reused, and each failure raised as the httpx error the anyio backend raised."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from crier.kit import http_backend
from crier.kit.http_pools import SpreadTransport
from tests.support.tls import tls_pair

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.port = 0
        self.connections = 0


@asynccontextmanager
async def _serve(handle: Handler, **kw: object) -> AsyncIterator[Server]:
    server = Server()

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(counted, "127.0.0.1", 0, **kw)  # type: ignore[arg-type]
    server.port = srv.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        srv.close()


def _client(**kw: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=SpreadTransport(4, **kw), timeout=5)  # type: ignore[arg-type]


async def _answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(OK)
        await writer.drain()


def test_the_spread_pools_connect_through_asyncio() -> None:
    transport = SpreadTransport(40)
    assert all(p._pool._network_backend is http_backend.BACKEND for p in transport._pools)


async def test_calls_are_answered_and_an_idle_connection_reused() -> None:
    async with _serve(_answer_each) as server:
        async with _client() as client:
            for _ in range(3):
                r = await client.post(f"http://127.0.0.1:{server.port}/p", json={"a": 1})
                assert (r.status_code, r.text) == (200, "ok")
        assert server.connections == 1


STRAY_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("then", "hang_up"), [(b"", True), (STRAY_408, True), (STRAY_408, False)], ids=["eof", "408-eof", "408-open"]
)
async def test_an_idle_connection_the_server_closed_or_wrote_to_is_not_used_again(then: bytes, hang_up: bool) -> None:
    """The server answers once, then hangs up on the idle connection, or sends a stray 408 (as
    some servers do before they hang up): the next call goes out on a new connection and gets its
    own answer, never the 408."""
    done, held = asyncio.Event(), asyncio.Event()

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if done.is_set():
            await _answer_each(reader, writer)
            return
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.05)  # the answer read alone, before what follows
        writer.write(then)
        await writer.drain()
        done.set()
        if not hang_up:
            await held.wait()

    async with _serve(once) as server:
        async with _client() as client:
            assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "ok"
            await done.wait()
            pool = client._transport._pools[0]._pool  # type: ignore[attr-defined]
            # Within the pool's keep-alive expiry (5 s), after which the connection would expire anyway.
            await _until(lambda: all(c.has_expired() for c in pool.connections), "the connection seen expired", 3)
            r = await client.get(f"http://127.0.0.1:{server.port}/")
            assert (r.status_code, r.text) == (200, "ok")
        held.set()
        assert server.connections == 2


async def test_a_server_that_does_not_answer_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with _serve(silent) as server, _client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"http://127.0.0.1:{server.port}/", timeout=0.2)


async def test_a_server_that_does_not_read_is_a_write_timeout() -> None:
    stop = asyncio.Event()

    async def not_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await stop.wait()

    async with _serve(not_reading, limit=1024) as server:
        async with _client() as client:
            body = b"x" * (64 * 1024 * 1024)  # more than loopback's buffers hold
            with pytest.raises(httpx.WriteTimeout):
                await client.post(f"http://127.0.0.1:{server.port}/", content=body, timeout=0.3)
        stop.set()


async def test_a_connection_reset_mid_answer_is_an_error_of_the_transport() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart")
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        writer.transport.abort()

    async with _serve(reset) as server, _client() as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await client.get(f"http://127.0.0.1:{server.port}/")


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with _client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_tls_checks_the_certificate_against_the_name(tmp_path: Path) -> None:
    server_tls, client_tls = tls_pair(tmp_path, "api.platform.test")
    async with _serve(_answer_each, ssl=server_tls) as server:
        async with _client(verify=client_tls) as client:
            url = f"https://127.0.0.1:{server.port}/"
            # The name the certificate is for, as the guarded transport sends it (SNI).
            named = client.build_request("GET", url, extensions={"sni_hostname": "api.platform.test"})
            r = await client.send(named)
            assert (r.status_code, r.text) == (200, "ok")
            assert r.extensions["network_stream"].get_extra_info("ssl_object") is not None
        async with _client(verify=client_tls) as client:  # a pool is keyed by address: a new one
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.send(client.build_request("GET", url, extensions={"sni_hostname": "other.test"}))


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout(tmp_path: Path) -> None:
    _, client_tls = tls_pair(tmp_path, "api.platform.test")

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with _serve(mute) as server, _client(verify=client_tls) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(f"https://127.0.0.1:{server.port}/", timeout=0.3)


async def _until(condition: Callable[[], bool], what: str, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
