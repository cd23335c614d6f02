"""Firing: every due target's command goes to the publisher, announced by `evt.target.queued`."""

from __future__ import annotations

import uuid
from datetime import datetime

from crier.contracts.commands import command_subject, publish_msg_id
from crier.kit.log import get
from crier.scheduler.adapters import timetable
from crier.scheduler.domain.timetable import queued
from crier.scheduler.handlers.context import Context

log = get(__name__)


async def fire_due(ctx: Context) -> int:
    """Sends every due target's command; returns how many fired.

    Each batch is one transaction: the rows are marked fired in the same commit that writes their
    commands to the outbox, so a crash either fires a batch completely or not at all, and never twice.
    """
    total = 0
    while True:
        async with ctx.uow.begin() as tx:
            due = await timetable.take_due(tx.conn, ctx.batch_size)
            now = ctx.clock()
            for target in due:
                cmd = target.command
                # The event goes first: the relay publishes in outbox order, so `queued` is on the
                # stream before a publisher can announce `publishing` for the command.
                tx.emit("evt.target.queued", queued(cmd, event_id=str(uuid.uuid4()), at=now), trace=target.trace)
                # On its organisation's lane, the due lanes for a scheduled target: the publisher
                # serves them in turn, so neither another organisation's burst nor the immediate
                # queue holds this one back.
                tx.emit(command_subject(cmd), cmd, msg_id=publish_msg_id(cmd), trace=target.trace)
        # Once committed: a batch rolled back is fired again, and would be counted twice.
        for target in due:
            ctx.meters.lateness.observe(target.lateness_s)
        if due:
            log.info("scheduler.fired", count=len(due))
        total += len(due)
        if len(due) < ctx.batch_size:
            return total


async def next_due(ctx: Context) -> tuple[datetime | None, datetime]:
    """The earliest moment a waiting target is due (None: nothing waits), and the database's now."""
    async with ctx.uow.read() as conn:
        return await timetable.next_due(conn)
