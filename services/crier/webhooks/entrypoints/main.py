"""`crier serve webhooks`: the event intake, the RPC API and the dispatch loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.kit.bus import streams
from crier.kit.crypto import Keyring
from crier.kit.metrics_bus import watch_consumer
from crier.kit.service import Runtime, run_on_fastest_loop, run_service
from crier.kit.settings import load
from crier.kit.ssrf import parse_networks
from crier.webhooks.adapters.guard import Policy
from crier.webhooks.adapters.notify import DueListener
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.entrypoints import consumers, rpc
from crier.webhooks.entrypoints.dispatcher import Dispatcher, prune
from crier.webhooks.handlers.context import Context, Meters
from crier.webhooks.handlers.dispatch import measure_disabled_endpoints
from crier.webhooks.settings import WebhooksSettings


def main() -> int:
    settings = load(WebhooksSettings)
    policy = Policy(settings.webhooks_allow_http, parse_networks(settings.webhooks_allowed_networks))

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        sender = Sender(
            policy,
            timeout_s=settings.webhooks_timeout_s,
            connections_per_endpoint=settings.webhooks_endpoint_concurrency,
        )
        # Something may have become due: set by this process's commits and by every replica's NOTIFY.
        due = asyncio.Event()
        ctx = Context(
            uow=rt.uow,
            settings=settings,
            keyring=Keyring(settings.encryption_keys),
            policy=policy,
            sender=sender,
            wake=due.set,
            meters=Meters.on(rt.metrics),
        )
        dispatcher = Dispatcher(ctx, due)
        await rpc.serve(rt.bus, ctx)
        intake = await consumers.internal_events(rt.bus, ctx, rt.stop)
        watch_consumer(rt.metrics, rt.bus, streams.EVENTS, consumers.DURABLE)
        rt.metrics.on_scrape(lambda: measure_disabled_endpoints(ctx))
        return [
            intake,
            dispatcher.run(rt.stop),
            dispatcher.settle(rt.stop),
            prune(ctx, rt.stop),
            DueListener(settings.database_url, due.set).run(rt.stop),
        ]

    return run_on_fastest_loop(run_service("webhooks", "webhooks", settings, body))
