"""The dispatch loop: one timer set to the next due delivery, kept in step with Postgres.

It claims what is due (up to the free slots of a bounded pool), sends each claim as its own task,
and sets the timer for the earliest delivery still waiting. Finished attempts are settled in
batches, one transaction for whatever finished meanwhile. Commits that make something due sooner —
a new event, a resend, a settled delivery that unblocks the next one of its target — NOTIFY, which
wakes the loop; `webhooks_max_wait_s` is only a safety net.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.crypto import Keyring
from crier.kit.log import get
from crier.webhooks.adapters import events, queue
from crier.webhooks.adapters.queue import Claim, Settlement
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.domain.delivery import after_attempt, should_disable
from crier.webhooks.settings import WebhooksSettings

log = get(__name__)
_PRUNE_EVERY_S = 3600.0


class Dispatcher:
    def __init__(self, engine: AsyncEngine, sender: Sender, keyring: Keyring, settings: WebhooksSettings) -> None:
        self._engine = engine
        self._sender = sender
        self._keyring = keyring
        self._settings = settings
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._finished: list[Settlement] = []
        self._settle_wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        max_wait = self._settings.webhooks_max_wait_s
        while not stop.is_set():
            self._wakeup.clear()
            free = self._settings.webhooks_concurrency - len(self._in_flight)
            if free <= 0:
                # The pool is full: only a settled delivery can change anything.
                await _first_of(self._wakeup, stop, timeout=max_wait)
                continue
            try:
                claimed, contended, due, now = await self._claim(free)
                if claimed >= free or contended:
                    continue
                delay = max_wait if due is None else (due - now).total_seconds()
            except Exception as exc:  # database away: keep the loop alive and look again soon
                log.warning("webhooks.dispatch_failed", error=repr(exc))
                delay = 1.0
            if delay > 0:
                await _first_of(self._wakeup, stop, timeout=min(delay, max_wait))
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._settings.webhooks_timeout_s)

    async def _claim(self, limit: int) -> tuple[int, bool, datetime | None, datetime]:
        """Claim and start what is due; and, as of the same instant, when the next thing will be."""
        async with self._engine.begin() as conn:
            claims, contended = await queue.claim(
                conn,
                limit=limit,
                per_endpoint=self._settings.webhooks_endpoint_concurrency,
                lease_s=self._settings.lease_s,
            )
            due, now = await queue.next_due(conn)
        for claim in claims:
            task = asyncio.ensure_future(self._deliver(claim))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claims), contended, due, now

    async def _deliver(self, claim: Claim) -> None:
        try:
            aad = claim.endpoint_id.encode()
            secrets = [self._keyring.decrypt(c, aad) for c in claim.secret_ciphertexts]
            attempted_at = datetime.now(UTC)
            outcome = await self._sender.send(claim.endpoint_id, claim.url, claim.message_id, claim.body, secrets)
        except Exception as exc:  # its lease runs out and it is tried again then
            log.error("webhooks.delivery_crashed", delivery_id=claim.id, error=repr(exc))
            return
        step = after_attempt(
            claim.attempts_made + 1, outcome, scale=self._settings.webhooks_retry_scale, jitter_draw=random.random()
        )
        self._finished.append(Settlement(claim, attempted_at, outcome, step.status, step.delay_s))
        self._settle_wakeup.set()

    async def settle(self, stop: asyncio.Event) -> None:
        """Write finished attempts in batches until stopped and nothing is left in flight."""
        while True:
            self._settle_wakeup.clear()
            if not self._finished:
                if stop.is_set() and not self._in_flight:
                    return
                # Once stopping, only the deliveries still in flight can bring more.
                other = self._settle_wakeup if stop.is_set() else stop
                await _first_of(self._settle_wakeup, other, timeout=self._settings.webhooks_max_wait_s)
                continue
            batch, self._finished = self._finished, []
            try:
                await self._settle(batch)
            except Exception as exc:
                log.warning("webhooks.settle_failed", error=repr(exc), attempts=len(batch))
                self._finished = batch + self._finished
                await asyncio.sleep(0.5)
                continue
            self.wake()

    async def _settle(self, batch: list[Settlement]) -> None:
        scale = self._settings.webhooks_retry_scale
        async with self._engine.begin() as conn:
            for failing in await queue.settle(conn, batch):
                if not should_disable(failing.since, failing.now, scale=scale):
                    continue
                last_error = next(
                    s.outcome.error for s in reversed(batch) if s.claim.endpoint_id == failing.endpoint_id
                )
                reason = f"no successful delivery since {failing.since.isoformat()} (last error: {last_error})"
                if await queue.disable_endpoint(conn, failing.endpoint_id, reason):
                    log.warning("webhooks.endpoint_disabled", endpoint_id=failing.endpoint_id, reason=reason)

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
