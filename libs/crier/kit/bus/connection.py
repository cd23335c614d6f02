"""A NATS connection plus the namespace that prefixes every subject and stream name."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError

from crier.kit.bus import streams
from crier.kit.log import get

log = get(__name__)


class Bus:
    def __init__(self, nc: Client, namespace: str = "", replicas: int = 1) -> None:
        self.nc = nc
        self.replicas = replicas
        self.js: JetStreamContext = nc.jetstream(timeout=10)
        self.namespace = namespace

    @classmethod
    async def connect(cls, url: str, *, namespace: str = "", name: str = "crier", replicas: int = 1) -> Bus:
        async def _disconnected() -> None:
            log.warning("nats.disconnected")

        async def _reconnected() -> None:
            log.info("nats.reconnected")

        nc = await nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            disconnected_cb=_disconnected,
            reconnected_cb=_reconnected,
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
