"""Connected accounts: their status and token expiry, a live health probe, and a reconnect link to
hand the end user (a hosted connect session for the same platform and tenant). Connect owns the
accounts; the console asks it as the API's /social-accounts routes do, and falls back to the
gateway's read model (without token expiry) while connect is away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crier.contracts import connect as api
from crier.contracts.common import PLATFORMS
from crier.gateway.domain.filters import AccountFilter
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http.console.pages import render
from crier.gateway.entrypoints.http.console.session import current
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import accounts as uc
from crier.kit.errors import Invalid

# A token expiring sooner than this is flagged on the list.
EXPIRY_WARNING = timedelta(days=3)


@get("/accounts", name="console_accounts")
async def list_accounts(
    request: Request[Any, Any, Any],
    platform: FromQuery[str | None] = None,
    tenant_id: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[str]:
    gw, who = gateway_of(request), current(request).principal
    where = AccountFilter(platform=platform or None, tenant_id=tenant_id or None)
    asked = api.AccountList(org_id=who.org_id, mode=who.mode, cursor=cursor, **where.__dict__)
    page = await c.ask_if_up(gw, api.ACCOUNTS_LIST, asked, api.AccountPage)
    from_read_model = page is None
    if page is None:
        held = await uc.find_accounts(gw.ctx, who, where, limit=None, cursor=cursor)
        rows, next_cursor = [c.account_out(r) for r in held.rows], held.next_cursor
    else:
        rows, next_cursor = [c.account_out(a) for a in page.data], page.next_cursor
    return render(
        request,
        "accounts.html",
        rows=rows,
        next_cursor=next_cursor,
        platform=platform or "",
        tenant_id=tenant_id or "",
        platforms=PLATFORMS,
        from_read_model=from_read_model,
        soon=datetime.now(UTC) + EXPIRY_WARNING,
    )


@get("/accounts/{account_id:str}", name="console_account")
async def show_account(
    request: Request[Any, Any, Any], account_id: FromPath[str], probe: FromQuery[bool] = False
) -> Response[str]:
    """With `probe`, a live health check (it may refresh the token, as the API's health route does)."""
    gw, who = gateway_of(request), current(request).principal
    ref = api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id)
    found = await c.ask_if_up(gw, api.ACCOUNTS_GET, ref, api.SocialAccount)
    account = c.account_out(found if found is not None else await uc.get_account(gw.ctx, who, account_id))
    health = None
    if probe:
        health = await c.ask(gw, api.ACCOUNTS_HEALTH, ref, api.AccountHealth, timeout=api.PLATFORM_CALL_TIMEOUT_S)
    uris = await c.ask_if_up(
        gw, api.REDIRECT_URIS_LIST, api.Scoped(org_id=who.org_id, mode=who.mode), api.RedirectUriPage
    )
    return render(
        request, "account.html", account=account, health=health, redirect_uris=uris.data if uris else [], link=None
    )


@post("/accounts/{account_id:str}/reconnect", name="console_account_reconnect", status_code=200)
async def reconnect(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Response[str]:
    """A hosted connect link for the account's platform and tenant, for the operator to send to the
    end user; nothing changes until they use it."""
    gw, who = gateway_of(request), current(request).principal
    if not who.can("connect"):
        return render(request, "error.html", 403, title="Not allowed", message="This key lacks the 'connect' scope.")
    account = c.account_out(await uc.get_account(gw.ctx, who, account_id))
    redirect_uri = str((await request.form()).get("redirect_uri") or "")
    if not redirect_uri:
        raise Invalid.one("redirect_uri", "required", "choose where the end user returns to")
    session = await c.ask(
        gw,
        api.SESSIONS_CREATE,
        api.SessionCreate(
            org_id=who.org_id,
            mode=who.mode,
            platform=account.platform,
            redirect_uri=redirect_uri,
            tenant_id=account.tenant_id,
        ),
        api.ConnectSession,
    )
    return render(request, "account.html", account=account, health=None, redirect_uris=[], link=session)
