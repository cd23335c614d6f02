"""A PDS that is its own atproto OAuth authorization server, as a self-hosted PDS is:

    GET  /.well-known/oauth-protected-resource     names the authorization server (this PDS)
    GET  /.well-known/oauth-authorization-server   its metadata (PAR required, ES256 DPoP, S256 PKCE)
    POST /oauth/par        a pushed authorization request (client_id = a registered app's id, or the URL
                           of a client metadata document, fetched and checked as a real server does;
                           redirect_uri one of its redirect_uris, state, S256 challenge, scope with
                           `atproto` and within the document's)
    GET  /oauth/authorize  ?client_id&request_uri: the signed-in user consents (or the queued decision
                           denies), back to the redirect_uri with code, state and iss
    POST /oauth/token      authorization_code (PKCE, the same DPoP key as the PAR) or refresh_token
                           (rotating, the same key); answers DPoP-bound tokens with the account's DID in `sub`
    POST /oauth/revoke     the token's grant ends

Every call carries a DPoP proof checked as the spec says (signature, htm, htu, jti once, the
server's current nonce: without it, `use_dpop_nonce` and a `DPoP-Nonce` header). The PDS's own
routes take `Authorization: DPoP <token>` with a proof whose key is the token's (`check_resource`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

import httpx
from litestar import Request, Response, get, post
from litestar.response import Redirect

from crier.platforms import pkce
from crier.platforms.atproto import dpop
from crier.platforms.simulator.authz import SimError, make_jwt, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import Code, Grant, World

ACCESS_TTL_S = 3600
REFRESH_TTL_S = 14 * 86400
PAR_TTL_S = 300.0
PROOF_MAX_AGE_S = 300


@dataclass
class Pushed:
    client_id: str
    redirect_uri: str
    state: str
    challenge: str
    scopes: tuple[str, ...]
    jkt: str
    expires_at: float


@dataclass
class Server:
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    pushed: dict[str, Pushed] = field(default_factory=dict)
    # token value -> thumbprint of the key it is bound to
    bound: dict[str, str] = field(default_factory=dict)
    seen_jti: set[str] = field(default_factory=set)
    # Clients known from their metadata documents, by id (fetched when a request is pushed).
    clients: dict[str, Client] = field(default_factory=dict)


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uris: list[str]
    # What its metadata document lets it ask for; None for an app registered with the simulator.
    scopes: frozenset[str] | None = None


_SERVERS: WeakKeyDictionary[World, Server] = WeakKeyDictionary()


def server_of(world: World) -> Server:
    if world not in _SERVERS:
        _SERVERS[world] = Server()
    return _SERVERS[world]


def issuer(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/") + "/bluesky"


def _oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> SimError:
    return SimError(reply({"error": error, "error_description": description}, status, headers))


def _proof(world: World, request: Request[Any, Any, Any], *, resource: bool, access_token: str | None = None) -> str:
    """The thumbprint of the key a request's valid DPoP proof was made with."""
    server = server_of(world)

    def refuse(error: str, description: str) -> SimError:
        if resource:  # a resource server says it the XRPC way, with a WWW-Authenticate challenge
            challenge = f'DPoP error="{error}", error_description="{description}"'
            headers = {"WWW-Authenticate": challenge, "DPoP-Nonce": server.nonce}
            return SimError(reply({"error": error, "message": description}, 401, headers))
        return _oauth_error(error, description, 400, {"DPoP-Nonce": server.nonce})

    raw = request.headers.get("dpop", "")
    if not raw:
        raise refuse("invalid_dpop_proof", "DPoP proof required")
    try:
        header, claims = dpop.verify(raw)
    except dpop.InvalidProof as exc:
        raise refuse("invalid_dpop_proof", str(exc)) from None
    if claims.get("htm") != request.method or claims.get("htu") != dpop.htu(str(request.url)):
        raise refuse("invalid_dpop_proof", "DPoP htm or htu mismatch")
    if abs(time.time() - float(claims.get("iat", 0))) > PROOF_MAX_AGE_S:
        raise refuse("invalid_dpop_proof", "DPoP proof too old")
    if access_token is not None and claims.get("ath") != dpop.token_hash(access_token):
        raise refuse("invalid_dpop_proof", "DPoP ath mismatch")
    if claims.get("nonce") != server.nonce:
        raise refuse("use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
    jti = str(claims.get("jti", ""))
    if not jti or jti in server.seen_jti:
        raise refuse("invalid_dpop_proof", "DPoP proof jti already used")
    server.seen_jti.add(jti)
    return dpop.thumbprint(header["jwk"])


async def _fetched(client_id: str) -> Client:
    """The client a metadata document describes, checked as the atproto OAuth spec says of a public
    web client: served at its own id, DPoP-bound tokens, no secret, the code grant."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            resp = await http.get(client_id, headers={"Accept": "application/json"})
        doc = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        raise _oauth_error("invalid_client", f"Unable to obtain client metadata: {exc}") from None
    if not isinstance(doc, dict):
        raise _oauth_error("invalid_client", f"Unable to obtain client metadata (HTTP {resp.status_code})")
    redirect_uris, scope = doc.get("redirect_uris"), doc.get("scope")
    problems = [
        what
        for what, ok in (
            ("client_id must be the document's own URL", doc.get("client_id") == client_id),
            ("redirect_uris must be a non-empty list", isinstance(redirect_uris, list) and bool(redirect_uris)),
            ("scope must include atproto", isinstance(scope, str) and "atproto" in scope.split()),
            ("grant_types must include authorization_code", "authorization_code" in (doc.get("grant_types") or [])),
            ("response_types must include code", "code" in (doc.get("response_types") or [])),
            ("dpop_bound_access_tokens must be true", doc.get("dpop_bound_access_tokens") is True),
            ("a public client (token_endpoint_auth_method none)", doc.get("token_endpoint_auth_method") == "none"),
        )
        if not ok
    ]
    if problems:
        raise _oauth_error("invalid_client_metadata", "; ".join(problems))
    return Client(client_id, list(redirect_uris), frozenset(str(scope).split()))


async def _client(world: World, client_id: str, *, fetch: bool) -> Client | None:
    """A registered app, else (an http(s) id) the client its metadata document describes: fetched
    when a request is pushed, then remembered for the token and revocation endpoints."""
    app = world.app("bluesky", client_id)
    if app is not None:
        return Client(app.client_id, app.redirect_uris)
    if not fetch or not client_id.startswith(("https://", "http://")):
        return server_of(world).clients.get(client_id)
    client = server_of(world).clients[client_id] = await _fetched(client_id)
    return client


def check_resource(world: World, request: Request[Any, Any, Any], access_token: str) -> None:
    """A PDS call with `Authorization: DPoP <token>`: the proof is valid and made with the token's key."""
    jkt = _proof(world, request, resource=True, access_token=access_token)
    if server_of(world).bound.get(access_token) != jkt:
        headers = {"WWW-Authenticate": 'DPoP error="invalid_token"', "DPoP-Nonce": server_of(world).nonce}
        raise SimError(reply({"error": "invalid_token", "message": "DPoP key does not match the token"}, 401, headers))


def _issue(world: World, request: Request[Any, Any, Any], grant: Grant, jkt: str) -> dict[str, Any]:
    server = server_of(world)
    now = int(world.now())
    access_jwt = make_jwt(
        {
            "scope": " ".join(grant.scopes),
            "sub": grant.user_id,
            "aud": issuer(request),
            "client_id": grant.client_id,
            "cnf": {"jkt": jkt},
            "iat": now,
            "exp": now + ACCESS_TTL_S,
            "jti": secrets.token_urlsafe(12),
        }
    )
    access = world.issue(grant, "access", ACCESS_TTL_S, value=access_jwt)
    refresh = world.issue(grant, "refresh", REFRESH_TTL_S, prefix="ref-")
    server.bound[access.value] = server.bound[refresh.value] = jkt
    return {
        "access_token": access.value,
        "token_type": "DPoP",
        "expires_in": ACCESS_TTL_S,
        "refresh_token": refresh.value,
        "scope": " ".join(grant.scopes),
        "sub": grant.user_id,
    }


def routes(world: World) -> list[Any]:
    @get("/.well-known/oauth-protected-resource", opt={"endpoint": "protected_resource"})
    async def protected_resource(request: Request[Any, Any, Any]) -> Response[Any]:
        here = issuer(request)
        return reply({"resource": here, "authorization_servers": [here], "scopes_supported": []})

    @get("/.well-known/oauth-authorization-server", opt={"endpoint": "authorization_server"})
    async def authorization_server(request: Request[Any, Any, Any]) -> Response[Any]:
        here = issuer(request)
        return reply(
            {
                "issuer": here,
                "pushed_authorization_request_endpoint": f"{here}/oauth/par",
                "authorization_endpoint": f"{here}/oauth/authorize",
                "token_endpoint": f"{here}/oauth/token",
                "revocation_endpoint": f"{here}/oauth/revoke",
                "require_pushed_authorization_requests": True,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "dpop_signing_alg_values_supported": ["ES256"],
                "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
                "scopes_supported": ["atproto", "transition:generic"],
                "authorization_response_iss_parameter_supported": True,
                "client_id_metadata_document_supported": True,
            }
        )

    @post("/oauth/par", opt={"endpoint": "par"}, status_code=201)
    async def par(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        jkt = _proof(world, request, resource=False)
        app = await _client(world, form.get("client_id", ""), fetch=True)
        if app is None:
            raise _oauth_error("invalid_client", "Unknown client (its metadata document could not be fetched)")
        if form.get("redirect_uri") not in app.redirect_uris:
            raise _oauth_error("invalid_request", "redirect_uri is not one of the client's redirect_uris")
        if form.get("response_type") != "code" or not form.get("state"):
            raise _oauth_error("invalid_request", "response_type=code and state are required")
        if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
            raise _oauth_error("invalid_request", "an S256 code_challenge is required")
        scopes = tuple(form.get("scope", "").split())
        if "atproto" not in scopes:
            raise _oauth_error("invalid_scope", 'scope must include "atproto"')
        if app.scopes is not None and not set(scopes) <= app.scopes:
            raise _oauth_error("invalid_scope", "scope asks for more than the client metadata declares")
        request_uri = f"urn:ietf:params:oauth:request_uri:req-{secrets.token_hex(16)}"
        server_of(world).pushed[request_uri] = Pushed(
            client_id=app.client_id,
            redirect_uri=form["redirect_uri"],
            state=form["state"],
            challenge=form["code_challenge"],
            scopes=scopes,
            jkt=jkt,
            expires_at=world.now() + PAR_TTL_S,
        )
        return reply({"request_uri": request_uri, "expires_in": int(PAR_TTL_S) - 1}, 201)

    @get("/oauth/authorize", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        params = query(request)
        pushed = server_of(world).pushed.pop(params.get("request_uri", ""), None)
        if pushed is None or pushed.client_id != params.get("client_id") or pushed.expires_at <= world.now():
            return Response(
                "<h1>This sign-in request is unknown or expired</h1>", status_code=400, media_type="text/html"
            )
        here = issuer(request)

        def back(**answer: str) -> Response[Any]:
            sep = "&" if "?" in pushed.redirect_uri else "?"
            return Redirect(f"{pushed.redirect_uri}{sep}{urlencode({**answer, 'iss': here})}", status_code=302)

        user_id = world.signed_in.get("bluesky")
        if user_id is None:
            return Response("<h1>Nobody is signed in</h1>", status_code=400, media_type="text/html")
        if world.next_consent("bluesky") == "deny":
            return back(error="access_denied", error_description="Access denied", state=pushed.state)
        code = Code(
            value=f"cod-{secrets.token_urlsafe(24)}",
            platform="bluesky",
            client_id=pushed.client_id,
            user_id=user_id,
            scopes=pushed.scopes,
            redirect_uri=pushed.redirect_uri,
            challenge=pushed.challenge,
            challenge_method="S256",
            expires_at=world.now() + 60,
            params={"jkt": pushed.jkt},
        )
        world.codes[code.value] = code
        return back(code=code.value, state=pushed.state)

    @post("/oauth/token", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        jkt = _proof(world, request, resource=False)
        client_id = form.get("client_id", "")
        if await _client(world, client_id, fetch=False) is None:
            raise _oauth_error("invalid_client", "Unknown client")
        kind = form.get("grant_type")
        if kind == "authorization_code":
            code = world.codes.get(form.get("code", ""))
            if code is None or code.used_by or code.expires_at <= world.now() or code.client_id != client_id:
                raise _oauth_error("invalid_grant", "Invalid code")
            if form.get("redirect_uri") != code.redirect_uri:
                raise _oauth_error("invalid_grant", "redirect_uri mismatch")
            if pkce.challenge(form.get("code_verifier", "")) != code.challenge:
                raise _oauth_error("invalid_grant", "Invalid code_verifier")
            if code.params.get("jkt") != jkt:
                raise _oauth_error("invalid_dpop_key_binding", "DPoP key mismatch")
            grant = world.new_grant("bluesky", client_id, code.user_id, code.scopes)
            code.used_by = grant.id
            return reply(_issue(world, request, grant, jkt))
        if kind == "refresh_token":
            presented = world.token("bluesky", form.get("refresh_token", ""))
            if not world.live(presented, "refresh") or presented is None:
                raise _oauth_error("invalid_grant", "Invalid refresh token")
            grant = world.grants[presented.grant_id]
            if grant.client_id != client_id or server_of(world).bound.get(presented.value) != jkt:
                raise _oauth_error("invalid_grant", "This refresh token is bound to another client or key")
            presented.revoked = True  # refresh tokens rotate
            return reply(_issue(world, request, grant, jkt))
        raise _oauth_error("unsupported_grant_type", f"Unsupported grant_type {kind!r}")

    @post("/oauth/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        _proof(world, request, resource=False)
        found = world.token("bluesky", form.get("token", ""))
        if found is not None:
            world.revoke_grant(found.grant_id)
        return reply({})

    return [protected_resource, authorization_server, par, authorize, token, revoke]
