"""Threads: Meta's Threads API OAuth on threads.net and graph.threads.net, and publishing posts and
reply chains there.

- No PKCE; the scope list is comma-separated. The code buys a short-lived token (1 hour) plus the
  user id; it is exchanged at once (`th_exchange_token`) for a long-lived token (60 days).
- There is no separate refresh token: a long-lived token refreshes itself
  (`GET /refresh_access_token?grant_type=th_refresh_token`) once it is at least 24 hours old and
  until it expires. So the TokenSet's `refresh_token` is the long-lived access token itself and
  each refresh returns the new token in both fields.
- Threads offers apps no token revocation: the user removes the app in their Threads settings.
  `revoke` therefore has nothing to call and returns; the token lapses within 60 days unless
  refreshed.
- Errors are Graph-shaped (see `_graph`). The API has a version line of its own, `v1.0`, not the
  Facebook Graph API's `vNN.0`: graph.threads.net knows no other.

Publishing (`publisher`, `rules`):
- Two calls per post: `POST /{version}/{user-id}/threads` (`media_type=TEXT`, `text`, `reply_to_id`
  for a reply, `reply_control` from `config.threads`) makes a media container and answers its
  creation id; `POST /{version}/{user-id}/threads_publish` (`creation_id`) publishes it and answers
  the post's id. The first comment and the thread are replies, each to the container before it.
  Replies need `threads_manage_replies`, and finding them again `threads_read_replies`.
- A container that is never published is harmless (it expires after 24 hours), so a create whose
  answer was lost is simply retried. A publish whose answer was lost is looked up
  (`find_published`): the account's latest posts (`GET /{user-id}/threads`) or replies
  (`GET /{user-id}/replies`, with `replied_to`), by text and parent, since it was first sent.
- 500 characters per post, where an emoji counts as many as its UTF-8 bytes (👍 is 4); at most 5
  distinct links (`THREADS_API__LINK_LIMIT_EXCEEDED` at the container step). 250 posts and 1,000
  replies per 24 hours are enforced at `threads_publish`.
- Publishing too soon after the create can meet a container that has not propagated yet (subcode
  4279009): retried. The answers carry no URL; the post's `permalink` is read once published,
  and a failure to read it leaves the URL out rather than failing a post that went out.

Media (see `_graph_media`): Threads pulls it from the signed URL Crier hands it. One image or video
is an `IMAGE` (`image_url`) or `VIDEO` (`video_url`) container, with `alt_text`; two to twenty are
item containers under a `CAROUSEL` container (`children`), images and videos mixed. Replies take
media too, and a post with media may have no text. Containers process: `GET /{container-id}?fields=
status,error_message` is polled once per delivery (IN_PROGRESS: `StillProcessing`, 30 s, Threads'
own advice; ERROR: `media_rejected`). Limits as Threads documents them: images JPEG or PNG up to
8 MB and 10:1 either way (widths outside 320-1440 px are scaled, not refused); videos MOV or MP4 up
to 1 GB and 5 minutes at 23-60 frames a second, 0.01:1 to 10:1. Threads documents no length for
alt text; Crier holds it to 1,000 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import httpx
import msgspec
import regex

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem
from crier.platforms import _graph
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms._graph import graph_error
from crier.platforms._graph_adapter import GraphAdapter
from crier.platforms._graph_media import ContainerSteps, too_slow
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    TransientError,
    posted_since,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.oauth import AppCredentials, ConnectableAccount, OAuthError, PlatformEndpoints, TokenSet
from crier.platforms.rules import Rules

GRAPH = "https://graph.threads.net"
_PROFILE_FIELDS = "id,username,name,threads_profile_picture_url,threads_biography"


class ThreadsProvider(CodeFlowProvider):
    platform = "threads"
    default_scopes = ("threads_basic", "threads_content_publish", "threads_manage_replies", "threads_read_replies")
    real_endpoints = PlatformEndpoints(auth_base="https://threads.net", api_base=GRAPH)
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/access_token"
    scope_separator = ","

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, version: str | None = None) -> None:
        super().__init__(endpoints)
        self.version = version or PlatformSettings().threads_api_version

    def configured(self, settings: PlatformSettings) -> ThreadsProvider:
        """The same provider calling the version of the Threads API the operator configured."""
        return ThreadsProvider(self.endpoints, version=settings.threads_api_version)

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return graph_error(status, body, context)

    def _long_lived(self, body: Any, app: AppCredentials, user_id: str | None) -> TokenSet:
        tokens = oh.token_set(
            body,
            scope_separator=",",
            requested=app.scopes or self.default_scopes,
            extra={"user_id": user_id} if user_id else {},
        )
        # The long-lived token is its own refresh credential, valid as long as the token itself.
        return replace(tokens, refresh_token=tokens.access_token, refresh_expires_at=tokens.expires_at)

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        short = await self.token_request(
            http, app, {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
        )
        body = await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", "/access_token"),
            context="token",
            classify=self.classify,
            params={
                "grant_type": "th_exchange_token",
                "client_secret": app.client_secret,
                "access_token": short["access_token"],
            },
        )
        return self._long_lived(body, app, str(short.get("user_id") or "") or None)

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        body = await oh.send(
            http,
            self.platform,
            "GET",
            self.url("api", "/refresh_access_token"),
            context="token",
            classify=self.classify,
            params={"grant_type": "th_refresh_token", "access_token": refresh_token},
        )
        return self._long_lived(body, app, None)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        return None  # no revocation endpoint exists; see the module docstring

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        me = await self.get(http, "api", f"/{self.version}/me", access_token, params={"fields": _PROFILE_FIELDS})
        return ConnectableAccount(
            network_unique_id=str(me["id"]),
            username=me.get("username"),
            display_name=me.get("name") or me.get("username"),
            account_type="profile",
            profile_image_url=me.get("threads_profile_picture_url"),
            extra={"biography": me.get("threads_biography")},
        )


provider = ThreadsProvider()


# -- what a post may be -----------------------------------------------------------------------

MAX_LENGTH = 500
MAX_LINKS = 5
_GRAPHEME = regex.compile(r"\X")
# What Threads counts by its UTF-8 bytes: pictographs, flags, keycaps and their modifiers.
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")
# What Threads counts as a link: a web address with its scheme or starting with www.
_LINK = regex.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,:;!?)\]']", regex.IGNORECASE)


def text_length(text: str) -> int:
    """A post's length as Threads counts it: a character each, an emoji its UTF-8 bytes."""
    return sum(len(g.encode()) if _EMOJI.search(g) else 1 for g in _GRAPHEME.findall(text))


def links(text: str) -> set[str]:
    return {m.group(0).lower() for m in _LINK.finditer(text)}


ReplyControl = Literal["everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only"]


class ThreadsConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Who may reply to each post of the thread; Threads' default is everyone.
    reply_control: ReplyControl | None = None


MEDIA = MediaLimits(
    max_items=20,
    types=frozenset({"image", "video"}),
    max_videos=20,
    mix=True,
    image_mimes=frozenset({"image/jpeg", "image/png"}),
    video_mimes=frozenset({"video/mp4", "video/quicktime"}),
    image_max_bytes=8 * MB,
    video_max_bytes=1024 * MB,
    image_aspect=(0.1, 10.0),
    video_aspect=(0.01, 10.0),
    max_duration_s=300.0,
    max_frame_rate=60.0,
    max_alt_text=1_000,
)
MIN_FRAME_RATE = 23.0


class ThreadsRules(Rules):
    platform = "threads"
    config_type = ThreadsConfig
    first_comment = True
    thread = True
    max_length = MAX_LENGTH
    text_required = False
    media = MEDIA

    def length(self, text: str) -> int:
        return text_length(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        problems += too_slow(index, container, "threads", MIN_FRAME_RATE)
        found = len(links(container.content))
        if found > MAX_LINKS and not any(p.field == f"containers[{index}].content" for p in problems):
            problems.append(
                Problem(
                    f"containers[{index}].content",
                    "too_many_links",
                    f"{found} links; a threads post has at most {MAX_LINKS}",
                )
            )
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        return []


rules = ThreadsRules()


# -- publishing -------------------------------------------------------------------------------

# The container is not ready to publish yet (it has not propagated inside Threads).
_NOT_READY_SUBCODE = 4279009


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    err = _graph.error_of(body)
    if err is not None and err.get("error_subcode") == _NOT_READY_SUBCODE:
        return TransientError(ph.message_of(body) or "the container is not ready to publish yet")
    return _graph.classify(resp, body)


# How long to wait for a container Threads is processing: Threads advises about 30 seconds.
CONTAINER_WAIT_S = 30.0


def _item(ctx: PublishContext, ref: MediaRef) -> dict[str, str]:
    """One media item's container fields: its type, the URL Threads pulls it from, its alt text."""
    if ctx.media is None:
        raise PlatformError("the post's media cannot be read here", code="media_unavailable")
    kind = "VIDEO" if ref.type == "video" else "IMAGE"
    form = {"media_type": kind, f"{kind.lower()}_url": ctx.media.url(ref)}
    if ref.alt_text:
        form["alt_text"] = ref.alt_text
    return form


class ThreadsAdapter(GraphAdapter):
    name = "threads"
    graph_host = GRAPH
    classify = staticmethod(_publishing_error)

    def version(self) -> str:
        return self.settings.threads_api_version

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options, problems = rules.config(ctx.config)
        if problems or not isinstance(options, ThreadsConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        account = ph.account_of(ctx)
        user, token = account.network_unique_id, account.access_token
        form = {"media_type": "TEXT", "text": container.content}
        if parent is not None:
            form["reply_to_id"] = parent.platform_post_id
        if options.reply_control is not None:
            form["reply_control"] = options.reply_control
        steps = self._steps(user, token)
        already = steps.done(ctx, index) if container.media else None
        if already is not None:
            return PublishedContainer(already, await self._permalink(already, token))
        if container.media:
            del form["media_type"]
            if not container.content.strip():
                del form["text"]
            items = [_item(ctx, ref) for ref in container.media]
            creation_id = await steps.prepare(ctx, index, items, form)
        else:
            creation_id = await steps.create(form)
        published = await self._call("POST", f"/{user}/threads_publish", token, data={"creation_id": creation_id})
        media_id = str(published["id"])
        if container.media:
            await steps.published(ctx, index, media_id)
        return PublishedContainer(media_id, await self._permalink(media_id, token))

    def _steps(self, user: str, token: str) -> ContainerSteps:
        async def call(method: str, path: str, **kwargs: Any) -> Any:
            return await self._call(method, path, token, **kwargs)

        return ContainerSteps(
            "threads",
            call,
            create_path=f"/{user}/threads",
            status_fields="status,error_message",
            status_key="status",
            wait_s=CONTAINER_WAIT_S,
        )

    async def _permalink(self, media_id: str, token: str) -> str | None:
        try:
            media = await self._call("GET", f"/{media_id}", token, params={"fields": "permalink"})
        except PlatformError:
            return None  # the post is out; a missing link must not fail it
        link = media.get("permalink") if isinstance(media, dict) else None
        return link if isinstance(link, str) else None

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest of the account's 25 latest posts (or replies, to `parent`) with this text,
        published since the container was first sent."""
        account = ph.account_of(ctx)
        user, token = account.network_unique_id, account.access_token
        if container.media:
            staged, search = await self._steps(user, token).staged(ctx, index)
            if staged is not None:
                return PublishedContainer(
                    staged.platform_post_id, await self._permalink(staged.platform_post_id, token)
                )
            if not search:
                return None
        fields = "id,text,permalink,timestamp"
        if parent is None:
            listed = await self._call("GET", f"/{user}/threads", token, params={"fields": fields, "limit": "25"})
        else:
            params = {"fields": f"{fields},replied_to", "limit": "25"}
            listed = await self._call("GET", f"/{user}/replies", token, params=params)
        want_parent = parent.platform_post_id if parent is not None else None
        for item in (listed.get("data") or []) if isinstance(listed, dict) else []:
            if (
                (item.get("replied_to") or {}).get("id") == want_parent
                and _graph.same_text(container.content, item.get("text") or "")
                and posted_since(_graph.instant(item.get("timestamp")), ctx.sent_at)
            ):
                return PublishedContainer(str(item["id"]), item.get("permalink"))
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> ThreadsAdapter:
    return ThreadsAdapter(http, settings)
