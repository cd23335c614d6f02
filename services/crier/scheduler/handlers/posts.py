"""What post events do to the timetable."""

from __future__ import annotations

from crier.contracts.events import PostCanceled, PostCreated, PostRedriven, PostUpdated
from crier.kit.log import get
from crier.kit.telemetry import inject_headers
from crier.scheduler.adapters import timetable
from crier.scheduler.domain.timetable import earliest, entries_for, version_of
from crier.scheduler.handlers.context import Context

log = get(__name__)


async def post_created(ctx: Context, event: PostCreated) -> None:
    entries = entries_for(event)
    if not entries:
        # A draft: nothing to write, so nothing to record either (a redelivery would do nothing
        # again); the transaction was half the scheduler's work per draft created.
        return
    # One statement, committed by itself: the event's claim and the post's entries.
    async with ctx.uow.autocommit() as tx:
        # The request's trace context, kept with each row so firing continues its trace.
        if not await timetable.add_claiming(tx.conn, ctx.uow.consumer, event.id, entries, inject_headers()):
            return  # handled before
    # Only after the commit: woken earlier, the alarm could look before the rows are visible.
    ctx.wake_alarm(earliest(entries))
    log.info("scheduler.targets_added", post_id=event.post_id, count=len(entries))


async def post_updated(ctx: Context, event: PostUpdated) -> None:
    """An edited post, or a published draft: its waiting targets move to the new moment with the new
    content, new targets are added, removed ones canceled. A target that fired already went out as
    it was (the gateway refuses edits once it hears of that, and this race is that narrow)."""
    entries = entries_for(event)
    async with ctx.uow.begin(handling=event.id) as tx:
        if tx.seen_before:
            return
        written = await timetable.revise(tx.conn, entries, version_of(event), inject_headers())
        stopped = await timetable.cancel(tx.conn, event.post_id, event.removed_target_ids)
    if written:
        # Woken for a moment that moved later, the alarm finds nothing due and sleeps again.
        ctx.wake_alarm(earliest([e for e in entries if e.target_id in written]))
    log.info(
        "scheduler.targets_revised",
        post_id=event.post_id,
        version=event.version,
        written=len(written),
        canceled=stopped,
        skipped=len(entries) - len(written),
    )


async def post_canceled(ctx: Context, event: PostCanceled) -> None:
    async with ctx.uow.begin(handling=event.id) as tx:
        if tx.seen_before:
            return
        stopped = await timetable.cancel(tx.conn, event.post_id, event.target_ids)
    log.info("scheduler.targets_canceled", post_id=event.post_id, count=stopped)


async def post_redriven(ctx: Context, event: PostRedriven) -> None:
    """The redriven targets' commands go out again at once, as the new generation."""
    async with ctx.uow.begin(handling=event.id) as tx:
        if tx.seen_before:
            return
        # The redrive request's trace context, so the renewed delivery continues it.
        rearmed = await timetable.rearm(tx.conn, event.post_id, event.target_ids, event.redrive, inject_headers())
    if rearmed:
        ctx.wake_alarm(None)
    missing = sorted(set(event.target_ids) - set(rearmed))
    log.info("scheduler.targets_redriven", post_id=event.post_id, redrive=event.redrive, count=len(rearmed))
    if missing:
        log.warning("scheduler.redrive_skipped", post_id=event.post_id, redrive=event.redrive, target_ids=missing)
