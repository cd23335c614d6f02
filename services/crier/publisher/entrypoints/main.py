"""`crier serve publisher --platform P`: P is one platform, a comma-separated list, or `all`.

Every platform runs the same code path; `all` simply binds every platform's queue in one process.
The composition root: the one place that builds the adapters and hands them to the use cases,
and the instruments: deliveries, attempts and dead letters per platform, and the lag of every
consumer the process reads (each lane's, per platform) in the service's metrics.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from crier.kit.bus import streams
from crier.kit.guarded_http import guarded_client
from crier.kit.http_pools import spread_client
from crier.kit.media.signing import MediaUrlSigner
from crier.kit.media.store import open_store
from crier.kit.metrics_bus import watch_consumer
from crier.kit.service import Runtime, run_on_fastest_loop, run_service
from crier.kit.settings import load
from crier.kit.ssrf import parse_networks
from crier.platforms.base import PlatformSettings
from crier.platforms.timelines import readers
from crier.publisher.adapters import registry
from crier.publisher.adapters.media import StoredMedia
from crier.publisher.adapters.token_cache import CachedTokens, forget_on_account_events
from crier.publisher.adapters.tokens import ConnectTokens
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.domain.budget import BudgetPolicy, parse_overrides
from crier.publisher.domain.routing import platforms_to_serve
from crier.publisher.entrypoints import consumers, imports
from crier.publisher.handlers.context import Context, Meters
from crier.publisher.handlers.importing import Importing
from crier.publisher.settings import PublisherSettings


def main(platform: str = "all") -> int:
    try:
        platforms = platforms_to_serve(platform)
    except ValueError as exc:
        print(f"crier serve publisher: {exc}", file=sys.stderr)  # noqa: T201 - a command-line answer
        return 2
    settings = steady_pool(load(PublisherSettings))
    retry = RetryPolicy(
        max_attempts=settings.publisher_max_attempts,
        base_s=settings.publisher_retry_base_s,
        max_s=settings.publisher_retry_max_s,
        rate_limit_deadline_s=settings.publisher_rate_limit_deadline_s,
        processing_deadline_s=settings.publisher_processing_deadline_s,
        processing_poll_max_s=settings.publisher_processing_poll_max_s,
    )
    budgets = BudgetPolicy(
        enabled=_budgets_on(settings),
        overrides=parse_overrides(settings.publisher_budget_limits),
        slack_s=settings.publisher_budget_slack_s,
    )
    signer = MediaUrlSigner(settings.encryption_keys, settings.public_url, settings.media_url_ttl_s)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        # One client for every platform call: its pool is shared, its timeout bounds each call, and
        # a redirect is an answer to classify, never a place to send an account's token.
        # As many connections as the process has calls in flight at most: one per delivery and
        # import slot (see `kit.http_pools` for why in many small pools).
        slots = len(platforms) * (settings.publisher_concurrency + settings.publisher_import_concurrency)
        http = spread_client(
            slots, timeout_s=settings.platform_timeout_s, headers={"User-Agent": "Crier/1.0 (+publisher)"}
        )
        guarded = guarded_client(
            parse_networks(settings.instance_allowed_networks),
            timeout_s=settings.platform_timeout_s,
            headers={"User-Agent": "Crier/1.0 (+publisher)"},
            connections=slots,
        )
        store = await open_store(settings, rt.bus)
        tokens = CachedTokens(ConnectTokens(rt.bus), ttl_s=settings.publisher_token_cache_s)
        # Listening before the first delivery asks: nothing announced from then on is missed.
        await forget_on_account_events(rt.bus, tokens)
        ctx = Context(
            uow=rt.uow,
            adapters=registry.adapters(http, PlatformSettings.from_settings(settings), guarded=guarded),
            retry=retry,
            tokens=tokens,
            media=StoredMedia(store, signer),
            meters=Meters.on(rt.metrics),
            budgets=budgets,
        )
        queues = [await consumers.publish_queue(rt.bus, ctx, p, settings, rt.stop) for p in platforms]
        canceled = await consumers.cancellations(rt.bus, ctx, settings, rt.stop)
        importing = Importing(
            uow=rt.uow,
            tokens=ctx.tokens,
            readers=readers(http, PlatformSettings.from_settings(settings), guarded=guarded),
        )
        backfills = [await imports.import_queue(rt.bus, importing, p, settings, rt.stop) for p in platforms]
        # Watched once they exist: a scrape before the consumers are bound would find none.
        for durable in (d for p in platforms for d in consumers.durables(p)):
            watch_consumer(rt.metrics, rt.bus, streams.PUBLISH, durable)
        watch_consumer(rt.metrics, rt.bus, streams.EVENTS, consumers.CANCELLATIONS)
        for p in platforms:
            watch_consumer(rt.metrics, rt.bus, streams.PUBLISH, imports.durable_for(p))

        async def deliver_then_close() -> None:
            # Closed only once the queues have finished their deliveries in flight.
            try:
                await asyncio.gather(*queues, *backfills)
            finally:
                await http.aclose()
                await guarded.aclose()
                await store.close()

        return [deliver_then_close(), canceled]

    return run_on_fastest_loop(run_service("publisher", "publisher", settings, body, platform=platform))


def steady_pool(settings: PublisherSettings) -> PublisherSettings:
    """Enough of the pool's connections kept open for every delivery slot to hold one at once, out
    of the same most-ever (pool + overflow): with 10 kept and 16 slots, the overflow connections
    were opened and closed again delivery after delivery (8 % of a sandbox burst's CPU in a py-spy
    profile went to connecting)."""
    ceiling = settings.database_pool_size + settings.database_max_overflow
    kept = min(ceiling, max(settings.database_pool_size, settings.publisher_concurrency + 4))
    return replace(settings, database_pool_size=kept, database_max_overflow=ceiling - kept)


def _budgets_on(settings: PublisherSettings) -> bool:
    """A stand-in for the platforms (the simulator) has none of their limits, unless asked."""
    if settings.publisher_budgets not in ("on", "off", "auto"):
        raise ValueError(f"CRIER_PUBLISHER_BUDGETS={settings.publisher_budgets!r}: expected on, off or auto")
    if settings.publisher_budgets == "auto":
        return not settings.platform_base_url
    return settings.publisher_budgets == "on"
