"""/api/v1/social-networks (BYOK platform apps) and /api/v1/redirect-uris (the redirect allowlist)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from crier.contracts import connect as api
from crier.gateway.entrypoints.http import connect_schemas as cs
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.connect_support import ask
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.pages import checked_limit


class SocialNetworkController(Controller):
    path = "/api/v1/social-networks"
    tags = ["social-networks"]
    opt = requires("view")

    @post(
        "/",
        operation_id="upsertSocialNetwork",
        opt=requires("manage"),
        status_code=200,
        responses=documented(400, 503),
        summary="Register or update your own app for a platform (BYOK)",
    )
    async def upsert(self, request: Request[Any, Any, Any], data: JSONBody[cs.SocialNetworkUpsert]) -> api.Network:
        """The client secret is stored encrypted and never returned. `redirect_uri` is the callback you
        registered with the platform; by default Crier's `/api/v1/connect/callback`."""
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.NETWORKS_UPSERT,
            api.NetworkUpsert(
                org_id=who.org_id,
                mode=who.mode,
                platform=data.platform,
                client_id=data.client_id,
                client_secret=data.client_secret,
                display_name=data.display_name,
                redirect_uri=data.redirect_uri,
                scopes=data.scopes,
                instance_url=data.instance_url,
            ),
            api.Network,
        )

    @get("/", operation_id="listSocialNetworks", responses=documented(503), summary="List your platform apps")
    async def list_networks(
        self, request: Request[Any, Any, Any], limit: FromQuery[int | None] = None, cursor: FromQuery[str | None] = None
    ) -> api.NetworkPage:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.NETWORKS_LIST,
            api.NetworkList(org_id=who.org_id, mode=who.mode, limit=checked_limit(limit), cursor=cursor),
            api.NetworkPage,
        )

    @get(
        "/{network_id:str}",
        operation_id="getSocialNetwork",
        responses=documented(404, 503),
        summary="Get one platform app",
    )
    async def get_network(self, request: Request[Any, Any, Any], network_id: FromPath[str]) -> api.Network:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.NETWORKS_GET,
            api.NetworkRef(org_id=who.org_id, mode=who.mode, id=network_id),
            api.Network,
        )

    @delete(
        "/{network_id:str}",
        operation_id="deleteSocialNetwork",
        opt=requires("manage"),
        status_code=200,
        responses=documented(404, 503),
        summary="Delete a platform app",
    )
    async def delete_network(self, request: Request[Any, Any, Any], network_id: FromPath[str]) -> api.Deleted:
        """New flows for the platform then use the installation's managed app, if there is one;
        accounts it connected keep their tokens but can no longer be refreshed."""
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.NETWORKS_DELETE,
            api.NetworkRef(org_id=who.org_id, mode=who.mode, id=network_id),
            api.Deleted,
        )


class RedirectUriController(Controller):
    path = "/api/v1/redirect-uris"
    tags = ["redirect-uris"]
    opt = requires("view")

    @post(
        "/",
        operation_id="addRedirectUri",
        opt=requires("manage"),
        status_code=201,
        responses=documented(400, 503),
        summary="Allow a redirect URI for connect flows",
    )
    async def add(self, request: Request[Any, Any, Any], data: JSONBody[cs.RedirectUriCreate]) -> api.RedirectUri:
        """Flows may only send the user back to an allowlisted URI, compared exactly. Adding one
        that is already listed returns the existing entry."""
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.REDIRECT_URIS_ADD,
            api.RedirectUriAdd(org_id=who.org_id, mode=who.mode, uri=data.uri),
            api.RedirectUri,
        )

    @get("/", operation_id="listRedirectUris", responses=documented(503), summary="List allowed redirect URIs")
    async def list_uris(self, request: Request[Any, Any, Any]) -> api.RedirectUriPage:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.REDIRECT_URIS_LIST,
            api.Scoped(org_id=who.org_id, mode=who.mode),
            api.RedirectUriPage,
        )

    @delete(
        "/{entry_id:str}",
        operation_id="deleteRedirectUri",
        opt=requires("manage"),
        status_code=200,
        responses=documented(404, 503),
        summary="Remove a redirect URI from the allowlist",
    )
    async def remove(self, request: Request[Any, Any, Any], entry_id: FromPath[str]) -> api.Deleted:
        who = principal_of(request)
        return await ask(
            gateway_of(request),
            api.REDIRECT_URIS_DELETE,
            api.RedirectUriRef(org_id=who.org_id, mode=who.mode, id=entry_id),
            api.Deleted,
        )
