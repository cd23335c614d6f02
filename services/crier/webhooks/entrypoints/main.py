"""`crier serve webhooks`: the event intake, the RPC API and the dispatch loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crier.kit.crypto import Keyring
from crier.kit.service import Runtime, run_service
from crier.kit.settings import load
from crier.webhooks.adapters.guard import Policy
from crier.webhooks.adapters.notify import DueListener
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.dispatcher import Dispatcher
from crier.webhooks.domain.addresses import parse_networks
from crier.webhooks.entrypoints import consumers, rpc
from crier.webhooks.handlers import Context
from crier.webhooks.settings import WebhooksSettings


def main() -> int:
    settings = load(WebhooksSettings)
    keyring = Keyring(settings.encryption_keys)
    policy = Policy(settings.webhooks_allow_http, parse_networks(settings.webhooks_allowed_networks))

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        sender = Sender(
            policy,
            timeout_s=settings.webhooks_timeout_s,
            connections_per_endpoint=settings.webhooks_endpoint_concurrency,
        )
        dispatcher = Dispatcher(rt.engine, sender, keyring, settings)
        ctx = Context(rt.engine, keyring, policy, dispatcher.wake)
        await rpc.serve(rt.bus, ctx)
        return [
            await consumers.internal_events(rt.bus, ctx, rt.stop, ack_wait_s=settings.webhooks_ack_wait_s),
            dispatcher.run(rt.stop),
            dispatcher.settle(rt.stop),
            dispatcher.prune(rt.stop),
            DueListener(settings.database_url, dispatcher.wake).run(rt.stop),
        ]

    asyncio.run(run_service("webhooks", "webhooks", settings, body))
    return 0
