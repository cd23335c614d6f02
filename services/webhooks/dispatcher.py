"""The dispatch loop: one timer set to the next due delivery, kept in step with Postgres.

It claims what is due (up to the free slots of a bounded pool), sends each claim as its own task,
and sets the timer for the earliest delivery still waiting. Commits that make something due sooner
— a new event, a resend, a finished delivery that unblocks the next one of its target — NOTIFY,
which wakes it; so does a task of its own finishing. `webhooks_max_wait_s` is only a safety net.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from kit.crypto import Keyring
from kit.log import get
from webhooks.adapters import deliveries, events
from webhooks.adapters.deliveries import Claim
from webhooks.adapters.sender import Sender
from webhooks.domain.delivery import after_attempt, should_disable
from webhooks.settings import WebhooksSettings

log = get(__name__)
# Due rows that another replica has locked will be committed by it in a moment: look again soon.
_LOCKED_ELSEWHERE_S = 0.05
_PRUNE_EVERY_S = 3600.0


class Dispatcher:
    def __init__(self, engine: AsyncEngine, sender: Sender, keyring: Keyring, settings: WebhooksSettings) -> None:
        self._engine = engine
        self._sender = sender
        self._keyring = keyring
        self._settings = settings
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wakeup.clear()
            try:
                free = self._settings.webhooks_concurrency - len(self._in_flight)
                claimed = await self._claim(free) if free > 0 else 0
                if free - claimed <= 0:
                    # The pool is full: only a finishing delivery can change anything.
                    await _first_of(self._wakeup, stop, timeout=self._settings.webhooks_max_wait_s)
                    continue
                async with self._engine.connect() as conn:
                    due, now = await deliveries.next_due(conn, per_endpoint=self._settings.webhooks_endpoint_concurrency)
                delay = self._settings.webhooks_max_wait_s if due is None else (due - now).total_seconds()
            except Exception as exc:  # database away: keep the loop alive and look again soon
                log.warning("webhooks.dispatch_failed", error=repr(exc))
                claimed, delay = 0, 1.0
            if delay <= 0:
                if claimed:
                    continue
                delay = _LOCKED_ELSEWHERE_S
            await _first_of(self._wakeup, stop, timeout=min(delay, self._settings.webhooks_max_wait_s))
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._settings.webhooks_timeout_s)

    async def _claim(self, limit: int) -> int:
        async with self._engine.begin() as conn:
            claims = await deliveries.claim(
                conn, limit=limit, per_endpoint=self._settings.webhooks_endpoint_concurrency,
                lease_s=self._settings.lease_s,
            )
        for claim in claims:
            task = asyncio.ensure_future(self._deliver(claim))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(claims)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhooks.delivery_crashed", error=repr(task.exception()))
        self._wakeup.set()

    async def _deliver(self, claim: Claim) -> None:
        aad = claim.endpoint_id.encode()
        secrets = [self._keyring.decrypt(c, aad) for c in claim.secret_ciphertexts]
        attempted_at = datetime.now(UTC)
        outcome = await self._sender.send(claim.url, claim.message_id, claim.body, secrets)
        scale = self._settings.webhooks_retry_scale
        step = after_attempt(claim.attempts_made + 1, outcome, scale=scale, jitter_draw=random.random())
        async with self._engine.begin() as conn:
            await deliveries.record_attempt(
                conn, claim, attempted_at=attempted_at, http_status=outcome.http_status,
                latency_ms=outcome.latency_ms, response_excerpt=outcome.response_excerpt, error=outcome.error,
            )
            await deliveries.settle(conn, claim, step.status, step.delay_s)
            if outcome.succeeded:
                await deliveries.endpoint_succeeded(conn, claim.endpoint_id)
                return
            noted = await deliveries.endpoint_failed(conn, claim.endpoint_id)
            if noted is None:
                return
            failing_since, now, is_active = noted
            if is_active and should_disable(failing_since, now, scale=scale):
                reason = f"no successful delivery since {failing_since.isoformat()} (last error: {outcome.error})"
                if await deliveries.disable_endpoint(conn, claim.endpoint_id, reason):
                    log.warning("webhooks.endpoint_disabled", endpoint_id=claim.endpoint_id, reason=reason)

    async def prune(self, stop: asyncio.Event) -> None:
        """Drop events (and their deliveries) past the 30-day retention, once an hour."""
        while not stop.is_set():
            try:
                async with self._engine.begin() as conn:
                    deleted = await events.prune(conn)
                if deleted:
                    log.info("webhooks.pruned", rows=deleted)
            except Exception as exc:
                log.warning("webhooks.prune_failed", error=repr(exc))
            await _first_of(stop, stop, timeout=_PRUNE_EVERY_S)


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=max(timeout, 0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
