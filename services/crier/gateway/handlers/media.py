"""Use cases on media objects: take in bytes that arrived (an upload, a fetch by URL), and list,
read, describe and delete them.

Taking bytes in: what they are comes from the bytes alone (`crier.kit.media.inspect`, in a
thread: Pillow and ffmpeg are blocking). A file that is no media is refused at once, leaving
nothing behind. An image is cleaned first (its EXIF orientation applied, its location stripped),
so what the store keeps, and every platform gets, is what the caller meant to show. The row is
written `processing` before the bytes go to the store: a crash while they do leaves a row that
housekeeping fails as interrupted, never bytes that no row names.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crier.gateway.adapters import media_rows
from crier.gateway.adapters.media_fetch import FetchFailed
from crier.gateway.adapters.media_rows import MediaFilter
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.media import MEDIA_STATUSES, new_media_id
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.media_spool import Received, Spool, TooLarge, rehashed
from crier.kit import pages
from crier.kit.errors import Conflict, Invalid, NotFound, Problem
from crier.kit.log import get
from crier.kit.media.inspect import NotMedia, clean_image, inspect_file
from crier.kit.media.store import MediaStore

log = get(__name__)
MEDIA_TYPES_LISTED = ("image", "gif", "video")


def store_of(ctx: Context) -> MediaStore:
    if ctx.media_store is None:
        raise RuntimeError("this process has no media store")
    return ctx.media_store


async def add_media(
    ctx: Context, who: Principal, received: Received, *, alt_text: str | None, source_url: str | None = None
) -> Any:
    """Inspects, cleans and stores bytes that arrived whole; the media object, `ready`."""
    store = store_of(ctx)
    try:
        found = await asyncio.to_thread(inspect_file, received.path)
    except NotMedia as exc:
        raise Invalid("media_unreadable", f"the file is not an image or video Crier can read ({exc})") from None
    if found.type == "image" and await asyncio.to_thread(clean_image, received.path):
        received = await asyncio.to_thread(rehashed, received.path)
        found = await asyncio.to_thread(inspect_file, received.path)
    media_id, now = new_media_id(), ctx.now()
    async with ctx.uow.begin() as tx:
        await media_rows.insert(
            tx.conn,
            {
                "id": media_id,
                "org_id": who.org_id,
                "mode": who.mode,
                "status": "processing",
                "type": found.type,
                "mime": found.mime,
                "bytes": received.size,
                "sha256": received.sha256,
                "width": found.width,
                "height": found.height,
                "duration_s": found.duration_s,
                "frame_rate": found.frame_rate,
                "codec": found.codec,
                "alt_text": alt_text,
                "store_key": media_id,
                "source_url": source_url,
                "created_at": now,
                "updated_at": now,
            },
        )
    try:
        with received.path.open("rb") as source:
            await store.put(media_id, source, size=received.size, mime=found.mime)
    except Exception as exc:
        async with ctx.uow.begin() as tx:
            await media_rows.update(
                tx.conn, media_id, status="failed", failure_reason=f"store: {type(exc).__name__}", updated_at=ctx.now()
            )
        raise
    ctx.meters.media_stored.inc(received.size)
    async with ctx.uow.begin() as tx:
        return await media_rows.update(tx.conn, media_id, status="ready", updated_at=ctx.now())


async def fetch_media(ctx: Context, who: Principal, url: str, *, alt_text: str | None, field: str = "url") -> Any:
    """Fetches `url` through the SSRF guard and takes its bytes in like an upload's. A URL that
    gives no media is `Invalid` (`media_fetch_failed` with the reason, at `field`)."""
    if ctx.media_fetcher is None:
        raise RuntimeError("this process fetches no media")
    with Spool(ctx.media_policy.max_bytes) as spool:
        try:
            await ctx.media_fetcher.fetch(url, spool.write, max_bytes=ctx.media_policy.max_bytes)
        except FetchFailed as failed:
            raise _fetch_failed(field, failed.reason, failed.message) from None
        except TooLarge as too_large:
            raise _fetch_failed(field, "too_large", f"the file is {too_large}") from None
        return await add_media(ctx, who, spool.received(), alt_text=alt_text, source_url=url)


def _fetch_failed(field: str, reason: str, message: str) -> Invalid:
    return Invalid(
        "media_fetch_failed",
        f"could not fetch media: {message}",
        {"reason": reason, "fields": [Problem(field, reason, message).as_detail()]},
    )


async def get_media(ctx: Context, who: Principal, media_id: str) -> Any:
    async with ctx.uow.read() as conn:
        row = await media_rows.get(conn, who.org_id, who.mode, media_id)
    if row is None:
        raise NotFound.of("media", media_id)
    return row


async def list_media(
    ctx: Context, who: Principal, *, kind: str | None, status: str | None, limit: int | None, cursor: str | None
) -> pages.Page[Any]:
    problems = []
    if kind is not None and kind not in MEDIA_TYPES_LISTED:
        problems.append(Problem("type", "invalid", f"must be one of {', '.join(MEDIA_TYPES_LISTED)}"))
    if status is not None and status not in MEDIA_STATUSES:
        problems.append(Problem("status", "invalid", f"must be one of {', '.join(MEDIA_STATUSES)}"))
    if problems:
        raise Invalid.of(problems)
    size = pages.checked_limit(limit)
    async with ctx.uow.read() as conn:
        return await media_rows.search(
            conn, who.org_id, who.mode, MediaFilter(type=kind, status=status), limit=size, cursor=cursor
        )


async def describe_media(ctx: Context, who: Principal, media_id: str, alt_text: str | None) -> Any:
    """Sets (or, with None, clears) the alt text posts use when their reference gives none."""
    async with ctx.uow.begin() as tx:
        if await media_rows.get(tx.conn, who.org_id, who.mode, media_id, lock=True) is None:
            raise NotFound.of("media", media_id)
        return await media_rows.update(tx.conn, media_id, alt_text=alt_text, updated_at=ctx.now())


async def delete_media(ctx: Context, who: Principal, media_id: str) -> None:
    """Deletes the row, then the bytes. A post that has not gone out yet and uses it is a Conflict."""
    async with ctx.uow.begin() as tx:
        # FOR UPDATE: a post being created with this media holds the row FOR SHARE until it
        # commits, so the check below sees that post once it exists.
        row = await media_rows.get(tx.conn, who.org_id, who.mode, media_id, lock=True)
        if row is None:
            raise NotFound.of("media", media_id)
        using = await media_rows.active_posts_using(tx.conn, media_id)
        if using:
            raise Conflict("media_in_use", "posts that have not gone out yet use this media", {"post_ids": using})
        await media_rows.delete(tx.conn, media_id)
    await forget_bytes(ctx, row.store_key)


async def forget_bytes(ctx: Context, key: str) -> None:
    """Deletes stored bytes whose row is gone; an outage leaves them, logged, rather than failing."""
    try:
        await store_of(ctx).delete(key)
    except Exception as exc:
        log.warning("media.bytes_not_deleted", key=key, error=repr(exc))


async def content_of(ctx: Context, media_id: str) -> Any:
    """The media a signed URL names (the signature is the caller's authority, not a key): ready
    media only."""
    async with ctx.uow.read() as conn:
        row = await media_rows.by_id(conn, media_id)
    if row is None or row.status != "ready":
        raise NotFound.of("media", media_id)
    return row
