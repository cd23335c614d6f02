"""/api/v1/social-accounts (read model) and /api/v1/sandbox/social-accounts (test mode only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from contracts.common import PLATFORMS
from gateway.adapters import accounts
from gateway.adapters.accounts import AccountFilter
from gateway.adapters.pages import BadCursor
from gateway.domain.validation import Problem
from gateway.entrypoints.http import schemas as s
from gateway.entrypoints.http.auth import principal_of, requires
from gateway.entrypoints.http.errors import ApiError, documented
from gateway.entrypoints.http.listing import checked_limit
from gateway.entrypoints.http.state import gateway_of
from gateway.handlers import accounts as uc
from kit.bus.rpc import RpcFailure, RpcUnavailable


class SocialAccountController(Controller):
    path = "/api/v1/social-accounts"
    tags = ["social-accounts"]
    guards = [requires("view")]

    @get("/", operation_id="listSocialAccounts", responses=documented(),
         summary="List connected accounts, newest first")
    async def list_accounts(
        self,
        request: Request[Any, Any, Any],
        id: FromQuery[str | None] = None,
        tenant_id: FromQuery[str | None] = None,
        platform: FromQuery[str | None] = None,
        username: FromQuery[str | None] = None,
        network_unique_id: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> s.SocialAccountList:
        gw, who = gateway_of(request), principal_of(request)
        where = AccountFilter(id=id, tenant_id=tenant_id, platform=platform, username=username,
                              network_unique_id=network_unique_id)
        try:
            async with gw.engine.connect() as conn:
                page = await accounts.search(conn, who.org_id, who.mode, where, limit=checked_limit(limit),
                                             cursor=cursor)
        except BadCursor:
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued") from None
        return s.SocialAccountList(data=[s.account_of(r) for r in page.rows], next_cursor=page.next_cursor)

    @get("/{account_id:str}", operation_id="getSocialAccount", responses=documented(404),
         summary="Get one connected account")
    async def get_account(self, request: Request[Any, Any, Any], account_id: FromPath[str]) -> s.SocialAccount:
        gw, who = gateway_of(request), principal_of(request)
        async with gw.engine.connect() as conn:
            row = await accounts.get(conn, who.org_id, who.mode, account_id)
        if row is None:
            raise ApiError(404, "not_found", f"no social account {account_id}")
        return s.account_of(row)


class SandboxController(Controller):
    path = "/api/v1/sandbox"
    tags = ["sandbox"]
    guards = [requires("connect")]

    @post("/social-accounts", operation_id="createSandboxAccount", responses=documented(400, 413, 503), status_code=201,
          summary="Create a simulated account (test-mode keys only)")
    async def create_account(
        self, request: Request[Any, Any, Any], data: JSONBody[s.SandboxAccountCreate]
    ) -> Response[s.SocialAccount]:
        gw, who = gateway_of(request), principal_of(request)
        if who.mode != "test":
            raise ApiError(403, "test_mode_only", "sandbox accounts can only be created with a sk_test_ key")
        if data.platform not in PLATFORMS:
            raise Problem("platform", "unknown_platform", f"must be one of {', '.join(PLATFORMS)}")
        try:
            row = await uc.create_sandbox_account(
                gw.engine, gw.bus, who, platform=data.platform, username=data.username, tenant_id=data.tenant_id
            )
        except RpcUnavailable:
            raise ApiError(503, "service_unavailable", "the connect service is not answering; retry shortly") from None
        except RpcFailure as f:
            raise ApiError(f.error.status, f.error.code, f.error.message, dict(f.error.details)) from None
        if row is None:
            raise ApiError(502, "upstream_error", "the connect service returned an account for another organization")
        return Response(s.account_of(row), status_code=201)
