"""Page selection: the pages / organizations / locations / channels a grant offers, chosen once
through the API (the session token, with the organization's key optionally) or through the hosted
form (the token alone, hosted flows only).

The token is the credential (256 random bits, kept only as a digest): whoever holds it chose to
connect, as the customer's backend that received it on its redirect URI does."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters import flows
from crier.connect.domain import flows as rules
from crier.connect.handlers.connecting import Origin, connect, open_grant
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.common import Mode
from crier.contracts.connect import SocialAccount
from crier.kit.errors import Invalid, NotFound, Problem


async def _usable_pending(
    conn: AsyncConnection,
    ctx: Context,
    token: str,
    *,
    owner: tuple[str, Mode] | None,
    hosted: bool = False,
    lock: bool = False,
) -> Any:
    row = await flows.pending(conn, rules.digest(token), ctx.now(), lock=lock)
    # A key sent with the token must be the session's organization's (and mode's); the hosted form
    # serves hosted flows only.
    if (
        row is None
        or (owner is not None and (row.org_id, row.mode) != owner)
        or (hosted and row.connect_session_id is None)
    ):
        raise NotFound("not_found", "no such pending session: it is unknown, expired or already used")
    return row


def _owner(r: api.PendingRef | api.PendingFinalize) -> tuple[str, Mode] | None:
    return (r.org_id, r.mode) if r.org_id is not None and r.mode is not None else None


def _view(row: Any) -> api.PendingView:
    return api.PendingView(
        network=row.platform,
        tenant_id=row.tenant_id,
        expires_at=row.expires_at,
        available_pages=[api.PageChoice(**p) for p in row.pages],
        org_id=row.org_id,
        mode=row.mode,
        connect_session_id=row.connect_session_id,
    )


async def pending_view(ctx: Context, r: api.PendingRef) -> api.PendingView:
    async with ctx.uow.read() as conn:
        return _view(await _usable_pending(conn, ctx, r.token, owner=_owner(r)))


async def hosted_pending_view(ctx: Context, r: api.HostedToken) -> api.PendingView:
    async with ctx.uow.read() as conn:
        return _view(await _usable_pending(conn, ctx, r.token, owner=None, hosted=True))


async def finalize(ctx: Context, r: api.PendingFinalize) -> api.Finalized:
    connected, _ = await _finalize(ctx, r.token, r.selected_page_ids, owner=_owner(r))
    return api.Finalized(connected_accounts=connected)


async def hosted_select(ctx: Context, r: api.HostedSelect) -> api.Outcome:
    connected, row = await _finalize(ctx, r.token, r.selected_page_ids, owner=None, hosted=True)
    async with ctx.uow.read() as conn:
        session = await flows.session_by_id(conn, row.connect_session_id)
    assert session is not None
    return api.Outcome(
        location=rules.connected_redirect(session.redirect_uri, connected[0].id, session.id), accounts=connected
    )


async def _finalize(
    ctx: Context, token: str, selected: list[str], *, owner: tuple[str, Mode] | None, hosted: bool = False
) -> tuple[list[SocialAccount], Any]:
    wanted = list(dict.fromkeys(selected))
    if not wanted:
        raise Invalid.one("selected_page_ids", "too_short", "select at least one page")
    async with ctx.uow.begin() as tx:
        row = await _usable_pending(tx.conn, ctx, token, owner=owner, hosted=hosted, lock=True)
        offered = [p["id"] for p in row.pages]
        unknown = [i for i in wanted if i not in offered]
        if unknown:  # refused before the token is spent, so the user can choose again
            problem = Problem("selected_page_ids", "not_offered", f"not among available_pages: {', '.join(unknown)}")
            raise Invalid.of([problem], code="invalid_selection")
        tokens, candidates = open_grant(ctx, row.grant_enc, row.token_hash)
        origin = Origin(
            org_id=row.org_id,
            mode=row.mode,
            platform=row.platform,
            tenant_id=row.tenant_id,
            social_network_id=row.social_network_id,
            sandbox=row.sandbox,
        )
        connected = await connect(ctx, tx, origin, tokens, [c for c in candidates if c.network_unique_id in wanted])
        await flows.spend_pending(tx.conn, row.token_hash, ctx.now())
        await flows.settle_session(
            tx.conn, row.connect_session_id, rules.SESSION_CONNECTED, ctx.now(), account_ids=[a.id for a in connected]
        )
    return connected, row
