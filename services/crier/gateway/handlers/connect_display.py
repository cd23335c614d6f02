"""The hosted connect pages' look: an organization's default, a session's own display laid over it
when the session is created, and the display a page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crier.gateway.adapters import connect_displays as store
from crier.gateway.domain import display as rules
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.display import Display
from crier.gateway.handlers import media
from crier.gateway.handlers.context import Context
from crier.kit.errors import Invalid, NotFound, Problem


async def checked(ctx: Context, who: Principal, given: Display, prefix: str) -> Display:
    """The display as stored, or Invalid naming each bad field (a logo from the media library must
    be an image of the caller's organization and mode)."""
    found = rules.problems(given, prefix)
    if given.logo_media_id is not None and not found:
        try:
            row = await media.get_media(ctx, who, given.logo_media_id)
        except NotFound:
            found.append(Problem(f"{prefix}.logo_media_id", "not_found", f"no media {given.logo_media_id}"))
        else:
            if not str(row.mime).startswith("image/"):
                found.append(Problem(f"{prefix}.logo_media_id", "invalid", "the logo must be an image"))
    if found:
        raise Invalid.of(found)
    return rules.normalized(given)


async def org_default(ctx: Context, who: Principal) -> Display:
    async with ctx.uow.read() as conn:
        return Display.of(await store.org_default(conn, who.org_id, who.mode))


async def set_org_default(ctx: Context, who: Principal, given: Display | None) -> Display:
    kept = await checked(ctx, who, given, "connect_display") if given is not None else Display()
    async with ctx.uow.begin() as tx:
        await store.set_org_default(tx.conn, who.org_id, who.mode, kept.as_dict() or None, ctx.now())
    return kept


async def for_new_session(ctx: Context, who: Principal, given: Display | None) -> Display:
    """Checked before the session exists, so a bad display creates nothing."""
    own = await checked(ctx, who, given, "display") if given is not None else Display()
    return rules.over(own, await org_default(ctx, who))


async def keep_for_session(ctx: Context, who: Principal, session_id: str, shown: Display, expires_at: datetime) -> None:
    async with ctx.uow.begin() as tx:
        await store.keep_for_session(tx.conn, session_id, who.org_id, who.mode, shown.as_dict(), expires_at)


async def of_page(ctx: Context, session_id: str | None, org_id: str | None = None, mode: str | None = None) -> Display:
    """What a page of the flow wears: its session's display, else its organization's default (a flow
    started with an auth URL has no session), else Crier's own look."""
    async with ctx.uow.read() as conn:
        if session_id and (kept := await store.of_session(conn, session_id)) is not None:
            return Display.of(kept)
        if org_id and mode:
            return Display.of(await store.org_default(conn, org_id, mode))
    return Display()


@dataclass(frozen=True)
class KeptDisplay:
    display: Display
    org_id: str
    mode: str


async def of_session(ctx: Context, session_id: str) -> KeptDisplay | None:
    """A session's display and owner, when this gateway created the session."""
    async with ctx.uow.read() as conn:
        row = await store.session_row(conn, session_id)
    return KeptDisplay(Display.of(row.display), row.org_id, row.mode) if row else None
