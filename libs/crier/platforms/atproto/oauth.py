"""atproto OAuth (atproto.com/specs/oauth), the client side: PAR + PKCE + DPoP.

- The client is identified by the URL of its client metadata document (`client_metadata`), which
  the authorization server fetches; there is no registration and, for a public client like this
  one (`token_endpoint_auth_method: none`), no secret.
- The authorization server is found from the account's PDS: `/.well-known/oauth-protected-resource`
  names it, its `/.well-known/oauth-authorization-server` says where to push, send the user and
  redeem. bsky.social's serves every account Bluesky hosts.
- Every authorization request is pushed first (PAR, RFC 9126) with the PKCE challenge; the browser
  is then sent to the authorization endpoint with nothing but the client id and the request URI.
  It comes back with `iss` (RFC 9207), which must be the server the request was pushed to: a code
  from anywhere else is not redeemed (a mix-up attack would send it to the wrong token endpoint).
- Every call to the authorization server and the PDS carries a DPoP proof (`dpop`) made with the
  account's own key; the server's nonce is learnt from its refusal (`use_dpop_nonce`) and the call
  made once more, which `DPoPAuth` does inside httpx's auth flow.
- Tokens (`token_type: DPoP`) are bound to that key: Crier keeps each with its key and, for the
  refresh token, where to renew it, as one sealed value (`Bound`). Refresh tokens rotate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Generator
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms import pkce
from crier.platforms.atproto import dpop
from crier.platforms.atproto.syntax import is_did
from crier.platforms.oauth import OAuthError, TokenSet

SCOPE = "atproto transition:generic"
_BOUND = "dpop:"


def is_client_id(value: str) -> bool:
    """An atproto client id is the URL of its metadata document (https; `http://localhost` for a
    client in development): anything else is not one."""
    parts = urlsplit(value)
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname == "localhost")
    )


def client_metadata(
    client_id: str, redirect_uris: list[str], *, client_name: str = "Crier", client_uri: str | None = None
) -> dict[str, Any]:
    """The document served at `client_id`: what the authorization server checks the client against
    (a public web client: no secret and no keys of its own, every token bound to a DPoP key)."""
    return {
        "client_id": client_id,
        "client_name": client_name,
        **({"client_uri": client_uri} if client_uri else {}),
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": redirect_uris,
        "scope": SCOPE,
        "token_endpoint_auth_method": "none",
        "dpop_bound_access_tokens": True,
    }


@dataclass(frozen=True)
class Bound:
    """A token and the private key it is bound to (and, for a refresh token, where it is renewed),
    kept and handed around as one string, which is as secret as the token."""

    token: str
    key: str
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    issuer: str | None = None

    def encode(self) -> str:
        raw = json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))
        return _BOUND + base64.urlsafe_b64encode(raw.encode()).decode()

    @staticmethod
    def decode(value: str | None) -> Bound | None:
        if not value or not value.startswith(_BOUND):
            return None
        try:
            return Bound(**json.loads(base64.urlsafe_b64decode(value[len(_BOUND) :])))
        except (ValueError, TypeError):
            return None


def origin_of(url: str) -> str:
    """The scheme and host a DPoP nonce is kept by."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _wants_nonce(response: httpx.Response) -> bool:
    if response.status_code not in (400, 401):
        return False
    if "use_dpop_nonce" in response.headers.get("www-authenticate", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"


class DPoPAuth(httpx.Auth):
    """Signs each request with a DPoP proof (and `Authorization: DPoP <token>` for the PDS), and
    makes it again once with the server's nonce when the server asks for one. `nonces` (by origin)
    outlives the call, so the next one starts with the nonce the server gave last."""

    requires_response_body = True

    def __init__(self, key: str, nonces: dict[str, str], access_token: str | None = None) -> None:
        self.key = key
        self.nonces = nonces
        self.access_token = access_token

    def _sign(self, request: httpx.Request) -> None:
        url = str(request.url)
        nonce = self.nonces.get(origin_of(url))
        request.headers["DPoP"] = dpop.proof(self.key, request.method, url, nonce=nonce, access_token=self.access_token)
        if self.access_token:
            request.headers["Authorization"] = f"DPoP {self.access_token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        origin = origin_of(str(request.url))
        self._sign(request)
        response = yield request
        nonce = response.headers.get("dpop-nonce")
        if nonce:
            self.nonces[origin] = nonce
        if nonce and _wants_nonce(response):
            self._sign(request)
            response = yield request
            if response.headers.get("dpop-nonce"):
                self.nonces[origin] = response.headers["dpop-nonce"]


@dataclass(frozen=True)
class AuthServer:
    issuer: str
    pushed_authorization_endpoint: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None


def _refused(status: int, body: Any, context: oh.Context) -> OAuthError:
    return oh.oauth2_error(status, body, context)


async def _get(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    body = await oh.send(http, "bluesky", "GET", url, context="token", classify=_refused)
    if not isinstance(body, dict):
        raise OAuthError(f"{url} answered no JSON object", code="bad_metadata")
    return body


async def discover(http: httpx.AsyncClient, pds: str) -> AuthServer:
    """The authorization server the PDS names, as it describes itself."""
    resource = await _get(http, f"{pds.rstrip('/')}/.well-known/oauth-protected-resource")
    servers = resource.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
        raise OAuthError(f"{pds} names no authorization server", code="bad_metadata")
    issuer = servers[0].rstrip("/")
    meta = await _get(http, f"{issuer}/.well-known/oauth-authorization-server")
    needed = ("pushed_authorization_request_endpoint", "authorization_endpoint", "token_endpoint")
    if meta.get("issuer", "").rstrip("/") != issuer or not all(isinstance(meta.get(k), str) for k in needed):
        raise OAuthError(f"{issuer} does not describe itself as an atproto authorization server", code="bad_metadata")
    if "ES256" not in (meta.get("dpop_signing_alg_values_supported") or []):
        raise OAuthError(f"{issuer} does not take ES256 DPoP proofs", code="bad_metadata")
    revocation = meta.get("revocation_endpoint")
    return AuthServer(
        issuer=issuer,
        pushed_authorization_endpoint=meta["pushed_authorization_request_endpoint"],
        authorization_endpoint=meta["authorization_endpoint"],
        token_endpoint=meta["token_endpoint"],
        revocation_endpoint=revocation if isinstance(revocation, str) else None,
    )


async def post_form(
    http: httpx.AsyncClient, url: str, form: dict[str, str], key: str, nonces: dict[str, str]
) -> dict[str, Any]:
    """A DPoP-signed form POST to the authorization server (PAR, token, revocation)."""
    body = await oh.send(
        http, "bluesky", "POST", url, context="token", classify=_refused, data=form, auth=DPoPAuth(key, nonces)
    )
    return body if isinstance(body, dict) else {}


@dataclass(frozen=True)
class Flow:
    """What the callback needs to redeem the code: kept sealed by the caller meanwhile."""

    verifier: str
    key: str
    pds: str
    server: AuthServer

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def decode(value: str | None) -> Flow:
        try:
            raw = json.loads(value or "")
            return Flow(raw["verifier"], raw["key"], raw["pds"], AuthServer(**raw["server"]))
        except (ValueError, TypeError, KeyError):
            raise OAuthError("no pushed authorization request to redeem this code for", code="pkce_required") from None


async def start(
    http: httpx.AsyncClient,
    pds: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scope: str,
    nonces: dict[str, str],
    login_hint: str | None = None,
) -> tuple[str, Flow]:
    """Push the request to the PDS's authorization server, with a PKCE challenge and a DPoP key
    made for the account: where to send the browser (only the client id and the request's URI
    travel there), and the flow to keep for the callback."""
    server = await discover(http, pds)
    key, verifier = dpop.new_key(), pkce.new_verifier()
    form = oh.form(
        client_id=client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        code_challenge=pkce.challenge(verifier),
        code_challenge_method="S256",
        login_hint=login_hint,
    )
    pushed = await post_form(http, server.pushed_authorization_endpoint, form, key, nonces)
    request_uri = pushed.get("request_uri")
    if not isinstance(request_uri, str):
        raise OAuthError("the authorization server kept no request", code="bad_par_response")
    url = f"{server.authorization_endpoint}?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"
    return url, Flow(verifier, key, pds, server)


async def redeem(
    http: httpx.AsyncClient,
    flow: Flow,
    *,
    code: str,
    iss: str | None,
    client_id: str,
    redirect_uri: str,
    nonces: dict[str, str],
) -> dict[str, Any]:
    """The token answer for a code, proven with the flow's verifier and key; `sub` is a DID. `iss`
    is the issuer the authorization response named (RFC 9207): a code that did not come from the
    server the request was pushed to never goes to that server's token endpoint."""
    if (iss or "").rstrip("/") != flow.server.issuer:
        raise OAuthError(f"the answer came from {iss!r}, not {flow.server.issuer}", code="invalid_issuer")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": flow.verifier,
    }
    body = await post_form(http, flow.server.token_endpoint, form, flow.key, nonces)
    if not isinstance(body.get("sub"), str) or not is_did(body["sub"]):
        raise OAuthError("the token answer names no account (sub)", code="bad_token_response")
    return body


async def renew(http: httpx.AsyncClient, refresh: Bound, client_id: str, nonces: dict[str, str]) -> dict[str, Any]:
    if refresh.token_endpoint is None:
        raise OAuthError("this refresh token says not where to renew it", code="bad_refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": refresh.token, "client_id": client_id}
    return await post_form(http, refresh.token_endpoint, form, refresh.key, nonces)


async def revoke(http: httpx.AsyncClient, token: Bound, client_id: str, nonces: dict[str, str]) -> None:
    if token.revocation_endpoint:
        await post_form(
            http, token.revocation_endpoint, {"token": token.token, "client_id": client_id}, token.key, nonces
        )


def token_set(body: dict[str, Any], key: str, server: AuthServer, pds: str) -> TokenSet:
    """The tokens of a token answer, each bound with `key` (the refresh token with where it renews)."""
    if str(body.get("token_type", "")).lower() != "dpop" or "atproto" not in str(body.get("scope", "")).split():
        raise OAuthError("the tokens are not DPoP-bound atproto tokens", code="bad_token_response")
    tokens = oh.token_set(body, extra={"did": body.get("sub"), "pds_url": pds})
    refresh = tokens.refresh_token
    return replace(
        tokens,
        access_token=Bound(tokens.access_token, key).encode(),
        refresh_token=Bound(refresh, key, server.token_endpoint, server.revocation_endpoint, server.issuer).encode()
        if refresh
        else None,
        token_type="dpop",
    )


def server_of(refresh: Bound) -> AuthServer:
    """The authorization server a refresh token renews at, as far as it says."""
    return AuthServer(
        issuer=refresh.issuer or "",
        pushed_authorization_endpoint="",
        authorization_endpoint="",
        token_endpoint=refresh.token_endpoint or "",
        revocation_endpoint=refresh.revocation_endpoint,
    )
