"""LinkedIn: OAuth 2.0 on www.linkedin.com/oauth/v2, OpenID userinfo on api.linkedin.com/v2, the
versioned REST API's organizationAcls and organizations (batch get), and publishing: the Posts API
(`POST /rest/posts`, `GET /rest/posts?q=author`) and a post's comments
(`POST`/`GET /rest/socialActions/{post urn}/comments`). Refresh tokens are not rotated: a refresh
answers the same one with its remaining lifetime.

Every `/rest/` call wants a `LinkedIn-Version` (426 VERSION_MISSING without one, 426
NONEXISTENT_VERSION for one that is not YYYYMM[.RR]). Posting checks what LinkedIn checks: the
author is the member (`w_member_social`) or an organization they administer
(`w_organization_social`), the commentary is little text (read as LinkedIn reads it, so a stray
reserved character cuts the post there, as it does on LinkedIn), at most 3000 characters (400),
and not the same text as one of the author's posts (422 DUPLICATE_POST). A post answers 201 with
its URN in `x-restli-id`; a comment (at most 1250 characters) answers 201 with the comment. With
the setting `comment_lag_s`, a post younger than that answers comments 404, as a post made a moment
ago does on LinkedIn. Errors are LinkedIn's `{"status", "serviceErrorCode", "code", "message"}`.

Both calls that create something (a post, a comment) are the endpoint `publish`: a fault there
hits whichever comes next, and tests count every creating call there. Listing posts is
`author_posts`, listing comments `comments`. Unlike LinkedIn, which wants r_member_social (granted
to few apps) to list a member's posts, the simulator shows the token's own member and
organizations their posts with any token, so a 403 there is a fault a test injects.

A post's `content` (images and videos uploaded through the Images and Videos APIs) is checked by
`linkedin_media`, whose routes are registered here; the post keeps its media ids in its answer's
`_sim.media_ids`, which LinkedIn never shows.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, get, post

from crier.platforms.linkedin import MAX_COMMENT, MAX_COMMENTARY, length, text_of
from crier.platforms.simulator import authz, linkedin_media
from crier.platforms.simulator.authz import Dialect, Rules, SimError, make_jwt, pages_spec, reply
from crier.platforms.simulator.http import form_of, query
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import Grant, User, World

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


def _refuse(status: int, code: str, message: str, service_code: int = 100) -> SimError:
    return SimError(DIALECT._rest(status, code, message, service_code))


def _invalid(field: str, message: str, code: str = "INVALID_VALUE") -> SimError:
    """A request the versioned API's schema refuses: 400 with the input that was wrong."""
    return SimError(
        reply(
            {
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": message,
                "errorDetails": {
                    "inputErrors": [
                        {"description": message, "input": {"inputPath": {"fieldPath": field}}, "code": code}
                    ]
                },
                "status": 400,
            },
            400,
        )
    )


def require_version(request: Request[Any, Any, Any]) -> None:
    version = request.headers.get("linkedin-version")
    if not version:
        raise SimError(
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
    if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])(\.\d{2})?", version):
        raise SimError(
            reply(
                {"status": 426, "code": "NONEXISTENT_VERSION", "message": f"Requested version {version} is not active"},
                426,
            )
        )


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


# -- publishing -------------------------------------------------------------------------------

VISIBILITIES = ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER")


def _ms(at: float) -> int:
    return int(at * 1000)


def speaker(grant: Grant, user: User, urn: Any) -> str | None:
    """The organization id `urn` names (None for the member himself), if the token may speak as
    it; LinkedIn's 403 otherwise."""
    if urn == f"urn:li:person:{user.id}":
        wanted, page = "w_member_social", None
    else:
        match = re.fullmatch(r"urn:li:organization:(\d+)", str(urn or ""))
        if match is None or not any(str(org["id"]) == match.group(1) for org in user.pages):
            raise _refuse(403, "ACCESS_DENIED", f"Member urn:li:person:{user.id} cannot act as {urn}")
        wanted, page = "w_organization_social", match.group(1)
    if wanted not in grant.scopes:
        raise _refuse(403, "ACCESS_DENIED", "Not enough permissions to access: partnerApiPostsExternal.CREATE")
    return page


def create_post(world: World, grant: Grant, user: User, body: dict[str, Any]) -> Post:
    """The Posts API's create, as far as a client can tell: who may post, the schema, duplicates."""
    page = speaker(grant, user, body.get("author"))
    little = body.get("commentary")
    if not isinstance(little, str):
        raise _invalid("/commentary", "commentary is required", "FIELD_REQUIRED")
    if body.get("visibility") not in VISIBILITIES:
        raise _invalid("/visibility", f"visibility must be one of {', '.join(VISIBILITIES)}")
    if body["visibility"] == "CONNECTIONS" and page is not None:
        raise _invalid("/visibility", "CONNECTIONS visibility is only for posts by a member")
    if body.get("lifecycleState") not in ("PUBLISHED", "DRAFT"):
        raise _invalid("/lifecycleState", "lifecycleState must be PUBLISHED or DRAFT")
    distribution = body.get("distribution")
    if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
        raise _invalid("/distribution/feedDistribution", "distribution.feedDistribution is required")
    if not isinstance(body.get("isReshareDisabledByAuthor", False), bool):
        raise _invalid("/isReshareDisabledByAuthor", "isReshareDisabledByAuthor must be a boolean")
    text = text_of(little)  # what LinkedIn keeps: cut at a stray reserved character
    if length(text) > MAX_COMMENTARY:
        raise _invalid(
            "/commentary",
            "com.linkedin.content.common.exception.BadRequestResponseException: ShareCommentary text length "
            f"({length(text)} characters) exceeded the maximum allowed ({MAX_COMMENTARY} characters)",
            "FIELD_LENGTH_TOO_LONG",
        )
    content = body.get("content")
    media_ids = linkedin_media.content_media(world, body["author"], content) if content is not None else []
    author = page or user.id
    # The same commentary with other media is not a duplicate.
    earlier = next(
        (
            p
            for p in world.posts.of("linkedin", author)
            if p.reply_to is None and p.text == text and p.request.get("content") == content
        ),
        None,
    )
    if earlier is not None and earlier.author == author:
        raise _refuse(422, "DUPLICATE_POST", f"Content is a duplicate of {earlier.id}", 0)
    urn = f"urn:li:share:{world.number(19)}"
    at = _ms(world.now())
    post = Post(platform="linkedin", id=urn, user_id=user.id, page_id=page, text=text, created_at=world.now())
    post.request = body
    post.response = {
        "id": urn,
        "author": body["author"],
        "commentary": little,
        "visibility": body["visibility"],
        "distribution": distribution,
        "lifecycleState": body["lifecycleState"],
        "lifecycleStateInfo": {"isEditedByAuthor": False},
        "isReshareDisabledByAuthor": body.get("isReshareDisabledByAuthor", False),
        "isEditedByAuthor": False,
        "createdAt": at,
        "publishedAt": at,
        "lastModifiedAt": at,
    }
    if content is not None:
        post.response["content"] = content
        post.response["_sim"] = {"media_ids": media_ids}
    return world.posts.add(post)


def create_comment(world: World, grant: Grant, user: User, on: str, body: dict[str, Any]) -> Post:
    page = speaker(grant, user, body.get("actor"))
    parent = world.posts.get("linkedin", on)
    lag_s = float(world.setting("linkedin", "comment_lag_s", 0))
    if parent is None or parent.created_at + lag_s > world.now():
        raise _refuse(404, "NOT_FOUND", f"Not Found: {on}", 0)
    if body.get("object", on) != on:
        raise _invalid("/object", f"object {body.get('object')} is not {on}")
    text = (body.get("message") or {}).get("text") if isinstance(body.get("message"), dict) else None
    if not isinstance(text, str) or not text.strip():
        raise _invalid("/message/text", "message.text is required", "FIELD_REQUIRED")
    if length(text) > MAX_COMMENT:
        raise _invalid(
            "/message/text",
            f"Comment text length ({length(text)} characters) exceeded the maximum allowed ({MAX_COMMENT} characters)",
            "FIELD_LENGTH_TOO_LONG",
        )
    comment_id = world.number(19)
    urn = f"urn:li:comment:({on},{comment_id})"
    stamp = {"actor": body["actor"], "time": _ms(world.now())}
    if page is not None:
        stamp["impersonator"] = f"urn:li:person:{user.id}"
    post = Post(
        platform="linkedin",
        id=urn,
        user_id=user.id,
        page_id=page,
        text=text,
        created_at=world.now(),
        reply_to=on,
        request=body,
    )
    post.response = {
        "id": comment_id,
        "commentUrn": urn,
        "$URN": urn,
        "actor": body["actor"],
        "agent": f"urn:li:person:{user.id}",
        "object": on,
        "message": {"text": text, "attributes": []},
        "created": stamp,
        "lastModified": stamp,
    }
    return world.posts.add(post)


def _page_of(items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    start = max(0, int(params.get("start") or 0))
    count = max(1, min(100, int(params.get("count") or 10)))
    return {"elements": items[start : start + count], "paging": {"start": start, "count": count, "links": []}}


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

    @post("/rest/posts", opt={"endpoint": "publish"}, status_code=201)
    async def create(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        grant, user = user_of(request)
        made = create_post(world, grant, user, await payload(request))
        return Response(content=b"", status_code=201, headers={"x-restli-id": made.id, "x-linkedin-id": made.id})

    @get("/rest/posts", opt={"endpoint": "author_posts"})
    async def author_posts(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        _, user = user_of(request)
        params = query(request)
        if params.get("q") != "author":
            return DIALECT._rest(400, "ILLEGAL_ARGUMENT", "q must be author", 100)
        author = unquote(params.get("author", ""))
        orgs = {f"urn:li:organization:{org['id']}": str(org["id"]) for org in user.pages}
        if author != f"urn:li:person:{user.id}" and author not in orgs:
            return DIALECT._rest(
                403, "ACCESS_DENIED", "Not enough permissions to access: partnerApiPostsExternal.FINDER-author", 100
            )
        key = orgs.get(author, user.id)
        roots = [p for p in world.posts.of("linkedin", key) if p.reply_to is None and p.author == key]
        newest = sorted(roots, key=lambda p: p.created_at, reverse=True)
        shown = [{k: v for k, v in p.response.items() if k != "_sim"} for p in newest]
        return reply(_page_of(shown, params))

    @post("/rest/socialActions/{on:str}/comments", opt={"endpoint": "publish"}, status_code=201)
    async def comment(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        grant, user = user_of(request)
        on = unquote(request.path_params["on"])
        made = create_comment(world, grant, user, on, await payload(request))
        return reply(made.response, 201, {"x-restli-id": made.response["id"]})

    @get("/rest/socialActions/{on:str}/comments", opt={"endpoint": "comments"})
    async def comments(request: Request[Any, Any, Any]) -> Response[Any]:
        require_version(request)
        user_of(request)
        on = unquote(request.path_params["on"])
        if world.posts.get("linkedin", on) is None:
            return DIALECT._rest(404, "NOT_FOUND", f"Not Found: {on}", 0)
        made = [p.response for p in world.posts.of("linkedin") if p.reply_to == on]
        return reply(_page_of(made, query(request)))

    return [
        authorize,
        token,
        revoke,
        userinfo,
        acls,
        organizations,
        create,
        author_posts,
        comment,
        comments,
        *linkedin_media.routes(world),
    ]
