"""LinkedIn: 3-legged OAuth 2.0, the member's profile from OpenID Connect userinfo, the
organizations (company pages) the member administers from organizationAcls, and publishing with
the Posts API and the comments of socialActions.

- No PKCE for server-side apps; client id and secret go in the form body.
- Access tokens live 60 days. Refresh tokens (365 days) exist only for apps LinkedIn enabled them
  for; refreshing does not extend the refresh token's life, and LinkedIn may or may not resend it,
  so a refresh that returns no refresh token means "keep the one you have".
- Member and organization accounts are both connectable (`multi_account`): the member posts as
  `urn:li:person:<sub>`, an organization as `urn:li:organization:<id>`; those URNs are the
  accounts' network ids because the Posts API takes them as `author`.
- The versioned REST API (`/rest/...`) wants `LinkedIn-Version` (YYYYMM; each version lives about a
  year, then answers 426 NONEXISTENT_VERSION) and `X-Restli-Protocol-Version: 2.0.0`. The version
  is a setting (`CRIER_LINKEDIN_VERSION`, `PlatformSettings.linkedin_version`), never frozen here.

Publishing (`publisher`, `rules`):
- `POST /rest/posts` {author, commentary, visibility, distribution, lifecycleState,
  isReshareDisabledByAuthor} answers 201 with no body: the post's URN (`urn:li:share:…`) is the
  `x-restli-id` header. The first comment is `POST /rest/socialActions/{post urn}/comments`
  {actor, object, message.text}, answered with the comment (its `commentUrn`). There are no native
  reply threads: containers 2+ are refused by the rules. `config.linkedin` (`visibility` PUBLIC or
  CONNECTIONS, `disable_reshare`) applies to the post; CONNECTIONS is a member's network, so an
  organization's post with it is refused at create (`rules.for_account` of an `organization`
  account) and, should one get this far, before any call.
- `commentary` is "little text": `\\ | { } @ [ ] ( ) < > # * _ ~` are markup and must be escaped
  with a backslash, or LinkedIn silently cuts the post at the first stray one. `#word` is sent as
  the hashtag template `{hashtag|\\#|word}` so it stays a hashtag. Comments are plain text.
- Lengths are counted the way LinkedIn's Java services count a string, in UTF-16 code units, on the
  text the reader sees (escapes do not count): 3000 for a post, 1250 for a comment. Too long is a
  400 ("ShareCommentary text length (N characters) exceeded the maximum allowed (3000 characters)").
- The same commentary twice from one author is refused with 422 DUPLICATE_POST, "Content is a
  duplicate of urn:li:share:…" (`ContentRejected`, `duplicate_content`).
- A comment on a post made a moment ago can answer 404 for a few seconds (the post is not yet
  visible to the comments service): retried, not a permanent `not_found`.
- Rate limits are per day, reset at midnight UTC, and a 429 often carries no Retry-After: the wait
  is then until midnight UTC when LinkedIn names a DAY limit.
- Media (`linkedin_media`): images through the Images API (`content.media` with `altText`, or
  `content.multiImage` for 2 to 20), one video through the Videos API (uploaded in parts,
  finalized, then waited for until AVAILABLE; `config.linkedin.video_title` is its title). Images
  are JPEG, PNG or GIF of at most 36,152,320 pixels; a video MP4 of 3 s to 30 min and 75 KB to
  500 MB; images and a video never mix; the first comment stays text. A post of media alone is
  fine (the commentary is then empty).
- Reading an author's posts (`GET /rest/posts?q=author`) and a post's comments needs
  r_member_social (granted to few apps) or r_organization_social. `find_published` looks there.
  A post it cannot see there (refused with 403, or not listed yet) it posts again: LinkedIn's
  duplicate check then names the post whose answer was lost, which is adopted, so the post is made
  once either way. A comment it cannot see keeps LinkedIn's refusal: comments have no such check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
import msgspec

from crier.contracts.common import AccountLimits, Container
from crier.kit.errors import Problem
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.base import (
    ContentRejected,
    NotSupported,
    OutcomeUnknown,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    RateLimited,
    TransientError,
    posted_since,
)
from crier.platforms.linkedin_media import LinkedInMedia, media_in
from crier.platforms.media_rules import MB, NO_MEDIA, MediaLimits
from crier.platforms.oauth import ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet
from crier.platforms.rules import Rules

ORG_SCOPES = frozenset({"r_organization_admin", "rw_organization_admin", "w_organization_social"})
API_BASE = "https://api.linkedin.com"
RESTLI_PROTOCOL = "2.0.0"


def rest_headers(version: str) -> dict[str, str]:
    """The headers every call to the versioned REST API (`/rest/...`) carries."""
    return {"LinkedIn-Version": version, "X-Restli-Protocol-Version": RESTLI_PROTOCOL}


class LinkedInProvider(CodeFlowProvider):
    platform = "linkedin"
    multi_account = True
    default_scopes = ("openid", "profile", "email", "w_member_social", "r_organization_admin", "w_organization_social")
    real_endpoints = PlatformEndpoints(
        auth_base="https://www.linkedin.com",
        api_base=API_BASE,
    )
    authorize_path = "/oauth/v2/authorization"
    token_path = "/oauth/v2/accessToken"
    revoke_path = "/oauth/v2/revoke"
    token_host = "auth"

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, version: str | None = None) -> None:
        super().__init__(endpoints)
        self.version = version or PlatformSettings().linkedin_version

    def configured(self, settings: PlatformSettings) -> LinkedInProvider:
        """The same provider calling the REST API with the operator's `CRIER_LINKEDIN_VERSION`."""
        return LinkedInProvider(self.endpoints, version=settings.linkedin_version)

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        if isinstance(body, dict) and "serviceErrorCode" in body:
            # REST errors: {"status", "serviceErrorCode", "code", "message"}.
            body = {
                "error": body.get("code") or f"service_error_{body['serviceErrorCode']}",
                "error_description": body.get("message"),
            }
        return super().classify(status, body, context)

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        me = await self.get(http, "api", "/v2/userinfo", access_token)
        return ConnectableAccount(
            network_unique_id=f"urn:li:person:{me['sub']}",
            username=None,  # LinkedIn exposes no public handle to API clients
            display_name=me.get("name"),
            account_type="profile",
            profile_image_url=me.get("picture"),
            extra={"email": me.get("email"), "locale": me.get("locale")},
        )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        member = await self.identity(http, tokens.access_token)
        if tokens.scopes and not ORG_SCOPES & set(tokens.scopes):
            return [member]
        return [member, *await self.organizations(http, tokens.access_token)]

    async def organizations(self, http: httpx.AsyncClient, access_token: str) -> list[ConnectableAccount]:
        headers = rest_headers(self.version)
        urns: list[str] = []
        start = 0
        while True:
            page = await self.get(
                http,
                "api",
                "/rest/organizationAcls",
                access_token,
                headers=headers,
                params={
                    "q": "roleAssignee",
                    "role": "ADMINISTRATOR",
                    "state": "APPROVED",
                    "start": str(start),
                    "count": "100",
                },
            )
            elements = page.get("elements") or []
            urns += [e["organization"] for e in elements if e.get("organization")]
            total = (page.get("paging") or {}).get("total")
            start += len(elements)
            if not elements or total is None or start >= total:
                break
        if not urns:
            return []
        ids = [urn.rsplit(":", 1)[1] for urn in urns]
        # Rest.li 2.0 batch get: the List(...) must not be URL-encoded.
        found = await self.get(
            http, "api", f"/rest/organizations?ids=List({','.join(ids)})", access_token, headers=headers
        )
        results = found.get("results") or {}
        out = []
        for urn, org_id in zip(urns, ids, strict=True):
            org = results.get(org_id) or {}
            out.append(
                ConnectableAccount(
                    network_unique_id=urn,
                    username=org.get("vanityName"),
                    display_name=org.get("localizedName"),
                    account_type="organization",
                    extra={"organization_id": org_id},
                )
            )
        return out


provider = LinkedInProvider()


# -- little text ------------------------------------------------------------------------------

RESERVED = frozenset("\\|{}@[]()<>#*_~")
_RESERVED = re.compile(r"[\\|{}@\[\]()<>#*_~]")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
# `#word` of letters and digits, with a letter, not inside a word ("C#", "page#anchor").
_HASHTAG = re.compile(r"(?<![\w#&])#(?=[^\W_]*[^\W\d_])([^\W_]+)(?!\w)")
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?[#\uff03]\|([^{}|]*)\}")
_MENTION = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\(urn:li:(?:person|organization):[^()\s]+\)")


def _escaped(text: str) -> str:
    return _RESERVED.sub(lambda m: "\\" + m.group(), text)


def _with_hashtags(text: str) -> str:
    out, last = [], 0
    for tag in _HASHTAG.finditer(text):
        out += [_escaped(text[last : tag.start()]), "{hashtag|\\#|" + tag.group(1) + "}"]
        last = tag.end()
    return "".join([*out, _escaped(text[last:])])


def commentary(text: str) -> str:
    """A post's text as little text: every reserved character escaped, `#word` a hashtag (not
    inside links, whose `#fragment` is part of the address)."""
    out, last = [], 0
    for link in _LINK.finditer(text):
        out += [_with_hashtags(text[last : link.start()]), _escaped(link.group())]
        last = link.end()
    return "".join([*out, _with_hashtags(text[last:])])


def text_of(little: str) -> str:
    """What readers see of a little text: escapes undone, hashtags as `#word`, mentions as the
    name. Like LinkedIn, it stops at a reserved character that starts no element."""
    out: list[str] = []
    i = 0
    while i < len(little):
        char = little[i]
        if char == "\\" and i + 1 < len(little):
            out.append(little[i + 1])
            i += 2
            continue
        element = (
            _HASHTAG_TEMPLATE.match(little, i) if char == "{" else _MENTION.match(little, i) if char == "@" else None
        )
        if element is not None:
            out.append(("#" if char == "{" else "") + text_of(element.group(1)))
            i = element.end()
            continue
        bare_tag = _HASHTAG.match(little, i) if char == "#" else None
        if bare_tag is not None:
            out.append(bare_tag.group())
            i = bare_tag.end()
            continue
        if char in RESERVED:
            break
        out.append(char)
        i += 1
    return "".join(out)


# -- what a post may be -----------------------------------------------------------------------

MAX_COMMENTARY = 3000
MAX_COMMENT = 1250
# The Images API's limit on an image's size, in pixels (width x height).
MAX_IMAGE_PIXELS = 36_152_320


def length(text: str) -> int:
    """Characters as LinkedIn counts them: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


class LinkedInConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # LinkedIn's own words: PUBLIC (anyone) or CONNECTIONS (a member's 1st-degree network).
    visibility: Literal["PUBLIC", "CONNECTIONS"] | None = None
    # isReshareDisabledByAuthor: nobody can reshare the post.
    disable_reshare: bool | None = None
    # A video post's `content.media.title`.
    video_title: str | None = None


class LinkedInRules(Rules):
    platform = "linkedin"
    config_type = LinkedInConfig
    first_comment = True
    thread = False
    max_length = MAX_COMMENTARY
    text_required = False
    # The Images and Videos APIs: images JPEG, PNG or GIF (one GIF), up to 20 in a multi-image
    # post; one MP4 video of 3 s to 30 min and 75 KB to 500 MB; no mixing; alt text 4086.
    media = MediaLimits(
        max_items=20,
        types=frozenset({"image", "gif", "video"}),
        image_mimes=frozenset({"image/jpeg", "image/png", "image/gif"}),
        video_mimes=frozenset({"video/mp4"}),
        video_max_bytes=500 * MB,
        video_min_bytes=75 * 1024,
        min_duration_s=3,
        max_duration_s=30 * 60,
        max_alt_text=4086,
    )
    reply_media = NO_MEDIA

    def length(self, text: str) -> int:
        return length(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if index == 1 and self.length(container.content) > MAX_COMMENT:
            problems = [p for p in problems if p.code != "too_long"] + [
                Problem(
                    f"containers[{index}].content",
                    "too_long",
                    f"{self.length(container.content)} characters as linkedin counts them; "
                    f"at most {MAX_COMMENT} in a comment",
                )
            ]
        return problems + [
            Problem(
                f"containers[{index}].media[{i}]",
                "media_dimensions",
                f"{m.width}x{m.height} is over linkedin's {MAX_IMAGE_PIXELS:,} pixels",
            )
            for i, m in enumerate(container.media)
            if m.type in ("image", "gif") and m.width and m.height and m.width * m.height > MAX_IMAGE_PIXELS
        ]

    def for_account(self, account_type: str | None, limits: AccountLimits) -> Rules:
        return organization_rules if account_type == "organization" else self


class OrganizationRules(LinkedInRules):
    """An organization (a company page) posts to its followers: it has no connections."""

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        return _organization_problems(config)


rules = LinkedInRules()
organization_rules = OrganizationRules()


def author_problems(config: LinkedInConfig, author: str) -> list[Problem]:
    """What `config.linkedin` cannot do for this author, by its URN: the adapter's own check before
    its call (the publisher has held the post to the account's rules already)."""
    return [] if author.startswith("urn:li:person:") else _organization_problems(config)


def _organization_problems(config: LinkedInConfig) -> list[Problem]:
    if config.visibility == "CONNECTIONS":
        return [
            Problem(
                "config.linkedin.visibility",
                "invalid_config",
                "CONNECTIONS is a member's network: an organization posts PUBLIC",
            )
        ]
    return []


# -- publishing -------------------------------------------------------------------------------

_DUPLICATE_OF = re.compile(r"duplicate of (urn:li:[A-Za-z]+:\d+)", re.IGNORECASE)
# "Resource level throttle MEMBER DAY limit for calls to this resource is reached."
_DAY_LIMIT = re.compile(r"\bDAY limit\b", re.IGNORECASE)


def _until_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    said = ph.message_of(body) or f"HTTP {resp.status_code}"
    code = body.get("code") if isinstance(body, dict) else None
    if resp.status_code == 422 and (code == "DUPLICATE_POST" or _DUPLICATE_OF.search(said)):
        return ContentRejected(said, code="duplicate_content")
    if resp.status_code == 426 or code in ("VERSION_MISSING", "NONEXISTENT_VERSION"):
        return PlatformError(
            f"{said} (LinkedIn-Version {resp.request.headers.get('linkedin-version')!r}: set CRIER_LINKEDIN_VERSION)",
            code="api_version_rejected",
        )
    if resp.status_code == 404 and resp.request.method == "POST" and resp.request.url.path.endswith("/comments"):
        return TransientError(f"linkedin does not show the post to comment on yet: {said}", code="not_found_yet")
    if resp.status_code == 429 and "retry-after" not in resp.headers and _DAY_LIMIT.search(said):
        return RateLimited(f"linkedin rate limit: {said}", retry_after_s=_until_midnight_utc())
    return None


def _post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _comment_url(post_urn: str, comment_urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{post_urn}/?commentUrn={quote(comment_urn, safe='')}"


def _comparable(text: str) -> str:
    return " ".join(text.split())


def _author(ctx: PublishContext) -> str:
    account = ph.account_of(ctx)
    return str(account.extra.get("author") or account.network_unique_id)


def _at(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if isinstance(ms, int | float) else None


class LinkedInAdapter:
    name = "linkedin"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings
        self.media = LinkedInMedia(http, settings, self._call)

    async def _call(self, ctx: PublishContext, method: str, path: str, **kwargs: Any) -> tuple[Any, httpx.Headers]:
        """The parsed answer and its headers (a post's URN comes back as a header only)."""
        answered: list[httpx.Headers] = []

        def classify(resp: httpx.Response, body: Any) -> PlatformError | None:
            answered.append(resp.headers)
            return _publishing_error(resp, body)

        headers = {**ph.bearer(ph.account_of(ctx).access_token), **rest_headers(self.settings.linkedin_version)}
        body = await ph.send(
            self.http,
            "linkedin",
            method,
            self.settings.base("linkedin", API_BASE) + path,
            classify=classify,
            headers=headers,
            timeout=self.settings.timeout_s,
            **kwargs,
        )
        return body, answered[-1]

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        if index == 0:
            return await self._post(ctx, container)
        if index > 1 or parent is None:
            raise NotSupported("linkedin has no threads of replies, only a first comment", code="thread_unsupported")
        return await self._comment(ctx, container, parent)

    async def _post(self, ctx: PublishContext, container: Container) -> PublishedContainer:
        author = _author(ctx)
        options, problems = rules.config(ctx.config)
        if isinstance(options, LinkedInConfig):
            problems += author_problems(options, author)
        if problems or not isinstance(options, LinkedInConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        body = {
            "author": author,
            "commentary": commentary(container.content),
            "visibility": options.visibility or "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": bool(options.disable_reshare),
        }
        content = await self.media.content(ctx, container, author, options.video_title)
        if content is not None:
            body["content"] = content
        _, headers = await self._call(ctx, "POST", "/rest/posts", json=body)
        urn = headers.get("x-restli-id") or headers.get("x-linkedin-id")
        if not urn:
            raise OutcomeUnknown("linkedin answered the post without its id (x-restli-id); it was probably made")
        return PublishedContainer(urn, _post_url(urn))

    async def _comment(
        self, ctx: PublishContext, container: Container, parent: PublishedContainer
    ) -> PublishedContainer:
        post = parent.platform_post_id
        body = {"actor": _author(ctx), "object": post, "message": {"text": container.content}}
        made, headers = await self._call(ctx, "POST", f"/rest/socialActions/{quote(post, safe='')}/comments", json=body)
        made = made if isinstance(made, dict) else {}
        urn = made.get("commentUrn") or made.get("$URN")
        if not urn and (made.get("id") or headers.get("x-restli-id")):
            urn = f"urn:li:comment:({made.get('object') or post},{made.get('id') or headers['x-restli-id']})"
        if not urn:
            raise OutcomeUnknown("linkedin answered the comment without its id; it was probably made")
        return PublishedContainer(str(urn), _comment_url(post, str(urn)))

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The comment on `parent` with this text by the author, made since the container was first
        sent; for the post, the author's newest post with this text made since then, or else the
        post LinkedIn's duplicate check names (see `_post_unless_duplicate`)."""
        if index > 0:
            return await self._find_comment(ctx, container, parent) if parent is not None else None
        uploaded = self.media.uploaded(ctx, container)
        if container.media and uploaded is None:
            return None  # the post is made only once all its media is uploaded and saved
        author, want = _author(ctx), _comparable(container.content)
        params = {"q": "author", "author": author, "count": "50", "sortBy": "CREATED"}
        try:
            found, _ = await self._call(ctx, "GET", "/rest/posts", params=params)
        except PlatformError as refused:
            if refused.code != "missing_permission":
                raise
            found = None  # the app may not read the author's posts (r_member_social is rare)
        older = set()
        for post in found.get("elements", []) if isinstance(found, dict) else []:
            if post.get("author") != author or _comparable(text_of(post.get("commentary") or "")) != want:
                continue
            if container.media and media_in(post.get("content")) != uploaded:
                continue  # the same words with other media (or none): another post
            if posted_since(_at(post.get("createdAt")), ctx.sent_at):
                return PublishedContainer(str(post["id"]), _post_url(str(post["id"])))
            older.add(str(post["id"]))
        return await self._post_unless_duplicate(ctx, container, older)

    async def _post_unless_duplicate(
        self, ctx: PublishContext, container: Container, older: set[str]
    ) -> PublishedContainer:
        # Not shown (the app may not read the author's posts, or LinkedIn does not list it yet), so
        # LinkedIn's own check answers: it refuses the same commentary twice and names the post it
        # has, which is the post whose answer was lost, unless it is one seen made before that.
        try:
            return await self._post(ctx, container)
        except ContentRejected as refused:
            earlier = _DUPLICATE_OF.search(refused.message)
            if refused.code != "duplicate_content" or earlier is None or earlier.group(1) in older:
                raise
            return PublishedContainer(earlier.group(1), _post_url(earlier.group(1)))

    async def _find_comment(
        self, ctx: PublishContext, container: Container, parent: PublishedContainer
    ) -> PublishedContainer | None:
        post = parent.platform_post_id
        found, _ = await self._call(
            ctx, "GET", f"/rest/socialActions/{quote(post, safe='')}/comments", params={"count": "100"}
        )
        author, want = _author(ctx), _comparable(container.content)
        matches = [
            c
            for c in (found.get("elements", []) if isinstance(found, dict) else [])
            if c.get("actor") == author
            and _comparable((c.get("message") or {}).get("text") or "") == want
            and posted_since(_at((c.get("created") or {}).get("time")), ctx.sent_at)
        ]
        if not matches:
            return None
        newest = max(matches, key=lambda c: (c.get("created") or {}).get("time") or 0)
        urn = str(newest.get("commentUrn") or newest.get("$URN") or f"urn:li:comment:({post},{newest['id']})")
        return PublishedContainer(urn, _comment_url(post, urn))


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> LinkedInAdapter:
    return LinkedInAdapter(http, settings)
