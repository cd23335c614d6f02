"""The steps of the dispatch loop (entrypoints.dispatcher): claim what is due, attempt one claimed
delivery (counted and timed in the service's metrics), settle finished attempts, forget what is
past retention; and, for a scrape, count the endpoints the loop has disabled."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry import context as otel_context

from crier.kit.log import get
from crier.kit.telemetry import extract_context
from crier.webhooks.adapters import endpoints, events, queue
from crier.webhooks.domain.delivery import Claim, Settlement, after_attempt, should_disable
from crier.webhooks.handlers.context import Context

log = get(__name__)
# The metrics' outcome for where an attempt leaves its delivery: a failure that will be retried is
# `failed`, the last one `gave_up` (an alert wants those apart).
METRIC_OUTCOME = {"delivered": "delivered", "retrying": "failed", "failed": "gave_up"}


@dataclass(frozen=True)
class Round:
    claims: list[Claim]
    # The round took all it could and more may be due: look again at once.
    more_due: bool
    # Until the earliest future attempt or lease expiry; None when nothing is waiting.
    next_in_s: float | None


async def claim_due(ctx: Context, limit: int) -> Round:
    """Lease up to `limit` due deliveries; and, as of the same instant, when the next one is due."""
    async with ctx.uow.begin() as tx:
        claims, contended = await queue.claim(
            tx.conn,
            limit=limit,
            per_endpoint=ctx.settings.webhooks_endpoint_concurrency,
            lease_s=ctx.settings.lease_s,
        )
        due, now = await queue.next_due(tx.conn)
    return Round(claims, len(claims) >= limit or contended, None if due is None else (due - now).total_seconds())


async def attempt_delivery(ctx: Context, claim: Claim) -> Settlement:
    """One signed POST, and where its outcome leaves the delivery (written later, by settle)."""
    aad = claim.endpoint_id.encode()
    secrets = [ctx.keyring.decrypt(c, aad) for c in claim.secret_ciphertexts]
    attempted_at, started = datetime.now(UTC), time.perf_counter()
    # The attempt belongs to the trace of the post it reports on, not to the dispatch loop's.
    token = otel_context.attach(extract_context({"traceparent": claim.traceparent} if claim.traceparent else None))
    try:
        outcome = await ctx.sender.send(
            claim.endpoint_id, claim.url, claim.message_id, claim.body, secrets, attempt=claim.attempts_made + 1
        )
    finally:
        otel_context.detach(token)
    took_s = time.perf_counter() - started
    step = after_attempt(
        claim.attempts_made + 1, outcome, scale=ctx.settings.webhooks_retry_scale, jitter_draw=random.random()
    )
    recorded = METRIC_OUTCOME[step.status]
    ctx.meters.deliveries.labels(outcome=recorded).inc()
    ctx.meters.duration.labels(outcome=recorded).observe(took_s)
    return Settlement(claim, attempted_at, outcome, step)


async def settle_attempts(ctx: Context, batch: list[Settlement]) -> None:
    """Write finished attempts in one transaction, and disable the endpoints that have now failed
    for the whole disable window."""
    scale = ctx.settings.webhooks_retry_scale
    disabled: dict[str, str] = {}
    async with ctx.uow.begin() as tx:
        for failing in await queue.settle(tx.conn, batch):
            if not should_disable(failing.since, failing.now, scale=scale):
                continue
            last_error = next(s.outcome.error for s in reversed(batch) if s.claim.endpoint_id == failing.endpoint_id)
            reason = f"no successful delivery since {failing.since.isoformat()} (last error: {last_error})"
            if await queue.disable_endpoint(tx.conn, failing.endpoint_id, reason):
                disabled[failing.endpoint_id] = reason
    for endpoint_id, reason in disabled.items():
        log.warning("webhooks.endpoint_disabled", endpoint_id=endpoint_id, reason=reason)


async def measure_disabled_endpoints(ctx: Context) -> None:
    """Set the disabled-endpoints gauge from the table, for a scrape: every replica reports the
    same count, so a dashboard takes the max, not the sum."""
    async with ctx.uow.read() as conn:
        ctx.meters.disabled_endpoints.set(await endpoints.count_disabled(conn))


async def prune_expired(ctx: Context) -> int:
    """Drop events (and their deliveries) past the 30-day retention; returns the rows deleted."""
    async with ctx.uow.begin() as tx:
        return await events.prune(tx.conn)
