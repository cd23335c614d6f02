"""Delivering one target: an attempt, container by container, and the event its outcome announces.

Delivering is idempotent without an inbox: the target's row says whether it is finished, and the
per-container progress rows say where a previous delivery stopped. Each step commits its state and
its event together through the unit of work.

A failed attempt is retried after a backoff, failed for good, or dead-lettered after the last
allowed one (`domain.target.after_failure`); a rate limit is waited out as the platform asks and
is not one of the allowed failures until the rate-limit deadline has passed.

A platform still processing what a container needs (`StillProcessing`: an uploaded video, a media
container) ends the delivery without concluding the attempt: it stays open, and the command comes
back after the platform's delay, freeing the publisher's slot meanwhile. The next delivery continues
the attempt (the container's send marker makes it look for the post first, then the adapter resumes
from its stage), announcing nothing new. Past the processing deadline, the attempt fails with
`media_processing_timeout`.

A redriven target's command carries a higher generation: the target starts it afresh and its
delivery resumes after the last container that reached the platform. A command of an older
generation than the target's is settled without effect.

A live delivery spends from its account's and its app's publish budgets (`adapters.budgets`) as
its attempt starts, one post per container still to send. When a budget is spent, the attempt does
not start: the command comes back when the budget has room, like a processing wait, and nothing is
announced or counted against the target — a burst to one account is spread out, never failed.

Every delivery that made an attempt or found its target canceled is counted by how it ended, with
its duration; every concluded attempt by its error code, every dead letter too (`Meters`). Its log
lines carry the post, target and platform, and the trace they belong to.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from sqlalchemy.exc import SQLAlchemyError

from crier.contracts.commands import PublishTarget, dead_subject, publish_msg_id
from crier.contracts.connect import AccountToken
from crier.contracts.events import (
    TargetAttemptFailed,
    TargetDeadLettered,
    TargetFailed,
    TargetPublished,
    TargetPublishing,
)
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.log import bound, get
from crier.kit.telemetry import inject_headers
from crier.kit.transient import is_transient
from crier.platforms import publishing
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    PlatformError,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)
from crier.platforms.rules import Rules
from crier.publisher.adapters import containers, targets
from crier.publisher.domain.routing import adapter_key
from crier.publisher.domain.target import after_failure, processing_timed_out
from crier.publisher.handlers.budgeting import budget_wait, budgets_apply
from crier.publisher.handlers.context import Context
from crier.publisher.handlers.sending import Account, send_containers

log = get(__name__)

MIN_PROCESSING_WAIT_S = 0.1


@dataclass(frozen=True)
class RetryIn:
    """The command must come back after this many seconds."""

    delay_s: float


# As `crier_deliveries_total` counts them; `retried` is any delivery whose command comes back: a
# failed attempt to be tried again, or a platform still processing what the target needs.
Outcome = Literal["published", "retried", "failed", "canceled", "dead"]
_OUTCOME_AFTER_FAILURE: dict[str, Outcome] = {"retrying": "retried", "failed": "failed", "dead": "dead"}


@dataclass(frozen=True)
class Ended:
    """How a delivery ended. No outcome when it did nothing to count: its command was settled
    already, or came back before its backoff ended."""

    outcome: Outcome | None = None
    retry: RetryIn | None = None


async def deliver(ctx: Context, cmd: PublishTarget) -> RetryIn | None:
    """None when the command is settled (ack it); `RetryIn` when it must come back after a backoff.

    Our own storage away, or connect not answering, raise: an outage, which the consumer waits out
    without spending an attempt (the open attempt continues on the next delivery)."""
    began = time.monotonic()
    with bound(post_id=cmd.post_id, target_id=cmd.target_id, platform=cmd.platform):
        ended = await _deliver(ctx, cmd)
    if ended.outcome is not None:
        ctx.meters.deliveries.labels(platform=cmd.platform, outcome=ended.outcome).inc()
        ctx.meters.duration.labels(platform=cmd.platform, outcome=ended.outcome).observe(time.monotonic() - began)
    return ended.retry


async def _deliver(ctx: Context, cmd: PublishTarget) -> Ended:
    started = await _start(ctx, cmd)
    if isinstance(started, Ended):
        return started
    attempt, progress = started
    adapter = ctx.adapters.get(adapter_key(cmd.mode, cmd.platform))
    try:
        if adapter is None:
            raise NotSupported(f"publishing to {cmd.platform} is not supported yet")
        account = Account(ctx.tokens, cmd, needed=adapter.needs_account)
        # Everything may be on the platform already (a crash before the success was recorded): then
        # there is nothing to check, and no token to ask for (the account may be gone since).
        if len(progress.posted) < len(cmd.containers):
            problems = _rules(cmd, await account.token()).check(cmd.containers, cmd.config)
            if problems:
                # Media the gateway never inspected (a command from before media) is no content
                # problem the user could fix by editing the post's text.
                unknown = any(p.code == "media_unknown" for p in problems)
                code = "media_unknown" if unknown else "invalid_content"
                raise ContentRejected("; ".join(p.message for p in problems), code=code)
        recorded: list[Ended] = []

        async def finish(published: list[PublishedContainer], last: containers.Posted) -> None:
            recorded.append(await _record_success(ctx, cmd, attempt, published, bool(progress.stages), last))

        published = await send_containers(ctx, adapter, cmd, attempt, account, progress, finish)
    except StillProcessing as wait:
        return await _wait_on_processing(ctx, cmd, attempt, wait)
    except PlatformError as err:
        failure = err
    except Exception as exc:
        if isinstance(exc, SQLAlchemyError) or is_transient(exc):
            raise
        # A bug must end in a visible dead letter, not redeliver forever.
        log.exception("publisher.delivery_crashed")
        failure = TransientError(f"unexpected error: {type(exc).__name__}", code="internal_error")
    else:
        if recorded:
            return _succeeded(ctx, cmd, attempt, recorded[0])
        # The stage saves of this delivery land in `progress.stages` too (`TargetStage`).
        return await _conclude_success(ctx, cmd, attempt, published, bool(progress.stages))
    return await _conclude_failure(ctx, cmd, attempt, failure)


def _rules(cmd: PublishTarget, token: AccountToken | None) -> Rules:
    """The rules the account is held to, by what connect knows of it now: the facts the gateway
    checked the post by at create, unless the platform changed them since (an instance that lowered
    its limit would refuse the post too). Without a token (the sandbox), the platform's own."""
    if token is None:
        return publishing.rules(cmd.platform)
    return publishing.rules(cmd.platform, account_type=token.account_type, limits=token.limits)


async def _start(ctx: Context, cmd: PublishTarget) -> tuple[int, containers.Progress] | Ended:
    """The number of the attempt this delivery makes and where its containers stand, or how it
    ends when it makes none. A target never seen before, with no publish budget to take from,
    starts in one statement committed by itself, shared with the new targets starting beside it
    (`targets.start_new`); any other in a transaction that decides under the target's lock."""
    new_start = None if budgets_apply(ctx, cmd) else targets.NewStart.of(cmd, [_publishing(ctx, cmd, 1)])
    if new_start is not None and await ctx.new_starts.call(new_start):
        return 1, containers.Progress()  # nothing of it can be on the platform yet
    async with ctx.uow.begin() as tx:
        target = await targets.claim(tx.conn, cmd)
        if cmd.redrive < target.redrive:
            return Ended()  # a redrive replaced this command
        if cmd.redrive > target.redrive:
            await targets.start_generation(tx.conn, cmd.target_id, cmd.redrive)
            target = await targets.lock(tx.conn, cmd.target_id)
            log.info("publisher.target_redriven", redrive=cmd.redrive)
        if target.is_finished:
            return Ended()
        if target.canceled:
            await targets.set_status(tx.conn, cmd.target_id, "canceled")
            log.info("publisher.target_canceled")
            return Ended("canceled")
        if target.retry_wait_s > 0:
            # Redelivered before its backoff ended (ack timeout after a crash): not an attempt.
            return Ended(retry=RetryIn(target.retry_wait_s))
        attempt = target.next_attempt
        if not target.resumes_wait:
            wait_s = await budget_wait(ctx, cmd, tx.conn)
            if wait_s is not None:
                return Ended("retried", RetryIn(wait_s))
        if target.resumes_wait:
            log.info("publisher.processing_resumed", attempt=attempt)
        announce = [] if target.resumes_wait else [_publishing(ctx, cmd, attempt)]
        # Where its containers stand is read with the start, under the target's lock.
        progress = await targets.start_attempt(tx, cmd.target_id, cmd.redrive, attempt, announce)
    return attempt, progress


def _publishing(ctx: Context, cmd: PublishTarget, attempt: int) -> OutboxMessage:
    """The message announcing that attempt `attempt` begins."""
    return OutboxMessage(subject="evt.target.publishing", message=TargetPublishing(**_about(ctx, cmd), attempt=attempt))


async def _wait_on_processing(ctx: Context, cmd: PublishTarget, attempt: int, wait: StillProcessing) -> Ended:
    """The attempt waits for the platform's processing, open and unannounced, unless processing
    has held the target back past the deadline: then it fails for good."""
    # Never a busy loop, whatever an adapter asks for.
    delay = ctx.retry.processing_wait(wait.retry_after_s, MIN_PROCESSING_WAIT_S)
    async with ctx.uow.begin() as tx:
        target = await targets.lock(tx.conn, cmd.target_id)
        settled = target.is_finished or not target.attempt_open or target.last_attempt != attempt
        if settled or target.redrive != cmd.redrive:
            return Ended()
        waited_s = target.processing_for_s
        if not processing_timed_out(target, ctx.retry):
            await targets.wait_on_processing(tx.conn, cmd.target_id, delay)
            log.info("publisher.processing_wait", attempt=attempt, retry_in_s=delay)
            return Ended("retried", RetryIn(delay))
    timeout = PlatformError(
        f"{cmd.platform} was still processing the media after {waited_s or 0:.0f} s: {wait.message}",
        code="media_processing_timeout",
        retryable=False,
    )
    return await _conclude_failure(ctx, cmd, attempt, timeout)


async def _conclude_success(
    ctx: Context, cmd: PublishTarget, attempt: int, published: list[PublishedContainer], staged: bool
) -> Ended:
    return _succeeded(ctx, cmd, attempt, await _record_success(ctx, cmd, attempt, published, staged))


async def _record_success(
    ctx: Context,
    cmd: PublishTarget,
    attempt: int,
    published: list[PublishedContainer],
    staged: bool,
    last: containers.Posted | None = None,
) -> Ended:
    """One statement committed by itself, shared with the successes recorded beside it
    (`targets.record_successes`); with `last`, the last container's progress goes in it too.
    Everything on the platform, no delivery resumes from a stage again: the target's stages go
    with its success."""
    root = published[0]
    announced = TargetPublished(
        **_about(ctx, cmd),
        attempt=attempt,
        platform_post_id=root.platform_post_id,
        platform_post_url=root.url,
        container_ids=[p.platform_post_id for p in published],
        notes=[note for p in published for note in p.notes],
    )
    success = targets.Success.of(
        cmd.target_id,
        root,
        redrive=cmd.redrive,
        attempt=attempt,
        announce=[OutboxMessage(subject="evt.target.published", message=announced)],
        posted=last,
        staged=staged,
    )
    marked = await ctx.successes.call(success)
    if not marked:  # finished meanwhile, or replaced by a redrive
        return Ended()
    return Ended("published")


def _succeeded(ctx: Context, cmd: PublishTarget, attempt: int, ended: Ended) -> Ended:
    """Counted and logged once the success committed."""
    if ended.outcome == "published":
        ctx.meters.attempts.labels(platform=cmd.platform, error_code="none").inc()
        log.info("publisher.target_published", attempt=attempt)
    return ended


async def _conclude_failure(ctx: Context, cmd: PublishTarget, attempt: int, err: PlatformError) -> Ended:
    """Records the failed attempt; the delivery ends with the backoff when the target should be
    tried again."""
    failure = {**_about(ctx, cmd), "attempt": attempt, "error_code": err.code, "error_message": err.message}
    async with ctx.uow.begin() as tx:
        target = await targets.lock(tx.conn, cmd.target_id)
        settled = target.is_finished or not target.attempt_open or target.last_attempt != attempt
        if settled or target.redrive != cmd.redrive:
            return Ended()  # another delivery of this target already settled this attempt
        verdict = after_failure(
            target,
            retryable=err.retryable,
            rate_limited=isinstance(err, RateLimited),
            retry_after_s=err.retry_after_s,
            policy=ctx.retry,
            jitter=ctx.jitter(),
        )
        delay = verdict.retry_in_s
        await targets.finish_attempt(
            tx.conn,
            cmd.target_id,
            cmd.redrive,
            attempt,
            verdict.status,
            error_code=err.code,
            error_message=err.message,
            retry_in_s=delay,
        )
        await targets.record_failure(
            tx.conn,
            cmd.target_id,
            status=verdict.status,
            failed_attempts=target.failed_attempts + (1 if verdict.counts else 0),
            error_code=err.code,
            error_message=err.message,
            retry_in_s=delay,
            rate_limited=isinstance(err, RateLimited),
        )
        if delay is not None:
            tx.emit("evt.target.attempt_failed", TargetAttemptFailed(**failure, retry_in_seconds=delay))
        elif verdict.status == "dead":
            # Kept on the DEAD stream, with why it died in its headers (as the consumers' own dead
            # letters have it), so operators can list dead targets and redrive them. One copy per
            # generation: a target that dies again after a redrive is kept again.
            headers = {**inject_headers(), "Crier-Error-Code": err.code, "Crier-Error": err.message[:1000]}
            tx.emit(dead_subject(cmd.platform), cmd, msg_id=f"{publish_msg_id(cmd)}:dead", trace=headers)
            tx.emit("evt.target.dead_lettered", TargetDeadLettered(**failure))
        else:
            tx.emit("evt.target.failed", TargetFailed(**failure))
    ctx.meters.attempts.labels(platform=cmd.platform, error_code=err.code).inc()
    if verdict.status == "dead":
        ctx.meters.dead_letters.labels(platform=cmd.platform, error_code=err.code).inc()
    _mark_failed(err)
    log.info(
        "publisher.attempt_failed",
        attempt=attempt,
        code=err.code,
        status=verdict.status,
        counted=verdict.counts,
        retry_in_s=delay,
    )
    return Ended(_OUTCOME_AFTER_FAILURE[verdict.status], None if delay is None else RetryIn(delay))


def _mark_failed(err: PlatformError) -> None:
    """The delivery's span (the consumer's, around it) shows the failed attempt and its code: the
    message was handled, but an SRE looking for failed deliveries finds it by its status."""
    span = trace.get_current_span()
    span.set_attribute("error.type", err.code)
    span.set_status(Status(StatusCode.ERROR, f"{err.code}: {err.message}"[:200]))


def _about(ctx: Context, cmd: PublishTarget) -> dict[str, Any]:
    """The fields every `evt.target.*` event about this command carries."""
    return {
        "id": str(uuid.uuid4()),
        "occurred_at": ctx.clock(),
        "org_id": cmd.org_id,
        "mode": cmd.mode,
        "post_id": cmd.post_id,
        "target_id": cmd.target_id,
        "platform": cmd.platform,
        "redrive": cmd.redrive,
    }
