"""The authorization server every simulated platform runs, parameterised by its rules (PKCE,
token lifetimes, refresh rotation, how the client authenticates), and the way each platform
words its errors (`Dialect`). Platform route modules call these and shape the JSON themselves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.response import Redirect

from crier.platforms import pkce
from crier.platforms.simulator.world import App, Code, Grant, Token, World

CODE_TTL_S = 600.0


class SimError(Exception):
    """Abort the request with this ready-made platform response."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__(response.status_code)
        self.response = response


def reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, headers=dict(headers or {}), media_type="application/json")


class Dialect:
    """How a platform words its failures. The default is RFC 6749 JSON and bare HTTP errors;
    platform modules override what their platform says differently."""

    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        return reply({"error": error, "error_description": description}, status)

    def invalid_token(self, expired: bool) -> Response[Any]:
        return reply(
            {
                "error": "invalid_token",
                "error_description": "The access token expired" if expired else "The access token is invalid",
            },
            401,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return reply(
            {"error": "rate_limited", "error_description": "Too many requests"}, 429, {"Retry-After": str(retry_after)}
        )

    def server_error(self, status: int) -> Response[Any]:
        return reply({"error": "server_error", "error_description": "Internal error"}, status)

    def rejected(self) -> Response[Any]:
        return reply({"error": "invalid_request", "error_description": "The content was rejected"}, 400)


@dataclass(frozen=True)
class Rules:
    platform: str
    pkce: Literal["required", "optional", "none"] = "none"
    client_auth: Literal["basic", "body", "either"] = "body"
    client_id_param: str = "client_id"
    client_secret_param: str = "client_secret"
    scope_separator: str = " "
    access_ttl_s: float | None = 3600.0
    refresh_ttl_s: float | None = None
    # True: every refresh answers a new refresh token and the old one dies (X, Bluesky, Pinterest).
    rotate_refresh: bool = False
    # Whether a redeemed code also gets a refresh token (X: offline.access; Google: access_type=offline).
    wants_refresh: Callable[[Code, App], bool] = lambda code, app: True
    access_prefix: str = ""
    refresh_prefix: str = ""
    # Meta appends a "#_=_" fragment to its redirects.
    redirect_fragment: str = ""


def _page(message: str) -> Response[Any]:
    """An error the browser shows on the platform's own page: never redirected to an unchecked URI."""
    return Response(
        content=f"<html><body><h1>Error</h1><p>{message}</p></body></html>", status_code=400, media_type="text/html"
    )


def authorize(world: World, rules: Rules, query: Mapping[str, str]) -> Response[Any]:
    client_id = query.get(rules.client_id_param, "")
    app = world.app(rules.platform, client_id)
    if app is None:
        return _page(f"invalid {rules.client_id_param}: unknown application {client_id!r}")
    redirect_uri = query.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return _page(f"redirect_uri {redirect_uri!r} is not registered for this application")

    def back(**params: str) -> Response[Any]:
        sep = "&" if "?" in redirect_uri else "?"
        return Redirect(f"{redirect_uri}{sep}{urlencode(params)}{rules.redirect_fragment}", status_code=302)

    state = query.get("state", "")
    if query.get("response_type") != "code":
        return back(error="unsupported_response_type", error_description="response_type must be code", state=state)
    if not state:
        return back(error="invalid_request", error_description="state is required")
    challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
    if rules.pkce == "required" and not challenge:
        return back(error="invalid_request", error_description="code_challenge is required", state=state)
    if challenge and (method or "plain") != "S256":
        return back(error="invalid_request", error_description="code_challenge_method must be S256", state=state)
    if rules.pkce == "none":
        challenge = None
    scopes = (
        tuple(s for s in query.get("scope", "").replace(",", " ").split() if s)
        if rules.scope_separator == ","
        else tuple(s for s in query.get("scope", "").split(rules.scope_separator) if s)
    )
    if not scopes:
        return back(error="invalid_scope", error_description="scope is required", state=state)
    user_id = world.signed_in.get(rules.platform)
    if user_id is None:
        return _page("nobody is signed in to this simulated platform (POST /_sim/<platform>/users first)")
    if world.next_consent(rules.platform) == "deny":
        return back(error="access_denied", error_description="The user denied the request", state=state)
    code = Code(
        value=secrets.token_urlsafe(24),
        platform=rules.platform,
        client_id=app.client_id,
        user_id=user_id,
        scopes=scopes,
        redirect_uri=redirect_uri,
        challenge=challenge,
        challenge_method="S256" if challenge else None,
        expires_at=world.now() + CODE_TTL_S,
        params=dict(query),
    )
    world.codes[code.value] = code
    return back(code=code.value, state=state)


def client(
    world: World, rules: Rules, dialect: Dialect, request: Request[Any, Any, Any], form: Mapping[str, str]
) -> App:
    """The app calling the token endpoint, authenticated the platform's way."""
    client_id = secret = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic ") and rules.client_auth in ("basic", "either"):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise SimError(dialect.oauth_error("invalid_client", "Malformed Basic credentials", 401)) from None
    elif rules.client_auth in ("body", "either"):
        client_id, secret = form.get(rules.client_id_param), form.get(rules.client_secret_param)
    if not client_id:
        raise SimError(dialect.oauth_error("invalid_client", "Missing client credentials", 401))
    app = world.app(rules.platform, client_id)
    if app is None or secret != app.client_secret:
        raise SimError(dialect.oauth_error("invalid_client", "Client authentication failed", 401))
    return app


def redeem(world: World, rules: Rules, dialect: Dialect, app: App, form: Mapping[str, str]) -> tuple[Grant, Code]:
    code = world.codes.get(form.get("code", ""))
    if code is None or code.platform != rules.platform or code.client_id != app.client_id:
        raise SimError(dialect.oauth_error("invalid_grant", "Invalid authorization code"))
    if code.used_by is not None:
        # RFC 6749 §4.1.2: a code used twice revokes what it bought.
        world.revoke_grant(code.used_by)
        raise SimError(dialect.oauth_error("invalid_grant", "Authorization code was already used"))
    if code.expires_at < world.now():
        raise SimError(dialect.oauth_error("invalid_grant", "Authorization code expired"))
    if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
        raise SimError(dialect.oauth_error("invalid_grant", "redirect_uri does not match the authorization request"))
    if code.challenge is not None:
        verifier = form.get("code_verifier")
        if not verifier:
            raise SimError(dialect.oauth_error("invalid_request", "code_verifier is required"))
        if pkce.challenge(verifier) != code.challenge:
            raise SimError(dialect.oauth_error("invalid_grant", "code_verifier does not match the code_challenge"))
    grant = world.new_grant(rules.platform, app.client_id, code.user_id, code.scopes)
    if rules.refresh_ttl_s is not None:
        grant.refresh_expires_at = world.now() + rules.refresh_ttl_s
    code.used_by = grant.id
    return grant, code


def issue(world: World, rules: Rules, grant: Grant, with_refresh: bool) -> tuple[Token, Token | None]:
    access = world.issue(grant, "access", rules.access_ttl_s, prefix=rules.access_prefix)
    refresh = None
    if with_refresh:
        ttl = None if grant.refresh_expires_at is None else grant.refresh_expires_at - world.now()
        refresh = world.issue(grant, "refresh", ttl, prefix=rules.refresh_prefix)
    return access, refresh


def exchange(
    world: World, rules: Rules, dialect: Dialect, app: App, form: Mapping[str, str]
) -> tuple[Grant, Token, Token | None]:
    grant, code = redeem(world, rules, dialect, app, form)
    access, refresh = issue(world, rules, grant, app.refresh_tokens and rules.wants_refresh(code, app))
    return grant, access, refresh


def grant_for(
    world: World, rules: Rules, dialect: Dialect, app: App, form: Mapping[str, str]
) -> tuple[Grant, Token, Token | None] | None:
    """The token endpoint's two standard grant types; None for any other grant_type."""
    if form.get("grant_type") == "authorization_code":
        return exchange(world, rules, dialect, app, form)
    if form.get("grant_type") == "refresh_token":
        return refresh(world, rules, dialect, app, form.get("refresh_token", ""))
    return None


def refresh(world: World, rules: Rules, dialect: Dialect, app: App, value: str) -> tuple[Grant, Token, Token]:
    """A new access token for a live refresh token; the refresh token rotates when the platform
    rotates them, otherwise the same one is kept (and answered, with its remaining lifetime)."""
    old = world.token(rules.platform, value)
    grant = world.grants.get(old.grant_id) if old else None
    if old is None or grant is None or grant.client_id != app.client_id or not world.live(old, "refresh"):
        raise SimError(dialect.oauth_error("invalid_grant", "The refresh token is invalid, expired or revoked"))
    access = world.issue(grant, "access", rules.access_ttl_s, prefix=rules.access_prefix)
    if not rules.rotate_refresh:
        return grant, access, old
    old.revoked = True
    if rules.refresh_ttl_s is not None:
        grant.refresh_expires_at = world.now() + rules.refresh_ttl_s
    ttl = None if grant.refresh_expires_at is None else grant.refresh_expires_at - world.now()
    return grant, access, world.issue(grant, "refresh", ttl, prefix=rules.refresh_prefix)


def revoke(world: World, platform: str, value: str, *, whole_grant: bool = True) -> bool:
    token = world.token(platform, value)
    if token is None:
        return False
    if whole_grant or token.kind == "refresh":
        world.revoke_grant(token.grant_id)
    else:
        token.revoked = True
    return True


def presented_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token", "")


def bearer(
    world: World,
    platform: str,
    dialect: Dialect,
    request: Request[Any, Any, Any],
    kinds: tuple[str, ...] = ("access", "page"),
) -> tuple[Token, Grant]:
    """The live token a request presents (Authorization header, or Meta's `access_token` query)."""
    token = world.token(platform, presented_token(request))
    if not world.live(token, kinds):
        expired = token is not None and token.expires_at is not None and token.expires_at <= world.now()
        raise SimError(dialect.invalid_token(expired))
    assert token is not None
    return token, world.grants[token.grant_id]


def expires_in(world: World, token: Token | None) -> int | None:
    if token is None or token.expires_at is None:
        return None
    return max(0, int(token.expires_at - world.now()))


def make_jwt(claims: Mapping[str, Any], key: bytes = b"simulator") -> str:
    """An HS256 JWT: the shape real clients parse (`exp`, `sub`); only the simulator checks it."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(dict(claims), separators=(",", ":")).encode())
    sig = part(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def pages_spec(spec: Mapping[str, Any], default: int) -> list[dict[str, Any]]:
    """`"pages": N` or `"pages": [{...}, ...]` from a control request, as a list of dicts."""
    raw = spec.get("pages", default)
    if isinstance(raw, int):
        return [{} for _ in range(raw)]
    return [dict(p) for p in raw or []]
