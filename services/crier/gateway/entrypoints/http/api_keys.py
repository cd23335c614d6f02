"""/api/v1/api-keys: issue, list and revoke keys (admin scope)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from crier.gateway.entrypoints.http import schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import keys as uc


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api-keys"]
    guards = [requires("admin")]

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
        gw, who = gateway_of(request), principal_of(request)
        try:
            row, secret = await uc.issue_key(gw.engine, who, name=data.name, mode=data.mode, scopes=data.scopes)
        except uc.LiveKeyFromTestKey:
            raise ApiError(403, "live_mode_required", "a test-mode key cannot issue live keys") from None
        return Response(s.key_of(row, secret), status_code=201)  # type: ignore[arg-type]

    @get("/", operation_id="listApiKeys", responses=documented(), summary="List keys (never their secrets)")
    async def list_keys(self, request: Request[Any, Any, Any]) -> s.ApiKeyList:
        rows = await uc.list_keys(gateway_of(request).engine, principal_of(request))
        return s.ApiKeyList(data=[s.key_of(r._mapping) for r in rows])

    @delete(
        "/{key_id:str}",
        operation_id="revokeApiKey",
        status_code=200,
        responses=documented(404),
        summary="Revoke a key immediately",
    )
    async def revoke(self, request: Request[Any, Any, Any], key_id: FromPath[str]) -> s.ApiKeyRevoked:
        if not await uc.revoke_key(gateway_of(request).engine, principal_of(request), key_id):
            raise ApiError(404, "not_found", f"no API key {key_id}")
        return s.ApiKeyRevoked(id=key_id)
