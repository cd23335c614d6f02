"""/api/v1/social-accounts (served by connect; from the local read model while connect is away) and
/api/v1/sandbox/social-accounts (test mode only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from crier.contracts import connect as api
from crier.contracts.connect import SANDBOX_ACCOUNTS_CREATE, SocialAccount
from crier.gateway.domain.filters import AccountFilter
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import accounts as uc
from crier.kit.pages import checked_limit


class SocialAccountController(Controller):
    path = "/api/v1/social-accounts"
    tags = ["social-accounts"]
    opt = requires("view")

    @get(
        "/", operation_id="listSocialAccounts", responses=documented(), summary="List connected accounts, newest first"
    )
    async def list_accounts(
        self,
        request: Request[Any, Any, Any],
        account_id: Annotated[str | None, QueryParameter(name="id")] = None,
        tenant_id: FromQuery[str | None] = None,
        platform: FromQuery[str | None] = None,
        username: FromQuery[str | None] = None,
        network_unique_id: FromQuery[str | None] = None,
        networkUniqueId: FromQuery[str | None] = None,  # noqa: N803 - the spelling some clients send
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> c.SocialAccountList:
        gw, who = gateway_of(request), principal_of(request)
        where = AccountFilter(
            id=account_id,
            tenant_id=tenant_id,
            platform=platform,
            username=username,
            network_unique_id=network_unique_id or networkUniqueId,
        )
        asked = api.AccountList(
            org_id=who.org_id, mode=who.mode, limit=checked_limit(limit), cursor=cursor, **where.__dict__
        )
        page = await c.ask_if_up(gw, api.ACCOUNTS_LIST, asked, api.AccountPage)
        if page is not None:
            return c.SocialAccountList(data=[c.account_out(a) for a in page.data], next_cursor=page.next_cursor)
        # Connect is away: answer from the local read model, without what only connect knows.
        held = await uc.find_accounts(gw.ctx, who, where, limit=limit, cursor=cursor)
        return c.SocialAccountList(data=[c.account_out(r) for r in held.rows], next_cursor=held.next_cursor)

    @get(
        "/{account_id:str}",
        operation_id="getSocialAccount",
        responses=documented(404),
        summary="Get one connected account",
    )
    async def get_account(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> c.SocialAccount:
        gw, who = gateway_of(request), principal_of(request)
        ref = api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id)
        found = await c.ask_if_up(gw, api.ACCOUNTS_GET, ref, SocialAccount)
        if found is None:
            # Connect is away: the read model's copy.
            return c.account_out(await uc.get_account(gw.ctx, who, account_id))
        return c.account_out(found)

    @delete(
        "/{account_id:str}",
        operation_id="deleteSocialAccount",
        opt=requires("connect"),
        status_code=200,
        responses=documented(404, 503),
        summary="Disconnect an account (soft delete: status disabled)",
    )
    async def delete_account(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> c.Removed:
        gw, who = gateway_of(request), principal_of(request)
        removed = await c.ask(
            gw, api.ACCOUNTS_DELETE, api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id), api.AccountRemoved
        )
        await uc.hold_accounts(gw.ctx, [removed.account])
        return c.Removed(id=account_id)

    @get(
        "/{account_id:str}/health",
        operation_id="getSocialAccountHealth",
        responses=documented(404, 503),
        summary="Probe the account live: refresh its token if near expiry, then a cheap identity call",
    )
    async def health(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> api.AccountHealth:
        gw, who = gateway_of(request), principal_of(request)
        return await c.ask(
            gw,
            api.ACCOUNTS_HEALTH,
            api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id),
            api.AccountHealth,
            timeout=api.PLATFORM_CALL_TIMEOUT_S,
        )


class SandboxController(Controller):
    path = "/api/v1/sandbox"
    tags = ["sandbox"]
    opt = requires("connect")

    @post(
        "/social-accounts",
        operation_id="createSandboxAccount",
        responses=documented(400, 413, 503),
        status_code=201,
        summary="Create a simulated account (test-mode keys only)",
    )
    async def create_account(
        self, request: Request[Any, Any, Any], data: JSONBody[s.SandboxAccountCreate]
    ) -> Response[c.SocialAccount]:
        gw, who = gateway_of(request), principal_of(request)
        asked = uc.sandbox_account_request(
            who, platform=data.platform, username=data.username, tenant_id=data.tenant_id
        )
        account = await c.ask(gw, SANDBOX_ACCOUNTS_CREATE, asked, SocialAccount)
        if (account.org_id, account.mode) != (who.org_id, "test"):
            raise ApiError(502, "upstream_error", "the connect service returned an account for another organization")
        # Held locally at once, so the caller's next POST /posts can target it without waiting for
        # the account event to arrive.
        await uc.hold_accounts(gw.ctx, [account])
        return Response(c.account_out(account), status_code=201)
