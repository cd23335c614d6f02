"""What an Instagram post may be and how it is published (see `instagram` for Instagram's ways)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import httpx
import msgspec

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem
from crier.platforms import _graph
from crier.platforms import _publish_http as ph
from crier.platforms._graph_adapter import GraphAdapter
from crier.platforms._graph_media import ContainerSteps, too_slow
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    RateLimited,
    TransientError,
    posted_since,
)
from crier.platforms.media_rules import MB, NO_MEDIA, MediaLimits
from crier.platforms.rules import Rules

GRAPH = "https://graph.facebook.com"
MAX_CAPTION = 2_200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_COLLABORATORS = 3
MIN_FRAME_RATE = 23.0
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")

FEED = MediaLimits(
    max_items=10,
    types=frozenset({"image", "video"}),
    max_videos=10,
    mix=True,
    required=True,
    image_mimes=frozenset({"image/jpeg"}),
    video_mimes=frozenset({"video/mp4", "video/quicktime"}),
    image_max_bytes=8 * MB,
    video_max_bytes=300 * MB,
    image_aspect=(0.8, 1.91),
    video_aspect=(0.01, 10.0),
    min_duration_s=3.0,
    max_duration_s=900.0,
    max_frame_rate=60.0,
    max_alt_text=1_000,
)
REEL = replace(FEED, max_items=1, types=frozenset({"video"}), max_videos=1, max_alt_text=None)
STORY = replace(
    FEED, max_items=1, max_videos=1, image_aspect=None, video_max_bytes=100 * MB, max_duration_s=60.0, max_alt_text=None
)

Kind = Literal["feed", "reel", "story"]


class InstagramConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # What the post is on Instagram: a feed post (an image, a video or a carousel), a reel, a story.
    kind: Kind = "feed"
    # A reel shown in the feed grid too (Instagram's default) or only in the Reels tab.
    share_to_feed: bool | None = None
    # Accounts invited to co-author a feed post or reel, by username.
    collaborators: list[str] | None = None
    # A Facebook Page id of a place, tagged on a feed post or reel.
    location_id: str | None = None


class InstagramRules(Rules):
    platform = "instagram"
    config_type = InstagramConfig
    first_comment = True
    max_length = MAX_CAPTION
    text_required = False
    media = FEED
    reply_media = NO_MEDIA

    def check(self, containers: Sequence[Container], config: Any) -> list[Problem]:
        parsed, _ = self.config(config)
        kind = parsed.kind if isinstance(parsed, InstagramConfig) else "feed"
        return Rules.check(_BY_KIND[kind], containers, config)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container) + too_slow(index, container, "instagram", MIN_FRAME_RATE)
        field = f"containers[{index}].content"
        for what, pattern, most in (("hashtags", _HASHTAG, MAX_HASHTAGS), ("@mentions", _MENTION, MAX_MENTIONS)):
            found = len(pattern.findall(container.content))
            if index == 0 and found > most:
                problems.append(Problem(field, "too_many_tags", f"{found} {what}; an instagram caption takes {most}"))
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        field = "config.instagram"
        problems = []
        if config.share_to_feed is not None and config.kind != "reel":
            problems.append(Problem(f"{field}.share_to_feed", "invalid_config", "share_to_feed is for reels"))
        if len(config.collaborators or []) > MAX_COLLABORATORS:
            problems.append(
                Problem(f"{field}.collaborators", "invalid_config", f"at most {MAX_COLLABORATORS} collaborators")
            )
        return problems


class _Reel(InstagramRules):
    media = REEL


class _Story(InstagramRules):
    media = STORY
    first_comment = False

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if index == 0 and container.content.strip():
            problems.append(Problem(f"containers[{index}].content", "caption_unsupported", "a story has no caption"))
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        problems = super().check_config(config, containers)
        for name in ("collaborators", "location_id"):
            if getattr(config, name) is not None:
                problems.append(Problem(f"config.instagram.{name}", "invalid_config", f"a story takes no {name}"))
        return problems


_BY_KIND: dict[str, Rules] = {"feed": InstagramRules(), "reel": _Reel(), "story": _Story()}
rules = _BY_KIND["feed"]


# -- publishing -------------------------------------------------------------------------------

# Instagram advises polling a container's status once a minute.
CONTAINER_WAIT_S = 60.0
# The account reached its `content_publishing_limit`; the container is not ready yet.
_PUBLISHING_LIMIT = (9, 2207042)
# The limit counts the posts of a moving 24 hours and Graph says nothing of when a slot frees:
# look again in an hour rather than at the publisher's quick backoff.
PUBLISHING_LIMIT_WAIT_S = 3600.0
_NOT_READY_CODE = 9007


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    err = _graph.error_of(body)
    said = ph.message_of(body) or f"HTTP {resp.status_code}"
    if err is not None and (err.get("code"), err.get("error_subcode")) == _PUBLISHING_LIMIT:
        wait = _graph.rate_limit_wait(resp.headers) or PUBLISHING_LIMIT_WAIT_S
        return RateLimited(f"{said} (content_publishing_limit)", retry_after_s=wait)
    if err is not None and err.get("code") == _NOT_READY_CODE:
        return TransientError(said)
    return _graph.classify(resp, body)


def _item(ctx: PublishContext, ref: MediaRef, kind: Kind, *, carousel: bool) -> dict[str, str]:
    """One media item's container fields, as Instagram takes it for this kind of post."""
    if ctx.media is None:
        raise PlatformError("the post's media cannot be read here", code="media_unavailable")
    url = ctx.media.url(ref)
    if kind == "story":
        return {"media_type": "STORIES", ("video_url" if ref.type == "video" else "image_url"): url}
    if ref.type == "video":
        return {"media_type": "VIDEO" if carousel else "REELS", "video_url": url}
    return {"image_url": url, **({"alt_text": ref.alt_text} if ref.alt_text else {})}


def _wrapper(container: Container, options: InstagramConfig) -> dict[str, str]:
    """The fields of the container that is published (the post's own, not its items')."""
    if options.kind == "story":
        return {}
    form: dict[str, str] = {"caption": container.content} if container.content.strip() else {}
    if options.share_to_feed is not None:
        form["share_to_feed"] = "true" if options.share_to_feed else "false"
    if options.collaborators:
        form["collaborators"] = json.dumps(options.collaborators)
    if options.location_id:
        form["location_id"] = options.location_id
    return form


class InstagramAdapter(GraphAdapter):
    name = "instagram"
    graph_host = GRAPH
    classify = staticmethod(_publishing_error)

    def _steps(self, user: str, token: str) -> ContainerSteps:
        async def call(method: str, path: str, **kwargs: Any) -> Any:
            return await self._call(method, path, token, **kwargs)

        return ContainerSteps(
            "instagram",
            call,
            create_path=f"/{user}/media",
            status_fields="status_code,status",
            status_key="status_code",
            wait_s=CONTAINER_WAIT_S,
        )

    def _options(self, ctx: PublishContext) -> InstagramConfig:
        options, problems = rules.config(ctx.config)
        if isinstance(options, InstagramConfig):
            problems += _BY_KIND[options.kind].check_config(options, ctx.containers)
        if problems or not isinstance(options, InstagramConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        return options

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options = self._options(ctx)
        account = ph.account_of(ctx)
        user, token = account.network_unique_id, account.access_token
        if parent is not None:
            made = await self._call(
                "POST", f"/{parent.platform_post_id}/comments", token, data={"message": container.content}
            )
            return PublishedContainer(str(made["id"]), parent.url)
        if not container.media:
            raise ContentRejected("instagram publishes nothing without media", code="invalid_content")
        steps = self._steps(user, token)
        already = steps.done(ctx, index)
        if already is not None:
            return PublishedContainer(already, await self._permalink(already, token))
        carousel = len(container.media) > 1
        items = [_item(ctx, ref, options.kind, carousel=carousel) for ref in container.media]
        creation_id = await steps.prepare(ctx, index, items, _wrapper(container, options))
        published = await self._call("POST", f"/{user}/media_publish", token, data={"creation_id": creation_id})
        media_id = str(published["id"])
        await steps.published(ctx, index, media_id)
        return PublishedContainer(media_id, await self._permalink(media_id, token))

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
        """What the stage says was published; else the newest of the account's 25 latest media
        (stories, or the comments under `parent`) with this caption, since it was first sent."""
        options = self._options(ctx)
        account = ph.account_of(ctx)
        user, token = account.network_unique_id, account.access_token
        if parent is not None:
            params = {"fields": "id,text,timestamp,username", "limit": "50"}
            listed = await self._call("GET", f"/{parent.platform_post_id}/comments", token, params=params)
            for item in _data(listed):
                if (
                    item.get("username") in (None, account.username)
                    and _graph.same_text(container.content, item.get("text"))
                    and posted_since(_graph.instant(item.get("timestamp")), ctx.sent_at)
                ):
                    return PublishedContainer(str(item["id"]), parent.url)
            return None
        staged, search = await self._steps(user, token).staged(ctx, index)
        if staged is not None:
            return PublishedContainer(staged.platform_post_id, await self._permalink(staged.platform_post_id, token))
        if not search:
            return None
        edge = "stories" if options.kind == "story" else "media"
        params = {"fields": "id,caption,timestamp,permalink", "limit": "25"}
        caption = container.content if options.kind != "story" else ""
        for item in _data(await self._call("GET", f"/{user}/{edge}", token, params=params)):
            if _graph.same_text(caption, item.get("caption") or "") and posted_since(
                _graph.instant(item.get("timestamp")), ctx.sent_at
            ):
                return PublishedContainer(str(item["id"]), item.get("permalink"))
        return None


def _data(listed: Any) -> list[dict[str, Any]]:
    return [i for i in (listed.get("data") or []) if isinstance(i, dict)] if isinstance(listed, dict) else []


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> InstagramAdapter:
    return InstagramAdapter(http, settings)
