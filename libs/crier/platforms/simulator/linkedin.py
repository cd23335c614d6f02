"""LinkedIn: OAuth 2.0 on www.linkedin.com/oauth/v2, OpenID userinfo on api.linkedin.com/v2, and
the versioned REST API's organizationAcls and organizations (batch get). Refresh tokens are not
rotated: a refresh answers the same one with its remaining lifetime."""

from __future__ import annotations

import re
import secrets
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms.simulator import authz
from crier.platforms.simulator.authz import Dialect, Rules, make_jwt, pages_spec, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.world import World

RULES = Rules(
    platform="linkedin", access_ttl_s=60 * 86400, refresh_ttl_s=365 * 86400, access_prefix="AQV", refresh_prefix="AQX"
)
ORG_READ = {"r_organization_admin", "rw_organization_admin"}


class LinkedInDialect(Dialect):
    def _rest(
        self, status: int, code: str, message: str, service_code: int, headers: dict[str, str] | None = None
    ) -> Response[Any]:
        return reply(
            {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}, status, headers
        )

    def invalid_token(self, expired: bool) -> Response[Any]:
        return self._rest(
            401,
            "EXPIRED_ACCESS_TOKEN" if expired else "INVALID_ACCESS_TOKEN",
            "The token used in the request has expired" if expired else "Invalid access token",
            65600,
        )

    def rate_limited(self, retry_after: int) -> Response[Any]:
        return self._rest(
            429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached", 101, {"Retry-After": str(retry_after)}
        )

    def server_error(self, status: int) -> Response[Any]:
        return self._rest(status, "INTERNAL_SERVER_ERROR", "Internal Server Error", 0)

    def rejected(self) -> Response[Any]:
        return self._rest(422, "UNPROCESSABLE_ENTITY", "Content is a duplicate of urn:li:share:0", 0)


DIALECT = LinkedInDialect()


def new_user_id(world: World) -> str:
    return secrets.token_urlsafe(7).replace("-", "a").replace("_", "b")


def make_pages(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, page in enumerate(pages_spec(spec, 0), 1):
        name = page.get("name") or f"{spec.get('username', 'Acme')} Org {i}"
        out.append(
            {
                "id": int(page.get("id") or world.number(8)),
                "localizedName": name,
                "vanityName": page.get("vanity_name") or re.sub(r"\W+", "-", name.lower()).strip("-"),
            }
        )
    return out


def routes(world: World) -> list[Any]:
    def token_body(grant: Any, access: Any, refresh: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": authz.expires_in(world, access),
            "scope": ",".join(grant.scopes),
            "token_type": "Bearer",
        }
        if refresh is not None:
            body["refresh_token"] = refresh.value
            body["refresh_token_expires_in"] = authz.expires_in(world, refresh)
        return body

    def user_of(request: Request[Any, Any, Any]) -> tuple[Any, Any]:
        _, grant = authz.bearer(world, "linkedin", DIALECT, request)
        return grant, world.user("linkedin", grant.user_id)

    @get("/oauth/v2/authorization", opt={"endpoint": "authorize"})
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        return authz.authorize(world, RULES, query(request))

    @post("/oauth/v2/accessToken", opt={"endpoint": "token"}, status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        app = authz.client(world, RULES, DIALECT, request, form)
        if form.get("grant_type") == "authorization_code":
            grant, access, refresh = authz.exchange(world, RULES, DIALECT, app, form)
            body = token_body(grant, access, refresh)
            if "openid" in grant.scopes:
                user = world.user("linkedin", grant.user_id)
                body["id_token"] = make_jwt(
                    {
                        "iss": "https://www.linkedin.com/oauth",
                        "aud": app.client_id,
                        "sub": grant.user_id,
                        "iat": int(world.now()),
                        "exp": int(world.now()) + 3600,
                        "name": user.display_name if user else "",
                    }
                )
            return reply(body)
        if form.get("grant_type") == "refresh_token":
            grant, access, refresh = authz.refresh(world, RULES, DIALECT, app, form.get("refresh_token", ""))
            return reply(token_body(grant, access, refresh))
        return DIALECT.oauth_error("unsupported_grant_type", "grant_type is not supported")

    @post("/oauth/v2/revoke", opt={"endpoint": "revoke"}, status_code=200)
    async def revoke(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await form_of(request)
        authz.client(world, RULES, DIALECT, request, form)
        authz.revoke(world, "linkedin", form.get("token", ""))
        return Response(content=b"", status_code=200)

    @get("/v2/userinfo", opt={"endpoint": "userinfo"})
    async def userinfo(request: Request[Any, Any, Any]) -> Response[Any]:
        grant, user = user_of(request)
        first, _, last = user.display_name.partition(" ")
        body: dict[str, Any] = {
            "sub": user.id,
            "name": user.display_name,
            "given_name": first,
            "family_name": last or first,
            "picture": user.avatar_url,
            "locale": {"country": "US", "language": "en"},
        }
        if "email" in grant.scopes:
            body |= {"email": user.email, "email_verified": True}
        return reply(body)

    def require_version(request: Request[Any, Any, Any]) -> None:
        if not request.headers.get("linkedin-version"):
            raise authz.SimError(
                reply(
                    {
                        "status": 426,
                        "code": "VERSION_MISSING",
                        "message": "A version must be present. Please specify a version by adding "
                        "the LinkedIn-Version header.",
                    },
                    426,
                )
            )

    @get("/rest/organizationAcls", opt={"endpoint": "organizationAcls"})
    async def acls(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        grant, user = user_of(request)
        if not ORG_READ & set(grant.scopes):
            return DIALECT._rest(403, "ACCESS_DENIED", "Not enough permissions to access: organizationAcls.GET", 100)
        start, count = int(request.query_params.get("start", 0)), int(request.query_params.get("count", 10))
        role = request.query_params.get("role", "ADMINISTRATOR")
        elements = [
            {
                "roleAssignee": f"urn:li:person:{user.id}",
                "state": "APPROVED",
                "role": role,
                "organization": f"urn:li:organization:{org['id']}",
            }
            for org in user.pages
        ]
        return reply(
            {
                "paging": {"start": start, "count": count, "links": [], "total": len(elements)},
                "elements": elements[start : start + count],
            }
        )

    @get("/rest/organizations", opt={"endpoint": "organizations"})
    async def organizations(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        _, user = user_of(request)
        match = re.fullmatch(r"List\(([^)]*)\)", request.query_params.get("ids", ""))
        if match is None:
            return DIALECT._rest(400, "ILLEGAL_ARGUMENT", "ids must be List(...)", 100)
        orgs = {str(o["id"]): o for o in user.pages}
        ids = [i for i in match.group(1).split(",") if i]
        return reply(
            {
                "results": {
                    i: {"id": int(i), "localizedName": orgs[i]["localizedName"], "vanityName": orgs[i]["vanityName"]}
                    for i in ids
                    if i in orgs
                },
                "statuses": {i: 200 if i in orgs else 404 for i in ids},
                "errors": {i: {"status": 404, "message": "Not Found"} for i in ids if i not in orgs},
            }
        )

    return [authorize, token, revoke, userinfo, acls, organizations]
