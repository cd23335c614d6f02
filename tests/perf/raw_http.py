"""The benchmarks' HTTP client: HTTP/1.1 over keep-alive connections, one request at a time on
each, nothing else. The load generator shares the machine with Crier: httpx took ~2 ms of CPU a
request here, a quarter of a core at the latency benchmark's steady rate, taken from what it
measures. Loopback only.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import msgspec


def request_bytes(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def open_connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of the next answer (Crier always sends a content-length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return int(head[9:12]), await reader.readexactly(length)


class RawApi:
    """JSON requests to the API with one key, each on an idle connection (a new one when none is)."""

    def __init__(self, port: int, key: str, prefix: str = "/api/v1") -> None:
        self._port, self._prefix = port, prefix
        self._headers = {"authorization": f"Bearer {key}"}
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, payload: Any) -> tuple[int, Any]:
        request = request_bytes(self._port, "POST", self._prefix + path, msgspec.json.encode(payload), self._headers)
        connection = self._idle.pop() if self._idle else await open_connection(self._port)
        reader, writer = connection
        try:
            writer.write(request)
            status, body = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        self._idle.append(connection)
        return status, msgspec.json.decode(body)

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
