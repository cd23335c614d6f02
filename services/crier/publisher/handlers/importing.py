"""Imports: an account's existing posts, read page by page from its platform's timeline.

Each page is one transaction: its posts enter the ledger (those already there are skipped, so no
post is imported twice), the run moves to the next page's cursor with its counts, and
`evt.import.page` carries the new posts to the gateway. A delivery that dies mid-import (a crash,
a SIGKILL) leaves the cursor of the last page it recorded; the redelivered command carries on from
there. A rate limit hands the command back with the platform's Retry-After (the slot is freed
meanwhile); other retryable failures back off, and the fifth in a row fails the import, as does
any permanent one (a revoked grant: `account_token_expired`).

The import reads the timeline newest first and stops at its end, at the first post older than
`since`, or once it has read `limit` posts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crier.contracts.connect import AccountToken, TokenRequest
from crier.contracts.imports import (
    ImportedPost,
    ImportFailed,
    ImportPageRead,
    ImportPosts,
    ImportStarted,
    ImportTimelineRead,
)
from crier.kit.clock import Clock, utc_now
from crier.kit.errors import Failure, Gone, NotFound
from crier.kit.log import get
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PlatformError, RateLimited, TokenRejected
from crier.platforms.timelines import TimelinePage, TimelineReader
from crier.platforms.timelines.sandbox import SandboxTimeline
from crier.publisher.adapters import imports
from crier.publisher.handlers.context import Tokens

log = get(__name__)

MAX_FAILURES = 5
BACKOFF_BASE_S, BACKOFF_MAX_S = 2.0, 120.0
# A platform that names no Retry-After still gets a pause before the next look.
DEFAULT_RATE_LIMIT_WAIT_S = 5.0


@dataclass(frozen=True)
class Importing:
    uow: UnitOfWork
    tokens: Tokens
    readers: Mapping[str, TimelineReader]
    sandbox: TimelineReader = field(default_factory=SandboxTimeline)
    clock: Clock = field(default=utc_now)
    # Whether to hand the command back now (the process is stopping): checked before each page.
    stopping: Callable[[], bool] = lambda: False


class Later(Exception):
    """Hand the command back, to be taken up again in `delay_s` from the cursor recorded last (a
    rate limit, a failure worth another try, a process stopping)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(f"again in {delay_s:.1f}s")
        self.delay_s = delay_s


class _Overtaken(Exception):
    """Another delivery of the same import recorded this page first."""


async def run_import(ctx: Importing, cmd: ImportPosts) -> None:
    async with ctx.uow.begin() as tx:
        if await imports.begin(tx.conn, cmd, ctx.clock()):
            started = ImportStarted(**_envelope(cmd, "started", ctx), **_about(cmd))
            tx.emit("evt.import.started", started, msg_id=started.id)
    reader = ctx.sandbox if cmd.sandbox else ctx.readers.get(cmd.platform)
    if reader is None:
        await _fail(ctx, cmd, "import_not_supported", f"Crier cannot read {cmd.platform} timelines yet")
        return
    account: AccountToken | None = None
    while True:
        async with ctx.uow.read() as conn:
            run = await imports.get(conn, cmd.import_id)
        if run is None or run.status != "running":
            return  # finished by an earlier delivery
        if ctx.stopping():
            raise Later(0)
        try:
            account = account or await _account(ctx, cmd)
            page, account = await _read(ctx, cmd, reader, account, run.cursor)
        except RateLimited as limited:
            raise Later(limited.retry_after_s or DEFAULT_RATE_LIMIT_WAIT_S) from None
        except PlatformError as failed:
            await _failed_read(ctx, cmd, failed)
            return
        try:
            await _record(ctx, cmd, run, page)
        except _Overtaken:
            continue


async def _read(
    ctx: Importing, cmd: ImportPosts, reader: TimelineReader, account: AccountToken, cursor: str | None
) -> tuple[TimelinePage, AccountToken]:
    """One page; after a 401, once more with a token connect renewed."""
    try:
        return await _page(reader, cmd, account, cursor), account
    except TokenRejected:
        if cmd.sandbox:
            raise
        renewed = await _account(ctx, cmd, rejected=account)
    try:
        return await _page(reader, cmd, renewed, cursor), renewed
    except TokenRejected as again:
        raise PlatformError(
            f"{cmd.platform} refused the account's renewed token: {again.message}",
            code="account_token_expired",
        ) from None


async def _page(reader: TimelineReader, cmd: ImportPosts, account: AccountToken, cursor: str | None) -> TimelinePage:
    """The reader's page, with a bug in it turned into a retryable failure: the import then fails
    visibly after the last try instead of its command going round until it is dead-lettered."""
    try:
        return await reader.page(account, cursor)
    except PlatformError:
        raise
    except Exception as exc:
        log.exception("publisher.import_reader_crashed", import_id=cmd.import_id, platform=cmd.platform)
        raise PlatformError(
            f"unexpected reader error: {type(exc).__name__}", code="reader_error", retryable=True
        ) from exc


async def _record(ctx: Importing, cmd: ImportPosts, run: Any, page: TimelinePage) -> None:
    taken, reached_end = _taken(cmd, run.fetched, page)
    if page.cursor is None or page.cursor == run.cursor:
        reached_end = True  # the last page (or a platform that answers the same page again)
    now = ctx.clock()
    async with ctx.uow.begin() as tx:
        new = await imports.take_new(tx.conn, cmd.account_id, cmd.import_id, [p.platform_post_id for p in taken], now)
        fresh = [p for p in dict((p.platform_post_id, p) for p in taken).values() if p.platform_post_id in new]
        if not await imports.advance(
            tx.conn, run, cursor=page.cursor, fetched=len(taken), imported=len(fresh), now=now
        ):
            raise _Overtaken()
        counts = {"pages": run.pages + 1, "fetched": run.fetched + len(taken), "imported": run.imported + len(fresh)}
        read = ImportPageRead(
            **_envelope(cmd, f"page:{run.pages + 1}", ctx),
            **_about(cmd),
            account_username=cmd.account_username,
            posts=fresh,
            **counts,
        )
        tx.emit("evt.import.page", read, msg_id=read.id)
        if reached_end:
            ended = await imports.finish(tx.conn, cmd.import_id, "completed", now)
            if ended is not None:
                log.info("publisher.import_read", import_id=cmd.import_id, platform=cmd.platform, **counts)
                read_all = ImportTimelineRead(
                    **_envelope(cmd, "read", ctx), **_about(cmd), **counts, skipped=ended.skipped
                )
                tx.emit("evt.import.read", read_all, msg_id=read_all.id)


def _taken(cmd: ImportPosts, fetched_so_far: int, page: TimelinePage) -> tuple[list[ImportedPost], bool]:
    """The page's posts the import takes, and whether the import ends with them."""
    taken: list[ImportedPost] = []
    for post in page.posts:
        if cmd.limit is not None and fetched_so_far + len(taken) >= cmd.limit:
            return taken, True
        if cmd.since is not None and post.published_at is not None and post.published_at < cmd.since:
            return taken, True  # newest first: every later post is older still
        taken.append(post)
    return taken, cmd.limit is not None and fetched_so_far + len(taken) >= cmd.limit


async def _account(ctx: Importing, cmd: ImportPosts, rejected: AccountToken | None = None) -> AccountToken:
    if cmd.sandbox:
        return AccountToken(
            account_id=cmd.account_id,
            platform=cmd.platform,
            access_token="",
            expires_at=None,
            network_unique_id=cmd.account_id,
            username=cmd.account_username,
            account_type="account",
        )
    request = TokenRequest(
        org_id=cmd.org_id,
        mode=cmd.mode,
        account_id=cmd.account_id,
        rejected_sha256=None if rejected is None else hashlib.sha256(rejected.access_token.encode()).hexdigest(),
    )
    try:
        return await ctx.tokens.token(request)
    except Gone as exc:
        raise PlatformError(exc.message, code=exc.code, retryable=False) from None
    except NotFound as exc:
        raise PlatformError(exc.message, code="account_not_found", retryable=False) from None
    except Failure as exc:
        raise PlatformError(exc.message, code=exc.code, retryable=True) from None


async def _failed_read(ctx: Importing, cmd: ImportPosts, failed: PlatformError) -> None:
    if failed.retryable:
        async with ctx.uow.begin() as tx:
            failures = await imports.failed_once_more(tx.conn, cmd.import_id, ctx.clock())
        if failures < MAX_FAILURES:
            wait = failed.retry_after_s or min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (failures - 1))
            raise Later(wait)
    await _fail(ctx, cmd, failed.code, failed.message)


async def _fail(ctx: Importing, cmd: ImportPosts, code: str, message: str) -> None:
    async with ctx.uow.begin() as tx:
        ended = await imports.finish(tx.conn, cmd.import_id, "failed", ctx.clock())
        if ended is None:
            return
        failed = ImportFailed(
            **_envelope(cmd, "failed", ctx),
            **_about(cmd),
            pages=ended.pages,
            fetched=ended.fetched,
            imported=ended.imported,
            error_code=code,
            error_message=message[:500],
        )
        tx.emit("evt.import.failed", failed, msg_id=failed.id)
    log.info("publisher.import_failed", import_id=cmd.import_id, platform=cmd.platform, error_code=code)


def _envelope(cmd: ImportPosts, step: str, ctx: Importing) -> dict[str, Any]:
    # Derived ids: a replayed step yields the same event, which the bus's dedupe window drops.
    return {"id": f"{cmd.import_id}:{step}", "occurred_at": ctx.clock(), "org_id": cmd.org_id, "mode": cmd.mode}


def _about(cmd: ImportPosts) -> dict[str, Any]:
    return {
        "import_id": cmd.import_id,
        "account_id": cmd.account_id,
        "platform": cmd.platform,
        "tenant_id": cmd.tenant_id,
    }
