"""API keys: who a secret belongs to, and issuing, listing and revoking keys, for admin keys over
the API and for operators at the command line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crier.contracts.common import Mode
from crier.gateway.adapters import orgs
from crier.gateway.domain.api_key import SCOPES, Principal, checked_mode, checked_scopes, digest, looks_like_key
from crier.gateway.handlers.context import Context
from crier.kit.errors import Forbidden, Invalid, NotFound, Problem, collect


async def authenticate(ctx: Context, secret: str) -> Principal | None:
    """Who holds `secret`: from the keys verified in the last few seconds (`handlers.key_cache`),
    else from the database."""
    if not looks_like_key(secret):
        return None
    key_digest = digest(secret)
    known = ctx.verified_keys.get(key_digest)
    if known is not None:
        return known
    async with ctx.uow.read() as conn:
        principal = await orgs.authenticate(conn, secret)
    if principal is not None:
        ctx.verified_keys.put(key_digest, principal)
    return principal


async def issue_key(
    ctx: Context, who: Principal, *, name: str, mode: Mode, scopes: Sequence[str]
) -> tuple[dict[str, Any], str]:
    """The stored key and its secret; the secret exists only in this return value."""
    if not who.may_issue(mode):
        raise Forbidden("live_mode_required", "a test-mode key cannot issue live keys")
    return await _issue(ctx, who.org_id, name=name, mode=mode, scopes=scopes)


async def issue_operator_key(
    ctx: Context, *, org: str, name: str, mode: str, scopes: Sequence[str] | None
) -> tuple[dict[str, Any], str]:
    """For the operator: `org` is an id or a name; `scopes` None grants every scope."""
    async with ctx.uow.read() as conn:
        found = await orgs.find_org(conn, org)
    if found is None:
        raise NotFound.of("organization", org)
    return await _issue(ctx, found["id"], name=name, mode=mode, scopes=scopes)


async def bootstrap_admin_key(ctx: Context, current: str | None) -> str:
    """`current` while it still works; otherwise a new admin key for the oldest organization (made
    if there is none)."""
    if current is not None and looks_like_key(current) and await authenticate(ctx, current) is not None:
        return current
    async with ctx.uow.begin() as tx:
        org = await orgs.oldest_org(tx.conn) or await orgs.create_org(tx.conn, "default")
        _, secret = await orgs.create_key(tx.conn, org["id"], name="bootstrap admin", mode="live", scopes=list(SCOPES))
    return secret


async def list_keys(ctx: Context, who: Principal) -> list[Any]:
    async with ctx.uow.read() as conn:
        return await orgs.list_keys(conn, who.org_id, who.key_modes())


async def revoke_key(ctx: Context, who: Principal, key_id: str) -> None:
    """Revoking twice is not an error; a key of another organization, or one this key may not
    see, is not found."""
    async with ctx.uow.begin() as tx:
        if not await orgs.revoke_key(tx.conn, who.org_id, who.key_modes(), key_id):
            raise NotFound.of("API key", key_id)
    ctx.verified_keys.forget(key_id)


async def _issue(
    ctx: Context, org_id: str, *, name: str, mode: str, scopes: Sequence[str] | None
) -> tuple[dict[str, Any], str]:
    problems: list[Problem] = []
    checked = collect(problems, lambda: checked_mode(mode))
    granted = collect(problems, lambda: checked_scopes(scopes))
    if checked is None or granted is None:
        raise Invalid.of(problems)
    async with ctx.uow.begin() as tx:
        return await orgs.create_key(tx.conn, org_id, name=name, mode=checked, scopes=granted)
