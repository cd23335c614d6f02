"""/api/v1/end-users: your own users, keyed by your id for them (the `tenant_id` of their accounts)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from crier.contracts import connect as api
from crier.gateway.entrypoints.http import connect_schemas as cs
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.connect_support import SocialAccountList, account_out, ask
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers.accounts import hold_accounts


class EndUserController(Controller):
    path = "/api/v1/end-users"
    tags = ["end-users"]
    opt = requires("view")

    @post(
        "/",
        operation_id="upsertEndUser",
        opt=requires("connect"),
        status_code=200,
        responses=documented(400, 503),
        summary="Create or update an end-user by external_user_id",
    )
    async def upsert(self, request: Request[Any, Any, Any], data: JSONBody[cs.EndUserUpsert]) -> api.EndUser:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.END_USERS_UPSERT,
            api.EndUserUpsert(
                org_id=who.org_id,
                mode=who.mode,
                external_user_id=data.external_user_id,
                display_name=data.display_name,
                email=data.email,
                metadata=data.metadata,
            ),
            api.EndUser,
        )

    @get(
        "/{external_user_id:str}",
        operation_id="getEndUser",
        responses=documented(404, 503),
        summary="An end-user and a summary of their connections",
    )
    async def get_end_user(self, request: Request[Any, Any, Any], external_user_id: FromPath[str]) -> api.EndUser:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.END_USERS_GET,
            api.EndUserRef(org_id=who.org_id, mode=who.mode, external_user_id=external_user_id),
            api.EndUser,
        )

    @get(
        "/{external_user_id:str}/connections",
        operation_id="listEndUserConnections",
        responses=documented(404, 503),
        summary="The end-user's connected accounts, newest first",
    )
    async def connections(self, request: Request[Any, Any, Any], external_user_id: FromPath[str]) -> SocialAccountList:
        who = principal_of(request)
        reply = await ask(
            gateway_of(request),
            api.END_USERS_CONNECTIONS,
            api.EndUserRef(org_id=who.org_id, mode=who.mode, external_user_id=external_user_id),
            api.Connections,
        )
        return SocialAccountList(data=[account_out(a) for a in reply.data], next_cursor=None)

    @delete(
        "/{external_user_id:str}/connections/{platform:str}",
        operation_id="disconnectEndUserPlatform",
        opt=requires("connect"),
        status_code=200,
        responses=documented(404, 503),
        summary="Disconnect the end-user's accounts on one platform",
    )
    async def disconnect(
        self, request: Request[Any, Any, Any], external_user_id: FromPath[str], platform: FromPath[str]
    ) -> cs.Disconnected:
        gw, who = gateway_of(request), principal_of(request)
        reply = await ask(
            gw,
            api.END_USERS_DISCONNECT,
            api.EndUserDisconnect(
                org_id=who.org_id, mode=who.mode, external_user_id=external_user_id, platform=platform
            ),
            api.Disconnected,
        )
        await hold_accounts(gw.ctx, reply.accounts)
        return cs.Disconnected(
            external_user_id=reply.external_user_id,
            platform=reply.platform,
            disconnected_account_ids=reply.disconnected_account_ids,
        )
