"""Sending one target's containers to its platform, as its account.

Containers go out in order, each as a reply to the one before. Each container's result is recorded
before the next is sent, so a later delivery resumes after the last one that reached the platform.
Before a network call, a send marker is committed; a later delivery that finds a marker without a
result (the call timed out, or the publisher died before recording the answer) first asks the
platform whether the post exists, and adopts it instead of posting it twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from crier.contracts.commands import PublishTarget
from crier.contracts.common import Container
from crier.contracts.connect import AccountToken, TokenRequest
from crier.kit.errors import Failure, Gone, NotFound
from crier.kit.log import get
from crier.platforms.base import (
    PlatformAdapter,
    PlatformError,
    PublishContext,
    PublishedContainer,
    TokenRejected,
    TransientError,
)
from crier.publisher.adapters import containers
from crier.publisher.adapters.stages import TargetStage
from crier.publisher.handlers.context import Context, Tokens

log = get(__name__)
T = TypeVar("T")
# `publish_container` or `find_published` of an adapter.
Call = Callable[[PublishContext, Container, int, PublishedContainer | None], Awaitable[T]]
# What records the target published with its last container's progress (`containers.Posted`, with
# what a transactional adapter queued), in one statement committed by itself.
Finish = Callable[[list[PublishedContainer], containers.Posted], Awaitable[None]]
# The same, for one container: what records its progress with the success.
FinishLast = Callable[[containers.Posted], Awaitable[None]]

TOKEN_EXPIRED = "account_token_expired"


async def send_containers(
    ctx: Context,
    adapter: PlatformAdapter,
    cmd: PublishTarget,
    attempt: int,
    account: Account,
    progress: containers.Progress,
    finish: Finish | None = None,
) -> list[PublishedContainer]:
    """Every container on the platform, in order, as `account`, from where `progress` says the
    target stands; raises the `PlatformError` that stopped it. The last container's result commits
    with `finish` (a transactional adapter's post with it too): the success is recorded in the same
    statement, not one more."""
    base = PublishContext(
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
        media=ctx.media,
        stage=TargetStage(ctx.uow, cmd.target_id, progress.stages),
        commit_with_progress=[] if adapter.transactional else None,
    )
    results: list[PublishedContainer] = []
    parent: PublishedContainer | None = None
    for index, container in enumerate(cmd.containers):
        # The last container's result and the target's success commit together.
        last = index == len(cmd.containers) - 1
        finish_last = _with_results(finish, results) if last and finish is not None else None
        if index in progress.posted:
            parent = progress.posted[index]
        elif base.commit_with_progress is not None:
            # A transactional adapter's "platform" is a table: what it queues goes in the statement
            # that records the container's progress, so its post commits with that row or not at all.
            queued = base.commit_with_progress
            queued.clear()
            parent = await account.act(adapter, adapter.publish_container, base, container, index, parent)
            marked = index in progress.unsettled
            await _record(ctx, containers.Posted(cmd.target_id, index, parent, marked, tuple(queued)), finish_last)
        else:
            sent_at = progress.unsettled.get(index)
            parent = await _send(
                ctx, adapter, account, base, container, index, parent, sent_at=sent_at, finish=finish_last
            )
        results.append(parent)
    return results


def _with_results(finish: Finish, results: list[PublishedContainer]) -> FinishLast:
    async def finish_last(posted: containers.Posted) -> None:
        await finish([*results, posted.published], posted)

    return finish_last


async def _send(
    ctx: Context,
    adapter: PlatformAdapter,
    account: Account,
    base: PublishContext,
    container: Container,
    index: int,
    parent: PublishedContainer | None,
    *,
    sent_at: datetime | None,
    finish: FinishLast | None = None,
) -> PublishedContainer:
    """One container on the platform, its result recorded; with `finish`, whatever else commits
    with that record (the target's success, for its last container). Each write is one statement
    committed by itself: no BEGIN and COMMIT round trips around it."""
    if sent_at is not None:
        looking = replace(base, sent_at=sent_at)
        found = await account.act(adapter, adapter.find_published, looking, container, index, parent)
        if found is not None:
            await _record(ctx, containers.Posted(base.target_id, index, found), finish)
            log.info("publisher.container_adopted", target_id=base.target_id, index=index, attempt=base.attempt)
            return found
    async with ctx.uow.autocommit() as tx:
        await containers.mark_sent(tx.conn, base.target_id, index, base.attempt)
    # Outside any transaction: a network call must not hold one open. Whatever happens now, the
    # marker stays until a result is recorded, so an unknown outcome is looked up, never re-posted.
    published = await account.act(adapter, adapter.publish_container, base, container, index, parent)
    await _record(ctx, containers.Posted(base.target_id, index, published), finish)
    return published


async def _record(ctx: Context, posted: containers.Posted, finish: FinishLast | None) -> None:
    if finish is not None:
        await finish(posted)  # the success's statement records the progress with it
        return
    async with ctx.uow.autocommit() as tx:
        await containers.record_progress(tx.conn, posted)


class Account:
    """The account one delivery acts as: its token asked for when first needed, and renewed once
    when the platform refuses it. The token lives only here and in the adapter's context."""

    def __init__(self, tokens: Tokens, cmd: PublishTarget, *, needed: bool) -> None:
        self._tokens = tokens
        self._cmd = cmd
        self._needed = needed
        self._token: AccountToken | None = None
        self._renewed = False

    async def act(
        self,
        adapter: PlatformAdapter,
        call: Call[T],
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> T:
        token = await self.token()
        if token is None:
            return await _guarded(adapter, call, ctx, container, index, parent)
        try:
            return await _guarded(adapter, call, replace(ctx, account=token), container, index, parent)
        except TokenRejected as refused:
            if self._renewed:
                raise _expired(f"{ctx.platform} refused the account's renewed token: {refused.message}") from None
            self._renewed = True
            self._token = await self._ask(rejected=token)
        try:
            return await _guarded(adapter, call, replace(ctx, account=self._token), container, index, parent)
        except TokenRejected as again:
            raise _expired(f"{ctx.platform} refused the account's renewed token: {again.message}") from None

    async def token(self) -> AccountToken | None:
        """The account's token, asked for once; None when the adapter acts as no account (the
        sandbox). It comes with what connect knows of the account (its kind, its limits)."""
        if not self._needed:
            return None
        if self._token is None:
            self._token = await self._ask()
        return self._token

    async def _ask(self, rejected: AccountToken | None = None) -> AccountToken:
        request = TokenRequest(
            org_id=self._cmd.org_id,
            mode=self._cmd.mode,
            account_id=self._cmd.account_id,
            # Tells connect which token failed, so it renews that one and not one renewed meanwhile.
            rejected_sha256=None if rejected is None else hashlib.sha256(rejected.access_token.encode()).hexdigest(),
        )
        try:
            return await self._tokens.token(request)
        except Gone as exc:
            # account_token_expired, account_disconnected: no attempt can succeed any more.
            raise PlatformError(exc.message, code=exc.code, retryable=False) from None
        except NotFound as exc:
            raise PlatformError(exc.message, code="account_not_found", retryable=False) from None
        except Failure as exc:
            # Unavailable (platform_unavailable): connect could not refresh now; a later attempt may.
            raise TransientError(exc.message, code=exc.code) from None


def _expired(message: str) -> PlatformError:
    return PlatformError(message, code=TOKEN_EXPIRED, retryable=False)


async def _guarded(
    adapter: PlatformAdapter,
    call: Call[T],
    ctx: PublishContext,
    container: Container,
    index: int,
    parent: PublishedContainer | None,
) -> T:
    """The adapter's call, with a bug in it turned into a retryable failure: it ends in a visible
    dead letter after the last attempt instead of redelivering forever."""
    try:
        return await call(ctx, container, index, parent)
    except (PlatformError, SQLAlchemyError):
        raise  # a platform's answer, or our own storage (the sandbox writes in our transaction)
    except Exception as exc:
        log.exception("publisher.adapter_crashed", target_id=ctx.target_id, platform=ctx.platform, adapter=adapter.name)
        raise TransientError(f"unexpected adapter error: {type(exc).__name__}", code="adapter_error") from exc
