"""/api/v1/social-accounts (served by connect; from the local read model while connect is away) and
/api/v1/sandbox/social-accounts (test mode only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from crier.contracts import connect as api
from crier.contracts.common import PLATFORMS
from crier.contracts.connect import CreateSandboxAccount, SANDBOX_ACCOUNTS_CREATE, SocialAccount
from crier.gateway.adapters import accounts
from crier.gateway.adapters.accounts import AccountFilter
from crier.gateway.adapters.pages import BadCursor
from crier.gateway.domain.validation import Problem
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.listing import checked_limit
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.bus import rpc
from crier.kit.bus.rpc import RpcFailure, RpcUnavailable


class SocialAccountController(Controller):
    path = "/api/v1/social-accounts"
    tags = ["social-accounts"]
    guards = [requires("view")]

    @get(
        "/", operation_id="listSocialAccounts", responses=documented(), summary="List connected accounts, newest first"
    )
    async def list_accounts(
        self,
        request: Request[Any, Any, Any],
        id: FromQuery[str | None] = None,
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
            id=id,
            tenant_id=tenant_id,
            platform=platform,
            username=username,
            network_unique_id=network_unique_id or networkUniqueId,
        )
        size = checked_limit(limit)
        try:
            page = await rpc.call(
                gw.bus,
                api.ACCOUNTS_LIST,
                api.AccountList(org_id=who.org_id, mode=who.mode, limit=size, cursor=cursor, **where.__dict__),
                api.AccountPage,
            )
            return c.SocialAccountList(data=[c.account_out(a) for a in page.data], next_cursor=page.next_cursor)
        except RpcFailure as f:
            raise ApiError.of(f.error.kind, f.error.code, f.error.message, dict(f.error.details)) from None
        except RpcUnavailable:
            pass
        # Connect is away: answer from the local read model, without what only connect knows.
        try:
            async with gw.engine.connect() as conn:
                rows = await accounts.search(conn, who.org_id, who.mode, where, limit=size, cursor=cursor)
        except BadCursor:
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued") from None
        return c.SocialAccountList(data=[c.account_out(r) for r in rows.rows], next_cursor=rows.next_cursor)

    @get(
        "/{account_id:str}",
        operation_id="getSocialAccount",
        responses=documented(404),
        summary="Get one connected account",
    )
    async def get_account(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> c.SocialAccount:
        gw, who = gateway_of(request), principal_of(request)
        try:
            found = await rpc.call(
                gw.bus, api.ACCOUNTS_GET, api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id), SocialAccount
            )
            return c.account_out(found)
        except RpcFailure as f:
            raise ApiError.of(f.error.kind, f.error.code, f.error.message, dict(f.error.details)) from None
        except RpcUnavailable:
            pass
        async with gw.engine.connect() as conn:
            row = await accounts.get(conn, who.org_id, who.mode, account_id)
        if row is None:
            raise ApiError(404, "not_found", f"no social account {account_id}")
        return c.account_out(row)

    @delete(
        "/{account_id:str}",
        operation_id="deleteSocialAccount",
        guards=[requires("connect")],
        status_code=200,
        responses=documented(404, 503),
        summary="Disconnect an account (soft delete: status disabled)",
    )
    async def delete_account(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> c.Removed:
        gw, who = gateway_of(request), principal_of(request)
        removed = await c.ask(
            gw, api.ACCOUNTS_DELETE, api.AccountRef(org_id=who.org_id, mode=who.mode, id=account_id), api.AccountRemoved
        )
        await c.remember(gw, [removed.account])
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
    guards = [requires("connect")]

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
        if who.mode != "test":
            raise ApiError(403, "test_mode_only", "sandbox accounts can only be created with a sk_test_ key")
        if data.platform not in PLATFORMS:
            raise Problem("platform", "unknown_platform", f"must be one of {', '.join(PLATFORMS)}")
        # Held locally at once, so the caller's next POST /posts can target it without waiting for
        # the account event to arrive.
        account = await c.ask(
            gw,
            SANDBOX_ACCOUNTS_CREATE,
            CreateSandboxAccount(
                org_id=who.org_id,
                mode="test",
                platform=data.platform,
                username=data.username,
                tenant_id=data.tenant_id,
            ),
            SocialAccount,
        )
        if (account.org_id, account.mode) != (who.org_id, "test"):
            raise ApiError(502, "upstream_error", "the connect service returned an account for another organization")
        await c.remember(gw, [account])
        return Response(c.account_out(account), status_code=201)
