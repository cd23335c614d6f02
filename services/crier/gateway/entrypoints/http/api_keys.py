"""/api/v1/api-keys: issue, list and revoke keys (admin scope)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import keys as uc


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api-keys"]
    opt = requires("admin")

    @post(
        "/",
        operation_id="createApiKey",
        status_code=201,
        responses=documented(400, 413),
        summary="Issue a key; its secret is shown only here",
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[s.ApiKeyCreate]
    ) -> Response[s.ApiKeyCreated]:
        row, secret = await uc.issue_key(
            gateway_of(request).ctx, principal_of(request), name=data.name, mode=data.mode, scopes=data.scopes
        )
        return Response(s.created_key_of(row, secret), status_code=201)

    @get("/", operation_id="listApiKeys", responses=documented(), summary="List keys (never their secrets)")
    async def list_keys(self, request: Request[Any, Any, Any]) -> s.ApiKeyList:
        rows = await uc.list_keys(gateway_of(request).ctx, principal_of(request))
        return s.ApiKeyList(data=[s.key_of(r._mapping) for r in rows])

    @delete(
        "/{key_id:str}",
        operation_id="revokeApiKey",
        status_code=200,
        responses=documented(404),
        summary="Revoke a key immediately",
    )
    async def revoke(self, request: Request[Any, Any, Any], key_id: FromPath[str]) -> s.ApiKeyRevoked:
        await uc.revoke_key(gateway_of(request).ctx, principal_of(request), key_id)
        return s.ApiKeyRevoked(id=key_id)
