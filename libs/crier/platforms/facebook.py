"""Facebook Pages: Facebook Login, then one connectable account per Page the user manages, and
publishing on a Page's feed as the Page.

- The Login dialog lives on www.facebook.com, everything else on the Graph API; there is no PKCE and
  no refresh token. The code buys a short-lived user token (about 1-2 hours), which is exchanged
  at once (`grant_type=fb_exchange_token`) for a long-lived one (about 60 days).
- Pages come from `/me/accounts`, each with its own Page access token; a Page token obtained with
  a long-lived user token does not expire, so Page accounts carry their token and no expiry.
- `refresh` exchanges a still-valid long-lived user token for a fresh one (Facebook's only way to
  extend it); once it has expired or the user removed the app, only a new login helps.
- `revoke` removes the app's permissions for the user (`DELETE /me/permissions`): pass the user
  token, which also invalidates every Page token derived from it.
- Every Graph path carries the API version (`CRIER_GRAPH_API_VERSION`); Graph errors are read by
  their `code` (see `_graph`).

Publishing (`publisher`, `rules`):
- Only a Page publishes (a profile's feed closed to apps in 2018), with the Page's own token
  (`extra.token_owner == "page"`): `POST /{version}/{page-id}/feed` with `message` and, from
  `config.facebook.link`, a `link` whose preview card Facebook shows under the message.
- The first comment is `POST /{post-id}/comments`; a thread's third part is a reply to that
  comment (`POST /{comment-id}/comments`). Facebook comments go one reply deep: a reply to a
  reply is filed under the top-level comment, not under the reply, so a fourth container could
  not reply to the third and `rules` refuse posts of more than three containers.
- A post's message may be 63,206 characters and a comment's 8,000, counted in UTF-16 code units
  (an emoji outside the Basic Multilingual Plane counts two). A Page's post repeating its previous
  post word for word is refused (#506, `duplicate`).
- The answers carry only the new object's `id` (`<page>_<post>` for a post, `<post>_<comment>` for
  a comment); the URLs are built from them.
- `find_published` reads the Page's feed (`GET /{page-id}/feed`) or the comments under the parent
  (`GET /{object-id}/comments`), newest first, and adopts the Page's own post with the same text;
  a video post is found through the video the stage names.

Media (uploaded by Crier, see `facebook_media`): up to 10 photos (JPEG, PNG, GIF, WebP, BMP, TIFF,
10 MB each, alt text as `alt_text_custom`) gathered in one feed post, or one video alone (MP4 or MOV,
up to 10 GB and 240 minutes) posted by Facebook once processed; a post of media alone needs no
text, a post with media shares no `link`, and comments stay text. Meta documents no length for alt
text; Crier holds it to 1,000 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx
import msgspec

from crier.contracts.common import Container, Platform
from crier.kit.errors import Problem
from crier.platforms import _graph
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms import facebook_media as fm
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms._graph import graph_error
from crier.platforms._graph_adapter import GraphAdapter
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    posted_since,
)
from crier.platforms.media_rules import MB, NO_MEDIA, MediaLimits
from crier.platforms.oauth import AppCredentials, ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet
from crier.platforms.rules import Rules

__all__ = ["FacebookProvider", "graph_error", "provider", "publisher", "rules"]

GRAPH = "https://graph.facebook.com"
# Facebook takes video uploads on a host of their own.
GRAPH_VIDEO = "https://graph-video.facebook.com"


class FacebookProvider(CodeFlowProvider):
    platform: ClassVar[Platform] = "facebook"
    multi_account = True
    default_scopes: ClassVar[tuple[str, ...]] = (
        "public_profile",
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
        # A Page comments (the first comment, a thread's reply) with these, and reads its comments.
        "pages_manage_engagement",
        "pages_read_user_content",
        "business_management",
    )
    real_endpoints = PlatformEndpoints(auth_base="https://www.facebook.com", api_base=GRAPH)
    scope_separator = ","
    page_fields = "id,name,username,category,access_token,tasks,picture{url}"

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, graph_version: str | None = None) -> None:
        super().__init__(endpoints)
        self.graph_version = graph_version or PlatformSettings().graph_api_version

    def configured(self, settings: PlatformSettings) -> FacebookProvider:
        """The same provider calling another Graph API version (`CRIER_GRAPH_API_VERSION`)."""
        return type(self)(self.endpoints, graph_version=settings.graph_api_version)

    @property
    def authorize_path(self) -> str:  # type: ignore[override]
        return f"/{self.graph_version}/dialog/oauth"

    @property
    def token_path(self) -> str:  # type: ignore[override]
        return f"/{self.graph_version}/oauth/access_token"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return graph_error(status, body, context)

    def graph(self, path: str) -> str:
        return self.url("api", f"/{self.graph_version}{path}")

    async def _token_get(self, http: httpx.AsyncClient, params: dict[str, str]) -> Any:
        return await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", self.token_path),
            context="token",
            classify=self.classify,
            params=params,
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        short = await self._token_get(
            http,
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": app.redirect_uri,
                "code": code,
            },
        )
        return await self.refresh(http, app, short["access_token"])

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await self._token_get(
            http,
            {
                "grant_type": "fb_exchange_token",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "fb_exchange_token": refresh_token,
            },
        )
        return oh.token_set(body, scope_separator=",", requested=app.scopes or self.default_scopes)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        await oh.send(
            http,
            self.platform,
            "DELETE",
            self.graph("/me/permissions"),
            context="token",
            classify=self.classify,
            params={"access_token": token},
        )

    async def pages(self, http: httpx.AsyncClient, user_token: str, fields: str) -> list[dict[str, Any]]:
        """Every page of `/me/accounts`, following the cursor's `next` URL."""
        url: str | None = f"{self.graph('/me/accounts')}?{urlencode({'fields': fields, 'limit': '100'})}"
        out: list[dict[str, Any]] = []
        while url:
            page = await oh.send(
                http, self.platform, "GET", url, context="api", classify=self.classify, headers=oh.bearer(user_token)
            )
            out += page.get("data") or []
            url = (page.get("paging") or {}).get("next")
        return out

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        return [self._page(p) for p in await self.pages(http, tokens.access_token, self.page_fields)]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """With a Page token `/me` is the Page; with a user token it is the user."""
        me = await self.get(
            http,
            "api",
            f"/{self.graph_version}/me",
            access_token,
            params={"fields": "id,name,picture{url}", "metadata": "1"},
        )
        kind = (me.get("metadata") or {}).get("type")
        return ConnectableAccount(
            network_unique_id=str(me["id"]),
            username=me.get("username"),
            display_name=me.get("name"),
            account_type="page" if kind == "page" else "profile",
            profile_image_url=_picture(me),
        )

    def _page(self, page: dict[str, Any]) -> ConnectableAccount:
        return ConnectableAccount(
            network_unique_id=str(page["id"]),
            username=page.get("username"),
            display_name=page.get("name"),
            account_type="page",
            profile_image_url=_picture(page),
            access_token=page.get("access_token"),
            extra={"category": page.get("category"), "tasks": page.get("tasks") or []},
        )


def _picture(node: dict[str, Any]) -> str | None:
    picture = node.get("picture")
    if isinstance(picture, dict):
        return (picture.get("data") or {}).get("url")
    return None


provider = FacebookProvider()


# -- what a Page post may be ------------------------------------------------------------------

MAX_POST_LENGTH = 63_206
MAX_COMMENT_LENGTH = 8_000
# A post, its first comment and one reply to that comment.
MAX_CONTAINERS = 3


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FacebookConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # A link the post shares (container 0): Facebook shows its preview card under the message.
    link: str | None = None


MEDIA = MediaLimits(
    max_items=10,
    types=frozenset({"image", "gif", "video"}),
    mix=True,
    max_gifs=10,
    image_mimes=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}),
    image_max_bytes=10 * MB,
    gif_max_bytes=10 * MB,
    video_max_bytes=10 * 1024 * MB,
    max_duration_s=240 * 60.0,
    max_alt_text=1_000,
)


class FacebookRules(Rules):
    platform = "facebook"
    config_type = FacebookConfig
    first_comment = True
    thread = True
    max_length = MAX_POST_LENGTH
    text_required = False
    media = MEDIA
    reply_media = NO_MEDIA

    def length(self, text: str) -> int:
        return utf16_length(text)

    def check_shape(self, containers: Sequence[Container]) -> list[Problem]:
        problems = super().check_shape(containers)
        if not problems and len(containers) > MAX_CONTAINERS:
            problems.append(
                Problem(
                    f"containers[{MAX_CONTAINERS}]",
                    "thread_too_long",
                    "facebook comments go one reply deep: a post, its first comment and one reply to it at most",
                )
            )
        return problems

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if len(container.media) > 1 and any(m.type == "video" for m in container.media):
            problems.append(
                Problem(f"containers[{index}].media", "media_mix_unsupported", "a facebook video is posted alone")
            )
        length = self.length(container.content)
        if not problems and index > 0 and length > MAX_COMMENT_LENGTH:
            problems.append(
                Problem(
                    f"containers[{index}].content",
                    "too_long",
                    f"{length} characters as facebook counts them; a comment has at most {MAX_COMMENT_LENGTH}",
                )
            )
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        link = urlsplit(config.link or "")
        if config.link is not None and (link.scheme not in ("http", "https") or not link.netloc):
            return [Problem("config.facebook.link", "invalid_config", f"{config.link!r} is not an http(s) URL")]
        if config.link is not None and containers and containers[0].media:
            return [Problem("config.facebook.link", "invalid_config", "a post with media shares no link")]
        return []


rules = FacebookRules()


# -- publishing -------------------------------------------------------------------------------


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    err = _graph.error_of(body)
    # Commenting on an object Graph cannot find (#100, subcode 33): the post or comment is gone.
    if (
        err is not None
        and (err.get("code"), err.get("error_subcode")) == (100, 33)
        and resp.request.method == "POST"
        and resp.request.url.path.endswith("/comments")
    ):
        return ContentRejected(ph.message_of(body) or "the object commented on is gone", code="reply_target_missing")
    return _graph.classify(resp, body)


def permalink(page_id: str, object_id: str, index: int, parent: PublishedContainer | None) -> str | None:
    """Where a reader finds a Page's post (`<page>_<post>`), its comment or a reply
    (`<post>_<comment>`), from the ids alone."""
    post, _, own = object_id.rpartition("_")
    if not post:
        return None
    base = f"https://www.facebook.com/{page_id}/posts/"
    if index == 0:
        return base + own
    if index == 1 or parent is None:
        return f"{base}{post}?comment_id={own}"
    return f"{base}{post}?comment_id={parent.platform_post_id.rpartition('_')[2]}&reply_comment_id={own}"


class FacebookAdapter(GraphAdapter):
    name = "facebook"
    graph_host = GRAPH
    classify = staticmethod(_publishing_error)

    def _page(self, ctx: PublishContext) -> tuple[str, str]:
        """The Page publishing, and its token."""
        account = ph.account_of(ctx)
        if account.account_type != "page" and account.extra.get("token_owner") != "page":
            raise PlatformError("only a Facebook Page can publish through the Graph API", code="not_a_page")
        return account.network_unique_id, account.access_token

    async def _call(self, method: str, path: str, token: str, *, video: bool = False, **kwargs: Any) -> Any:
        # Video uploads go to Graph's own video host.
        return await super()._call(method, path, token, host=GRAPH_VIDEO if video else None, **kwargs)

    def _as(self, token: str) -> fm.Call:
        async def call(method: str, path: str, **kwargs: Any) -> Any:
            return await self._call(method, path, token, **kwargs)

        return call

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options, problems = rules.config(ctx.config)
        if options is not None:
            problems += rules.check_config(options, ctx.containers)
        if problems or not isinstance(options, FacebookConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        page, token = self._page(ctx)
        call = self._as(token)
        if parent is None and any(m.type == "video" for m in container.media):
            return await fm.publish_video(call, ctx, index, page, container.media[0], container.content)
        if parent is None:
            form = {"message": container.content, **({"link": options.link} if options.link else {})}
            if container.media:
                form = {k: v for k, v in form.items() if k != "message" or v.strip()}
                form |= fm.attached(await fm.upload_photos(call, ctx, index, page, container.media))
            made = await self._call("POST", f"/{page}/feed", token, data=form)
        else:
            made = await self._call(
                "POST", f"/{parent.platform_post_id}/comments", token, data={"message": container.content}
            )
        object_id = str(made["id"])
        return PublishedContainer(object_id, permalink(page, object_id, index, parent))

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest of the Page's 25 latest posts (or the parent's 50 latest comments) that the
        Page made with this text since the container was first sent: with the photos the stage
        names attached, for a post of photos; the post of the staged video, for a video."""
        page, token = self._page(ctx)
        if parent is None and any(m.type == "video" for m in container.media):
            staged, _ = await fm.staged_video(self._as(token), ctx, index)
            return staged
        photos = fm.staged_photos(ctx, index) if parent is None and container.media else None
        if photos is not None and len(photos) < len(container.media):
            return None  # some photo was never uploaded: no post of them can exist
        fields = {"fields": "id,message,created_time,from" + (",attachments{target,subattachments}" if photos else "")}
        if parent is None:
            listed = await self._call("GET", f"/{page}/feed", token, params={**fields, "limit": "25"})
        else:
            params = {**fields, "filter": "toplevel", "order": "reverse_chronological", "limit": "50"}
            listed = await self._call("GET", f"/{parent.platform_post_id}/comments", token, params=params)
        for item in (listed.get("data") or []) if isinstance(listed, dict) else []:
            author = (item.get("from") or {}).get("id")
            if (
                author in (None, page)
                and (photos is None or fm.attached_ids(item) == photos)
                and _graph.same_text(container.content, item.get("message") or "")
                and posted_since(_graph.instant(item.get("created_time")), ctx.sent_at)
            ):
                return PublishedContainer(str(item["id"]), permalink(page, str(item["id"]), index, parent))
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> FacebookAdapter:
    return FacebookAdapter(http, settings)
