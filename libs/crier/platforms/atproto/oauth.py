"""atproto OAuth (atproto.com/specs/oauth), the client side: PAR + PKCE + DPoP.

- The client is identified by the URL of its client metadata document (`client_metadata`), which
  the authorization server fetches; there is no registration and, for a public client like this
  one (`token_endpoint_auth_method: none`), no secret.
- The authorization server is found from the account's PDS: `/.well-known/oauth-protected-resource`
  names it, its `/.well-known/oauth-authorization-server` says where to push, send the user and
  redeem. bsky.social's serves every account Bluesky hosts.
- Every authorization request is pushed first (PAR, RFC 9126) with the PKCE challenge; the browser
  is then sent to the authorization endpoint with nothing but the client id and the request URI.
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
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms.atproto import dpop
from crier.platforms.oauth import OAuthError

SCOPE = "atproto transition:generic"
_BOUND = "dpop:"


def is_client_id(value: str) -> bool:
    """An atproto client id is the URL of its metadata document (https; `http://localhost` for a
    client in development): anything else is not one."""
    parts = urlsplit(value)
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname == "localhost")
    )


def client_metadata(client_id: str, redirect_uris: list[str], *, client_name: str = "Crier") -> dict[str, Any]:
    """The document served at `client_id`: what the authorization server checks the client against."""
    return {
        "client_id": client_id,
        "client_name": client_name,
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


def _origin(url: str) -> str:
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
        nonce = self.nonces.get(_origin(url))
        request.headers["DPoP"] = dpop.proof(self.key, request.method, url, nonce=nonce, access_token=self.access_token)
        if self.access_token:
            request.headers["Authorization"] = f"DPoP {self.access_token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        origin = _origin(str(request.url))
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


async def push(
    http: httpx.AsyncClient,
    server: AuthServer,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    scope: str,
    key: str,
    nonces: dict[str, str],
    login_hint: str | None = None,
) -> str:
    """The authorization URL for a pushed request (the browser carries no parameters but these)."""
    form = oh.form(
        client_id=client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        code_challenge=code_challenge,
        code_challenge_method="S256",
        login_hint=login_hint,
    )
    pushed = await post_form(http, server.pushed_authorization_endpoint, form, key, nonces)
    request_uri = pushed.get("request_uri")
    if not isinstance(request_uri, str):
        raise OAuthError("the authorization server kept no request", code="bad_par_response")
    return f"{server.authorization_endpoint}?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"
