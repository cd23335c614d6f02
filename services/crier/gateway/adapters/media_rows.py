"""The `media` table and which posts use each media object, always within one organization and
mode (except for serving signed content and housekeeping, which act across them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import MediaRef, Mode
from crier.gateway.adapters.tables import connect_session_displays, media, org_settings, post_media, posts
from crier.gateway.domain.media import ACTIVE_POST_STATUSES, StoredMedia
from crier.kit import pages


@dataclass(frozen=True)
class MediaFilter:
    type: str | None = None
    status: str | None = None


async def insert(conn: AsyncConnection, row: dict[str, Any]) -> Any:
    return (await conn.execute(media.insert().values(**row).returning(*media.c))).one()


async def update(conn: AsyncConnection, media_id: str, **values: Any) -> Any:
    return (await conn.execute(media.update().where(media.c.id == media_id).values(**values).returning(*media.c))).one()


async def get(conn: AsyncConnection, org_id: str, mode: Mode, media_id: str, *, lock: bool = False) -> Any:
    query = sa.select(media).where(media.c.id == media_id, media.c.org_id == org_id, media.c.mode == mode)
    return (await conn.execute(query.with_for_update() if lock else query)).first()


async def by_id(conn: AsyncConnection, media_id: str) -> Any:
    """Whichever organization it belongs to: for a signed URL, which names the media alone."""
    return (await conn.execute(sa.select(media).where(media.c.id == media_id))).first()


async def search(
    conn: AsyncConnection, org_id: str, mode: Mode, where: MediaFilter, *, limit: int, cursor: str | None
) -> pages.Page[Any]:
    conditions: list[Any] = [media.c.org_id == org_id, media.c.mode == mode, *pages.after_cursor(media, cursor)]
    if where.type is not None:
        conditions.append(media.c.type == where.type)
    if where.status is not None:
        conditions.append(media.c.status == where.status)
    query = sa.select(media).where(*conditions).order_by(*pages.newest_first(media)).limit(limit + 1)
    return pages.page_of(list((await conn.execute(query)).all()), limit)


async def stored(conn: AsyncConnection, org_id: str, mode: Mode, media_ids: Sequence[str]) -> dict[str, StoredMedia]:
    """The caller's media among `media_ids`, as a post's references resolve against."""
    if not media_ids:
        return {}
    rows = await conn.execute(
        sa.select(media).where(media.c.id.in_(list(media_ids)), media.c.org_id == org_id, media.c.mode == mode)
    )
    return {r.id: StoredMedia(r.status, ref_of(r)) for r in rows}


def ref_of(row: Any) -> MediaRef:
    return MediaRef(
        id=row.id,
        alt_text=row.alt_text,
        type=row.type,
        mime=row.mime,
        size_bytes=row.bytes,
        sha256=row.sha256,
        width=row.width,
        height=row.height,
        duration_s=row.duration_s,
        frame_rate=row.frame_rate,
        codec=row.codec,
        key=row.store_key,
    )


async def record_use(
    conn: AsyncConnection, org_id: str, mode: Mode, post_id: str, media_ids: Sequence[str], at: datetime
) -> list[str]:
    """Notes that the post uses these media, in the post's own transaction; the ids that are no
    longer ready (deleted since the post was checked) are returned. The rows are held FOR SHARE
    until the post commits, so a concurrent delete waits and then finds the post using them."""
    if not media_ids:
        return []
    ready = set(
        (
            await conn.scalars(
                sa.select(media.c.id)
                .where(
                    media.c.id.in_(list(media_ids)),
                    media.c.org_id == org_id,
                    media.c.mode == mode,
                    media.c.status == "ready",
                )
                .with_for_update(read=True)
            )
        ).all()
    )
    gone = [m for m in media_ids if m not in ready]
    if gone:
        return gone
    await conn.execute(post_media.insert(), [{"post_id": post_id, "media_id": m} for m in media_ids])
    await conn.execute(media.update().where(media.c.id.in_(list(media_ids))).values(last_used_at=at))
    return []


async def forget_use(conn: AsyncConnection, post_id: str) -> None:
    """The post no longer uses the media it named (an edit names its media again)."""
    await conn.execute(post_media.delete().where(post_media.c.post_id == post_id))


async def active_posts_using(conn: AsyncConnection, media_id: str) -> list[str]:
    """The posts that use this media and have not gone out yet."""
    rows = await conn.scalars(
        sa.select(posts.c.id)
        .join(post_media, post_media.c.post_id == posts.c.id)
        .where(post_media.c.media_id == media_id, posts.c.status.in_(ACTIVE_POST_STATUSES))
        .order_by(posts.c.id)
        .limit(10)
    )
    return list(rows.all())


async def delete(conn: AsyncConnection, media_id: str) -> None:
    await conn.execute(post_media.delete().where(post_media.c.media_id == media_id))
    await conn.execute(media.delete().where(media.c.id == media_id))


@dataclass(frozen=True)
class Expired:
    id: str
    store_key: str


async def expired(conn: AsyncConnection, *, done_before: datetime, made_before: datetime, limit: int) -> list[Expired]:
    """Ready or failed media no pending post uses, whose retention has run out: the last post using
    it went out before `done_before`, or no post ever used it and it was made before `made_before`."""
    of_media = post_media.join(posts, posts.c.id == post_media.c.post_id)
    active = (
        sa.select(sa.literal(1))
        .select_from(of_media)
        .where(post_media.c.media_id == media.c.id, posts.c.status.in_(ACTIVE_POST_STATUSES))
    )
    # A post's last change is when its last target went out (or it was canceled).
    last_done = (
        sa.select(sa.func.max(posts.c.updated_at)).select_from(of_media).where(post_media.c.media_id == media.c.id)
    ).scalar_subquery()
    used = sa.exists().where(post_media.c.media_id == media.c.id)
    # A logo of the hosted connect pages (an organization's default, or an open session's) is in use
    # for as long as it is named there.
    org_logo = sa.exists().where(org_settings.c.connect_display["logo_media_id"].astext == media.c.id)
    session_logo = sa.exists().where(connect_session_displays.c.display["logo_media_id"].astext == media.c.id)
    rows = await conn.execute(
        sa.select(media.c.id, media.c.store_key)
        .where(
            media.c.status != "processing",
            ~active.exists(),
            ~org_logo,
            ~session_logo,
            sa.or_(sa.and_(used, last_done < done_before), sa.and_(~used, media.c.created_at < made_before)),
        )
        .order_by(media.c.created_at)
        .limit(limit)
    )
    return [Expired(r.id, r.store_key) for r in rows]


async def fail_stale(conn: AsyncConnection, *, created_before: datetime, at: datetime) -> int:
    """Marks rows still `processing` since before `created_before` failed: their request died."""
    result = await conn.execute(
        media.update()
        .where(media.c.status == "processing", media.c.created_at < created_before)
        .values(status="failed", failure_reason="interrupted", updated_at=at)
    )
    return result.rowcount or 0
