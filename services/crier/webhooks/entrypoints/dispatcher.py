"""The dispatch loop: one timer set to the next due delivery, kept in step with Postgres.

It claims what is due (up to the free slots of a bounded pool), sends each claim as its own task,
and sets the timer for the earliest delivery still waiting. Finished attempts are settled in
batches, one transaction for whatever finished meanwhile. Commits that make something due sooner —
a new event, a resend, a settled delivery that unblocks the next one of its target — NOTIFY, which
wakes the loop; `webhooks_max_wait_s` is only a safety net. While the database is away, claims and
settlements are retried after a growing pause, each loop logging the outage when it begins and
when it ends.
"""

from __future__ import annotations

import asyncio

from crier.kit.log import get
from crier.kit.outage import Outage
from crier.kit.waiting import first_of
from crier.webhooks.domain.delivery import Claim, Settlement
from crier.webhooks.handlers.context import Context
from crier.webhooks.handlers.dispatch import attempt_delivery, claim_due, prune_expired, settle_attempts

log = get(__name__)
_PRUNE_EVERY_S = 3600.0


class Dispatcher:
    def __init__(self, ctx: Context, due: asyncio.Event) -> None:
        self._ctx = ctx
        # Set when something may have become due: by ctx.wake, a NOTIFY, or a settlement.
        self._due = due
        self._in_flight: set[asyncio.Task[None]] = set()
        self._finished: list[Settlement] = []
        self._finished_one = asyncio.Event()
        self._claiming = Outage("webhooks.dispatch", logger=log)
        self._settling = Outage("webhooks.settle", logger=log)
        self._attempting = Outage("webhooks.delivery", logger=log)

    async def run(self, stop: asyncio.Event) -> None:
        settings = self._ctx.settings
        max_wait = settings.webhooks_max_wait_s
        while not stop.is_set():
            self._due.clear()
            free = settings.webhooks_concurrency - len(self._in_flight)
            if free <= 0:
                # The pool is full: only a settled delivery can change anything.
                await first_of(self._due, stop, timeout=max_wait)
                continue
            try:
                due = await claim_due(self._ctx, free)
            except Exception as exc:  # database away: keep the loop alive and look again, later each time
                # Only a stop cuts the pause short: a NOTIFY or a settlement would meet the outage too.
                await first_of(stop, timeout=self._claiming.failed(exc))
                continue
            self._claiming.succeeded()
            for claim in due.claims:
                self._start(claim)
            if due.more_due:
                continue
            wait_s = max_wait if due.next_in_s is None else min(due.next_in_s, max_wait)
            if wait_s > 0:
                await first_of(self._due, stop, timeout=wait_s)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=settings.webhooks_timeout_s)

    def _start(self, claim: Claim) -> None:
        attempt = asyncio.ensure_future(self._attempt(claim))
        self._in_flight.add(attempt)
        attempt.add_done_callback(self._in_flight.discard)

    async def _attempt(self, claim: Claim) -> None:
        try:
            settlement = await attempt_delivery(self._ctx, claim)
        except Exception as exc:  # its lease runs out and it is tried again then
            self._attempting.failed(exc, delivery_id=claim.id)
            return
        self._attempting.succeeded()
        self._finished.append(settlement)
        self._finished_one.set()

    async def settle(self, stop: asyncio.Event) -> None:
        """Write finished attempts in batches until stopped and nothing is left in flight."""
        while True:
            self._finished_one.clear()
            if not self._finished:
                if not stop.is_set():
                    await first_of(self._finished_one, stop, timeout=self._ctx.settings.webhooks_max_wait_s)
                elif self._in_flight:
                    # Stopping: only the deliveries still in flight can bring more.
                    await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
                else:
                    return
                continue
            batch, self._finished = self._finished, []
            try:
                await settle_attempts(self._ctx, batch)
            except Exception as exc:
                self._finished = batch + self._finished
                # A sleep, not a wait on `stop`: when stopping, the batch is still worth settling.
                await asyncio.sleep(self._settling.failed(exc, attempts=len(batch)))
                continue
            self._settling.succeeded()
            self._due.set()


async def prune(ctx: Context, stop: asyncio.Event) -> None:
    """Drop what is past retention, once an hour (sooner again after a round that failed)."""
    outage = Outage("webhooks.prune", logger=log)
    while not stop.is_set():
        try:
            deleted = await prune_expired(ctx)
            if deleted:
                log.info("webhooks.pruned", rows=deleted)
        except Exception as exc:
            await first_of(stop, timeout=outage.failed(exc))
            continue
        outage.succeeded()
        await first_of(stop, timeout=_PRUNE_EVERY_S)
