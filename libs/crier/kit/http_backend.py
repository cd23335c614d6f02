"""httpcore's network backend on asyncio's own streams, for the pools of `http_pools`.

httpcore reaches asyncio through anyio: every read and write opens a cancel scope and asks sniffio
which library runs, and before each call the pool asks every idle connection whether the server
closed it, which anyio answers by building its table of socket attributes and polling the socket.
py-spy on a live publisher put anyio at about a sixth of its CPU; a micro-benchmark of one call at a
time, 1.1-1.3 ms of CPU per call through anyio, 0.9-1.0 ms through this backend. asyncio's streams
do the same work directly, and the loop has already read whatever the server sent (an EOF, a stray
408 before it hung up) into the connection's reader, so a connection's state is known without a
system call. httpcore has no asyncio backend of its own to choose instead (only anyio and trio).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any

import httpcore

# As httpcore's own backends take them: (level, option, value) or (level, option, None, length).
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, errors raised as httpcore's (which httpx maps to its own)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "timed out reading") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            # `drain` raises if the connection is lost, and waits only while the transport's buffer
            # is over its high-water mark; the timeout's timer is set up only when there is a wait.
            if not self._writer.transport.get_write_buffer_size():
                await self._writer.drain()
                return
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "timed out writing") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(exc) or "timed out in the TLS handshake") from exc
        except OSError as exc:  # ssl.SSLError among them: a refused certificate
            self._writer.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle connection: anything read (an EOF, a stray answer) or a lost
            # connection means it must not carry another request. `_buffer` is the reader's unread
            # bytes, which StreamReader has no public way to tell.
            reader = self._reader
            return bool(reader._buffer) or reader.at_eof() or reader.exception() is not None  # type: ignore[attr-defined]
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        return await _opened(
            asyncio.open_connection(host, port, local_addr=local), f"{host}:{port}", timeout, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await _opened(asyncio.open_unix_connection(path), path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _opened(
    opening: Coroutine[Any, Any, tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    where: str,
    timeout: float | None,
    socket_options: Iterable[SocketOption] | None,
) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await opening
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(str(exc) or f"timed out connecting to {where}") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    # asyncio sets TCP_NODELAY itself; these are the caller's own.
    for option in socket_options or ():
        writer.get_extra_info("socket").setsockopt(*option)
    return AsyncioStream(reader, writer)


BACKEND = AsyncioBackend()
