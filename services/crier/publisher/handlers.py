"""Use cases: deliver one target, record a cancellation.

Delivering is idempotent without an inbox: the target's row says whether it is finished, and the
per-container progress rows say where a previous delivery stopped. Each step commits its state and
its event together (outbox), then wakes the relay.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget, dead_subject
from crier.contracts.events import (
    PostCanceled,
    TargetAttemptFailed,
    TargetDeadLettered,
    TargetFailed,
    TargetPublished,
    TargetPublishing,
)
from crier.kit.bus import outbox
from crier.kit.bus.consumer import Retry
from crier.kit.log import get
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    PlatformAdapter,
    PlatformError,
    PublishContext,
    PublishedContainer,
    TransientError,
)
from crier.publisher.adapters import targets
from crier.publisher.domain.backoff import retry_delay
from crier.publisher.domain.routing import adapter_key
from crier.publisher.domain.target import Status, Verdict, judge_failure
from crier.publisher.settings import PublisherSettings

log = get(__name__)


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    retry_base_s: float
    retry_max_s: float

    @classmethod
    def from_settings(cls, s: PublisherSettings) -> Policy:
        return cls(s.publisher_max_attempts, s.publisher_retry_base_s, s.publisher_retry_max_s)


class Publisher:
    def __init__(
        self,
        engine: AsyncEngine,
        adapters: Mapping[str, PlatformAdapter],
        policy: Policy,
        wake_relay: Callable[[], None],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._adapters = adapters
        self._policy = policy
        self._wake_relay = wake_relay
        self._jitter = jitter

    async def deliver(self, cmd: PublishTarget) -> None:
        """Returns when the command is settled (ack); raises `Retry` to come back after a backoff."""
        attempt = await self._begin(cmd)
        if attempt is None:
            return
        adapter = self._adapters.get(adapter_key(cmd.mode, cmd.platform))
        try:
            if adapter is None:
                raise NotSupported(f"publishing to {cmd.platform} is not supported yet")
            problems = adapter.validate(cmd.containers, cmd.config)
            if problems:
                raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
            published = await self._publish_containers(adapter, cmd, attempt)
        except PlatformError as err:
            failure = err
        except (SQLAlchemyError, OSError):
            raise  # our own storage or network: not the platform's doing, not an attempt
        except Exception as exc:
            # An adapter bug must end in a visible dead letter, not redeliver forever.
            log.exception("publisher.adapter_crashed", target_id=cmd.target_id, platform=cmd.platform)
            failure = TransientError(f"unexpected adapter error: {exc!r}", code="adapter_error")
        else:
            await self._conclude_success(cmd, attempt, published)
            return
        delay = await self._conclude_failure(cmd, attempt, failure)
        if delay is not None:
            raise Retry(delay)

    async def _begin(self, cmd: PublishTarget) -> int | None:
        async with self._engine.begin() as conn:
            target = await targets.claim(conn, cmd)
            if target.is_finished:
                return None
            if await targets.is_canceled(conn, cmd.target_id):
                await targets.set_status(conn, cmd.target_id, Status.CANCELED)
                log.info("publisher.target_canceled", target_id=cmd.target_id)
                return None
            if target.retry_wait_s > 0:
                # Redelivered before its backoff ended (ack timeout after a crash): not an attempt.
                raise Retry(target.retry_wait_s)
            attempt = target.next_attempt
            await targets.start_attempt(conn, cmd.target_id, attempt)
            await outbox.add(
                conn,
                "evt.target.publishing",
                TargetPublishing(
                    **_envelope(cmd),
                    post_id=cmd.post_id,
                    target_id=cmd.target_id,
                    platform=cmd.platform,
                    attempt=attempt,
                ),
            )
        self._wake_relay()
        return attempt

    async def _publish_containers(
        self, adapter: PlatformAdapter, cmd: PublishTarget, attempt: int
    ) -> list[PublishedContainer]:
        async with self._engine.connect() as conn:
            done = await targets.progress_of(conn, cmd.target_id)
        ctx = PublishContext(
            target_id=cmd.target_id,
            post_id=cmd.post_id,
            org_id=cmd.org_id,
            mode=cmd.mode,
            platform=cmd.platform,
            account_id=cmd.account_id,
            account_username=cmd.account_username,
            attempt=attempt,
            containers=tuple(cmd.containers),
            config=cmd.config,
        )
        results: list[PublishedContainer] = []
        parent: PublishedContainer | None = None
        for index, container in enumerate(cmd.containers):
            if index in done:
                parent = done[index]
            elif adapter.transactional:
                async with self._engine.begin() as conn:
                    parent = await adapter.publish_container(replace(ctx, conn=conn), container, index, parent)
                    await targets.record_progress(conn, cmd.target_id, index, parent)
            else:
                # A network call must not hold a database transaction open.
                parent = await adapter.publish_container(ctx, container, index, parent)
                async with self._engine.begin() as conn:
                    await targets.record_progress(conn, cmd.target_id, index, parent)
            results.append(parent)
        return results

    async def _conclude_success(self, cmd: PublishTarget, attempt: int, published: list[PublishedContainer]) -> None:
        root = published[0]
        async with self._engine.begin() as conn:
            target = await targets.lock(conn, cmd.target_id)
            if target.is_finished:
                return
            await targets.mark_published(conn, cmd.target_id, root)
            await targets.finish_attempt(conn, cmd.target_id, attempt, "published")
            await outbox.add(
                conn,
                "evt.target.published",
                TargetPublished(
                    **_envelope(cmd),
                    post_id=cmd.post_id,
                    target_id=cmd.target_id,
                    platform=cmd.platform,
                    attempt=attempt,
                    platform_post_id=root.platform_post_id,
                    platform_post_url=root.url,
                    container_ids=[p.platform_post_id for p in published],
                ),
            )
        self._wake_relay()
        log.info("publisher.target_published", target_id=cmd.target_id, attempt=attempt)

    async def _conclude_failure(self, cmd: PublishTarget, attempt: int, err: PlatformError) -> float | None:
        """Records the failed attempt; returns the backoff when the target should be tried again."""
        verdict = judge_failure(attempt, retryable=err.retryable, max_attempts=self._policy.max_attempts)
        delay: float | None = None
        fields = dict(
            **_envelope(cmd),
            post_id=cmd.post_id,
            target_id=cmd.target_id,
            platform=cmd.platform,
            attempt=attempt,
            error_code=err.code,
            error_message=err.message,
        )
        async with self._engine.begin() as conn:
            target = await targets.lock(conn, cmd.target_id)
            if target.is_finished or target.failed_attempts != attempt - 1:
                return None  # another delivery of this target already settled this attempt
            if verdict is Verdict.RETRY:
                delay = retry_delay(
                    attempt,
                    base_s=self._policy.retry_base_s,
                    cap_s=self._policy.retry_max_s,
                    retry_after_s=err.retry_after_s,
                    jitter=self._jitter(),
                )
                status, outcome = Status.RETRYING, "retrying"
                events = [("evt.target.attempt_failed", TargetAttemptFailed(**fields, retry_in_seconds=delay), None)]
            elif verdict is Verdict.DEAD_LETTER:
                status, outcome = Status.DEAD, "dead"
                events = [
                    # Kept on the DEAD stream so the target can be redriven with its original command.
                    (dead_subject(cmd.platform), cmd, f"{cmd.target_id}:dead"),
                    ("evt.target.dead_lettered", TargetDeadLettered(**fields), None),
                ]
            else:
                status, outcome = Status.FAILED, "failed"
                events = [("evt.target.failed", TargetFailed(**fields), None)]
            await targets.finish_attempt(
                conn, cmd.target_id, attempt, outcome, error_code=err.code, error_message=err.message, retry_in_s=delay
            )
            await targets.record_failure(
                conn,
                cmd.target_id,
                status=status,
                failed_attempts=attempt,
                error_code=err.code,
                error_message=err.message,
                retry_in_s=delay,
            )
            await outbox.add_many(conn, events)
        self._wake_relay()
        log.info(
            "publisher.attempt_failed",
            target_id=cmd.target_id,
            attempt=attempt,
            code=err.code,
            verdict=verdict.value,
            retry_in_s=delay,
        )
        return delay

    async def record_cancellation(self, event: PostCanceled) -> None:
        async with self._engine.begin() as conn:
            await targets.record_cancellations(conn, event.post_id, event.target_ids)


def _envelope(cmd: PublishTarget) -> dict:
    return {"id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC), "org_id": cmd.org_id, "mode": cmd.mode}
