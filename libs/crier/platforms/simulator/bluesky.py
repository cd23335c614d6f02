"""A Bluesky PDS: app-password sessions over XRPC (`com.atproto.server.createSession`,
`refreshSession` (rotating), `getSession`, `deleteSession`), the repository and handle resolution
(`bluesky_repo`), and `app.bsky.actor.getProfile`, which a PDS answers only with an AppView behind
it (`POST /_sim/bluesky/settings {"appview": false}`: it answers 400 like a PDS without one).

It is its own atproto OAuth authorization server (`bluesky_oauth`), and a did:plc directory too,
at `<base>/bluesky/plc` (`GET /plc/<did>`: the user's DID document, naming this simulator's
`<base>/bluesky` as the account's PDS, or the `pds_endpoint` setting).
Session tokens are JWTs whose `exp` clients read; XRPC errors are `{"error", "message"}`."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import account_figures, authz, bluesky_oauth, bluesky_repo, post_engagement
from crier.platforms.simulator.authz import Dialect, make_jwt, reply
from crier.platforms.simulator.http import json_of
from crier.platforms.simulator.world import Grant, User, World

ACCESS_TTL_S = 2 * 3600
REFRESH_TTL_S = 90 * 86400
_B32 = string.ascii_lowercase + "234567"


def _xrpc(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return reply({"error": error, "message": message}, status, headers)


class BlueskyDialect(Dialect):
    def oauth_error(self, error: str, description: str, status: int = 400) -> Response[Any]:
        return _xrpc(status, error, description)

    def invalid_token(self, expired: bool) -> Response[Any]:
        if expired:
            return _xrpc(400, "ExpiredToken", "Token has expired")
        return _xrpc(400, "InvalidToken", "Token could not be verified")

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return _xrpc(
            429,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
            {
                "ratelimit-limit": "30",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(time.time()) + retry_after),
                "ratelimit-policy": "30;w=300",
            },
        )

    def server_error(self, status: int) -> Response[Any]:
        return _xrpc(status, "InternalServerError" if status == 500 else "UpstreamFailure", "Internal Server Error")

    def rejected(self) -> Response[Any]:
        return _xrpc(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
        )


DIALECT = BlueskyDialect()


def new_user_id(world: World) -> str:
    return "did:plc:" + "".join(secrets.choice(_B32) for _ in range(24))


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def handle(user: User) -> str:
    return user.username if "." in user.username else f"{user.username}.bsky.social"


def did_doc(user: User, pds: str) -> dict[str, Any]:
    """A DID document as the PLC directory serves one."""
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1",
        ],
        "id": user.id,
        "alsoKnownAs": [f"at://{handle(user)}"],
        "verificationMethod": [
            {
                "id": f"{user.id}#atproto",
                "type": "Multikey",
                "controller": user.id,
                "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
            }
        ],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}],
    }


def routes(world: World) -> list[Any]:
    def find(identifier: str) -> User | None:
        ident = identifier.lower().lstrip("@")
        for (platform, _), user in world.users.items():
            if platform == "bluesky" and ident in (user.id, handle(user).lower(), user.email.lower()):
                return user
        return None

    def session(grant: Grant, user: User) -> dict[str, Any]:
        now = int(world.now())
        access = make_jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": user.id,
                "aud": "did:web:bsky.social",
                "iat": now,
                "exp": now + ACCESS_TTL_S,
            }
        )
        refresh = make_jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": user.id,
                "aud": "did:web:bsky.social",
                "jti": secrets.token_urlsafe(24),
                "iat": now,
                "exp": now + REFRESH_TTL_S,
            }
        )
        world.issue(grant, "access", ACCESS_TTL_S, value=access)
        world.issue(grant, "refresh", REFRESH_TTL_S, value=refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": handle(user),
            "did": user.id,
            "email": user.email,
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "active": True,
        }

    def presented(request: Request[Any, Any, Any], kind: str) -> tuple[Grant, User, Any]:
        header = request.headers.get("authorization", "")
        if header[:5].lower() == "dpop ":  # an atproto OAuth token, with its proof
            value = header[5:].strip()
            bluesky_oauth.check_resource(world, request, value)
            token = world.token("bluesky", value)
            if not world.live(token, kind):
                challenge = {"WWW-Authenticate": 'DPoP error="invalid_token"'}
                raise authz.SimError(reply({"error": "invalid_token", "message": "Invalid token"}, 401, challenge))
        else:
            token = world.token("bluesky", authz.presented_token(request))
            if token is not None and token.value in bluesky_oauth.server_of(world).bound:
                raise authz.SimError(  # a DPoP-bound token is nothing without a proof of its key
                    reply({"error": "invalid_token", "message": "DPoP-bound token used as a bearer token"}, 401)
                )
        if not world.live(token, kind):
            expired = token is not None and token.expires_at is not None and token.expires_at <= world.now()
            raise authz.SimError(DIALECT.invalid_token(expired))
        assert token is not None
        grant = world.grants[token.grant_id]
        user = world.user("bluesky", grant.user_id)
        assert user is not None
        return grant, user, token

    @post("/xrpc/com.atproto.server.createSession", opt={"endpoint": "createSession"}, status_code=200)
    async def create_session(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await json_of(request)
        if not body.get("identifier") or not body.get("password"):
            return _xrpc(400, "InvalidRequest", 'Input must have the properties "identifier" and "password"')
        user = find(str(body["identifier"]))
        if user is None or not user.app_password or body["password"] != user.app_password:
            return _xrpc(401, "AuthenticationRequired", "Invalid identifier or password")
        grant = world.new_grant("bluesky", "app_password", user.id, ("com.atproto.appPass",))
        return reply({**session(grant, user), "didDoc": did_doc(user, pds_of(request))})

    @post("/xrpc/com.atproto.server.refreshSession", opt={"endpoint": "refreshSession"}, status_code=200)
    async def refresh_session(request: Request[Any, Any, Any]) -> Response[Any]:
        grant, user, token = presented(request, "refresh")
        token.revoked = True  # refresh JWTs rotate
        body = session(grant, user)
        return reply({k: body[k] for k in ("accessJwt", "refreshJwt", "handle", "did", "active")})

    @get("/xrpc/com.atproto.server.getSession", opt={"endpoint": "getSession"})
    async def get_session(request: Request[Any, Any, Any]) -> Response[Any]:
        _, user, _ = presented(request, "access")
        return reply(
            {
                "handle": handle(user),
                "did": user.id,
                "email": user.email,
                "emailConfirmed": True,
                "emailAuthFactor": False,
                "active": True,
            }
        )

    @post("/xrpc/com.atproto.server.deleteSession", opt={"endpoint": "deleteSession"}, status_code=200)
    async def delete_session(request: Request[Any, Any, Any]) -> Response[Any]:
        grant, _, _ = presented(request, "refresh")
        world.revoke_grant(grant.id)
        return Response(content=b"", status_code=200)

    def pds_of(request: Request[Any, Any, Any]) -> str:
        here = str(request.base_url).rstrip("/") + "/bluesky"
        return str(world.setting("bluesky", "pds_endpoint", here))

    def account(request: Request[Any, Any, Any]) -> tuple[Grant, User]:
        grant, user, _ = presented(request, "access")
        return grant, user

    @get("/plc/{did:str}", opt={"endpoint": "plc"})
    async def did_document(request: Request[Any, Any, Any]) -> Response[Any]:
        did = request.path_params["did"]
        user = world.user("bluesky", did)
        if user is None:
            return reply({"message": f"DID not registered: {did}"}, 404)
        return reply(did_doc(user, pds_of(request)))

    @get("/xrpc/app.bsky.actor.getProfile", opt={"endpoint": "getProfile"})
    async def get_profile(request: Request[Any, Any, Any]) -> Response[Any]:
        presented(request, "access")
        if not world.setting("bluesky", "appview", True):
            return _xrpc(400, "InvalidRequest", "No service configured for app.bsky.actor.getProfile")
        actor = find(request.query_params.get("actor", ""))
        if actor is None:
            return _xrpc(400, "InvalidRequest", "Profile not found")
        return reply(
            {
                "did": actor.id,
                "handle": handle(actor),
                "displayName": actor.display_name,
                "description": "Simulated account",
                "avatar": actor.avatar_url,
                "followersCount": account_figures.figures("bluesky", actor.id)["followers"],
                "followsCount": account_figures.figures("bluesky", actor.id)["following"],
                "postsCount": account_figures.figures("bluesky", actor.id)["posts"],
                "indexedAt": "2025-01-01T00:00:00.000Z",
                "createdAt": "2024-01-01T00:00:00.000Z",
                "labels": [],
            }
        )

    return [
        create_session,
        refresh_session,
        get_session,
        delete_session,
        get_profile,
        did_document,
        *bluesky_repo.routes(world, find, account, handle),
        *post_engagement.bluesky_routes(world, account),
        *bluesky_oauth.routes(world),
    ]
