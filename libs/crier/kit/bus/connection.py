"""A NATS connection plus the namespace that prefixes every subject and stream name.

While the server is away the connection logs two lines, `nats.outage_began` when it drops and
`nats.outage_ended` when it is back (with the reconnect attempts in between), instead of nats-py's
default: a traceback for every failed attempt. Attempts are spaced 0.5 s doubling to 5 s: each is
one refused TCP connect, cheap enough to keep the bus's return noticed within seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.aio.client import Client, Server
from nats.errors import StaleConnectionError, UnexpectedEOF
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError

from crier.kit.bus import streams
from crier.kit.log import get
from crier.kit.outage import Outage, backoff_s

log = get(__name__)
RECONNECT_MAX_S = 5.0
# Errors with which nats-py announces that it is dropping the connection.
_DROPS = (UnexpectedEOF, StaleConnectionError, OSError)


class ConnectionLost(ConnectionError):
    """The server closed the connection or stopped answering (nats-py names no cause)."""


def _next_server(servers: list[Server], _: dict[str, Any]) -> tuple[Server | None, float]:
    """nats-py's reconnect policy: the server tried least often, after a growing pause."""
    server = min(servers, key=lambda s: s.reconnects)
    return server, backoff_s(server.reconnects, max_s=RECONNECT_MAX_S)


class _Watch:
    """nats-py's callbacks, turned into one outage per disconnection."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._outage = Outage("nats")
        # What nats-py reported just before it dropped the connection, to name the outage by it.
        self._cause: BaseException | None = None
        self._attempts = 0

    async def disconnected(self) -> None:
        if self._nc.is_closed:  # closing on purpose is no outage
            return
        self._outage.failed(self._cause or ConnectionLost("connection to NATS lost"))
        self._cause = None

    async def reconnected(self) -> None:
        # The failed attempts and the one that worked.
        self._outage.succeeded(reconnect_attempts=self._attempts + 1)
        self._attempts = 0

    async def error(self, exc: Exception) -> None:
        if self._nc.is_closed:
            return
        if not self._nc.is_connected:
            self._attempts += 1  # a reconnect attempt that failed
            self._outage.failed(exc)
        elif isinstance(exc, _DROPS):
            self._cause = exc  # the disconnection follows at once
        else:
            # A refusal while the connection is fine (permissions, a slow consumer): rare, and ours.
            log.warning("nats.error", error=repr(exc))


class Bus:
    def __init__(self, nc: Client, namespace: str = "", replicas: int = 1) -> None:
        self.nc = nc
        self.replicas = replicas
        self.js: JetStreamContext = nc.jetstream(timeout=10)
        self.namespace = namespace

    @classmethod
    async def connect(cls, url: str, *, namespace: str = "", name: str = "crier", replicas: int = 1) -> Bus:
        nc = Client()
        watch = _Watch(nc)
        await nc.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_to_server_handler=_next_server,
            disconnected_cb=watch.disconnected,
            reconnected_cb=watch.reconnected,
            error_cb=watch.error,
        )
        return cls(nc, namespace, replicas)

    def subject(self, subject: str) -> str:
        return f"{self.namespace}.{subject}" if self.namespace else subject

    def unprefix(self, subject: str) -> str:
        prefix = f"{self.namespace}." if self.namespace else ""
        return subject[len(prefix) :] if prefix and subject.startswith(prefix) else subject

    def stream(self, spec: streams.StreamSpec) -> str:
        return f"{self.namespace}_{spec.name}" if self.namespace else spec.name

    async def ensure_streams(self) -> None:
        for spec in streams.ALL:
            cfg = streams.config_for(spec, self.namespace, self.replicas)
            for attempt in range(20):
                try:
                    try:
                        await self.js.add_stream(cfg)
                    except BadRequestError:
                        await self.js.update_stream(cfg)
                    break
                except Exception:
                    # JetStream may still be recovering right after a server (re)start.
                    if attempt == 19:
                        raise
                    await asyncio.sleep(0.25)

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.close()
