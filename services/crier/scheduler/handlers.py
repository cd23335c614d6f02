"""Use cases: put a created post's targets on the timetable, cancel them, fire what is due."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import publish_subject
from crier.contracts.events import PostCanceled, PostCreated, TargetQueued
from crier.kit.bus import inbox, outbox
from crier.kit.log import get
from crier.kit.telemetry import inject_headers
from crier.scheduler.adapters import timetable
from crier.scheduler.domain.timetable import earliest, entries_for

log = get(__name__)
CONSUMER = "scheduler"


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        wake_alarm: Callable[[datetime | None], None],
        wake_relay: Callable[[], None],
        batch_size: int = 1000,
    ) -> None:
        self._engine = engine
        self._wake_alarm = wake_alarm
        self._wake_relay = wake_relay
        self._batch_size = batch_size

    async def post_created(self, event: PostCreated) -> None:
        entries = entries_for(event)
        async with self._engine.begin() as conn:
            if not await inbox.first_time(conn, CONSUMER, event.id):
                return
            await timetable.add(conn, entries, inject_headers())
        # Only after the commit: woken earlier, the alarm could look before the rows are visible.
        if entries:
            self._wake_alarm(earliest(entries))
            log.info("scheduler.targets_added", post_id=event.post_id, count=len(entries))

    async def post_canceled(self, event: PostCanceled) -> None:
        async with self._engine.begin() as conn:
            if not await inbox.first_time(conn, CONSUMER, event.id):
                return
            stopped = await timetable.cancel(conn, event.post_id, event.target_ids)
        log.info("scheduler.targets_canceled", post_id=event.post_id, count=stopped)

    async def fire_due(self) -> int:
        """Sends every due target's command; returns how many fired.

        Each batch is one transaction: the rows are marked fired in the same commit that writes
        their commands to the outbox, so a crash either fires a batch completely or not at all,
        and never twice.
        """
        total = 0
        while True:
            async with self._engine.begin() as conn:
                due = await timetable.take_due(conn, self._batch_size)
                now = datetime.now(UTC)
                items: list[tuple[str, object, str | None, dict[str, str]]] = []
                for t in due:
                    # The event goes first: the relay publishes in outbox order, so `queued` is on
                    # the stream before a publisher can announce `publishing` for the command.
                    items.append(
                        (
                            "evt.target.queued",
                            TargetQueued(
                                id=str(uuid.uuid4()),
                                occurred_at=now,
                                org_id=t.org_id,
                                mode=t.mode,  # type: ignore[arg-type]
                                post_id=t.post_id,
                                target_id=t.target_id,
                                platform=t.platform,
                            ),
                            None,
                            t.trace,
                        )
                    )
                    items.append((publish_subject(t.platform), t.command, t.target_id, t.trace))
                await outbox.add_many(conn, items)
            if due:
                self._wake_relay()
                log.info("scheduler.fired", count=len(due))
            total += len(due)
            if len(due) < self._batch_size:
                return total
