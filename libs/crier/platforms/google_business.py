"""Google Business Profile: Google OAuth (see `_google.py`) and the locations of the user's
business accounts; each location is a connectable account (`multi_account`), and publishing local
posts to it.

Accounts come from the Account Management API and locations from the Business Information API
(`readMask` is mandatory there), each on its own host. A location's network id is
`accounts/<a>/locations/<l>`: the parent path the v4 localPosts API publishes under.

Publishing (`publisher`, `rules`):
- `POST https://mybusiness.googleapis.com/v4/{accounts/<a>/locations/<l>}/localPosts` with a
  LocalPost: `summary` (the text, up to 1500 characters), `topicType` (required by Google: STANDARD
  unless `config.google_business.topic_type` says EVENT, OFFER or ALERT), `languageCode`,
  `callToAction`, `event`, `offer`. Google answers the LocalPost with its `name`
  (`…/localPosts/<id>`, Crier's platform post id), `state` and `searchUrl` (the post's URL). A
  local post has no comments and no replies: one container only.
- What Google requires of the combinations: EVENT and OFFER posts carry an `event` with a title and
  a schedule (an offer's title and validity are its event's); `offer` belongs to OFFER posts only;
  Google ignores a call to action on an OFFER (Crier refuses it rather than drop it); CALL takes no
  url (the button calls the location's phone number) and every other action needs one. ALERT is
  the COVID-19 alert, its only kind (`alertType: COVID_19`). GET_OFFER is deprecated in favour of
  OFFER posts and not offered.
- Event dates and times are the location's local time, without an offset: dates `YYYY-MM-DD`, times
  `HH:MM`, both times or neither (without them the event spans whole days, as in Google's own
  editor).
- Media (a photo or a video, see `google_business_media`) goes as `media` with a signed URL Google
  fetches. Such a post is `PROCESSING` until Google has the media: the post's name is saved in the
  stage right after the create, later deliveries read the post (`GET /v4/{name}`) until it is
  `LIVE`; `REJECTED` is a permanent `media_rejected`.
- There is no idempotency key. `find_published` reads the post the stage names, else lists the
  location's local posts and adopts the newest with the same summary and topic type.
- Refusals are 400 INVALID_ARGUMENT with the fields in `details` (a ValidationError's
  `errorDetails`, or a BadRequest's `fieldViolations` for JSON Google could not read); the message
  Crier records names them (see `_google.publishing_error`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import httpx
import msgspec

from crier.contracts.common import Container
from crier.kit.errors import Problem
from crier.platforms import _publish_http as ph
from crier.platforms import google_business_media as post_media
from crier.platforms._google import GoogleProvider, google_endpoints, publishing_error
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    StillProcessing,
    posted_since,
)
from crier.platforms.oauth import ConnectableAccount, TokenSet
from crier.platforms.rules import Rules

_READ_MASK = "name,title,storefrontAddress,metadata"


class GoogleBusinessProvider(GoogleProvider):
    platform = "google_business"
    multi_account = True
    default_scopes = ("https://www.googleapis.com/auth/business.manage",)
    real_endpoints = google_endpoints(
        accounts="https://mybusinessaccountmanagement.googleapis.com",
        locations="https://mybusinessbusinessinformation.googleapis.com",
        posts="https://mybusiness.googleapis.com",
    )

    async def _pages(
        self, http: httpx.AsyncClient, host: str, path: str, key: str, token: str, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            query = {**params, **({"pageToken": page_token} if page_token else {})}
            body = await self.get(http, host, path, token, params=query)
            out += body.get(key) or []
            page_token = body.get("nextPageToken")
            if not page_token:
                return out

    async def business_accounts(self, http: httpx.AsyncClient, access_token: str) -> list[dict[str, Any]]:
        return await self._pages(http, "accounts", "/v1/accounts", "accounts", access_token, {"pageSize": "20"})

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        out = []
        for account in await self.business_accounts(http, tokens.access_token):
            locations = await self._pages(
                http,
                "locations",
                f"/v1/{account['name']}/locations",
                "locations",
                tokens.access_token,
                {"readMask": _READ_MASK, "pageSize": "100"},
            )
            out += [_location(account, loc) for loc in locations]
        return out

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """The first business account: proof the token works (locations are not needed for that)."""
        body = await self.get(http, "accounts", "/v1/accounts", access_token, params={"pageSize": "1"})
        account = (body.get("accounts") or [{}])[0]
        return ConnectableAccount(
            network_unique_id=account.get("name", ""),
            username=None,
            display_name=account.get("accountName"),
            account_type="business",
            extra={"type": account.get("type")},
        )


def _location(account: dict[str, Any], loc: dict[str, Any]) -> ConnectableAccount:
    location_id = loc["name"].rsplit("/", 1)[-1]
    metadata = loc.get("metadata") or {}
    return ConnectableAccount(
        network_unique_id=f"{account['name']}/locations/{location_id}",
        username=None,
        display_name=loc.get("title"),
        account_type="location",
        extra={
            "account_name": account.get("accountName"),
            "address": loc.get("storefrontAddress"),
            "maps_uri": metadata.get("mapsUri"),
            "place_id": metadata.get("placeId"),
        },
    )


provider = GoogleBusinessProvider()


# -- what a local post may be -----------------------------------------------------------------

MAX_SUMMARY = 1500
# What Google's post editor allows for the title of an event or an offer.
MAX_TITLE = 58
_EVENT_TOPICS = ("EVENT", "OFFER")
# A BCP 47 language tag, as far as its shape goes (`en`, `en-US`, `zh-Hant-TW`, `es-419`).
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_WEB_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
# A time of day at the location, to the minute.
LocalTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Schedule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start_date: date
    end_date: date
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None


class Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: str
    schedule: Schedule


class CallToAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action_type: Literal["BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"]
    url: str | None = None


class Offer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    coupon_code: str | None = None
    redeem_online_url: str | None = None
    terms_conditions: str | None = None


class GoogleBusinessConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    topic_type: Literal["STANDARD", "EVENT", "OFFER", "ALERT"] = "STANDARD"
    language_code: str | None = None
    call_to_action: CallToAction | None = None
    event: Event | None = None
    offer: Offer | None = None


class GoogleBusinessRules(Rules):
    platform = "google_business"
    config_type = GoogleBusinessConfig
    max_length = MAX_SUMMARY
    media = post_media.MEDIA

    def check_container(self, index: int, container: Container) -> list[Problem]:
        return super().check_container(index, container) + post_media.check_media(index, container)

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        problems: list[Problem] = []

        def refuse(where: str, message: str) -> None:
            problems.append(Problem(f"config.google_business.{where}", "invalid_config", message))

        topic, cta, event, offer = config.topic_type, config.call_to_action, config.event, config.offer
        if topic in _EVENT_TOPICS and event is None:
            refuse("event", f"an {topic} post needs an event with a title and a schedule")
        if topic not in _EVENT_TOPICS and event is not None:
            refuse("event", "only EVENT and OFFER posts have an event")
        if offer is not None and topic != "OFFER":
            refuse("offer", "only OFFER posts have an offer")
        if (
            offer is not None
            and offer.redeem_online_url is not None
            and not _WEB_URL.fullmatch(offer.redeem_online_url)
        ):
            refuse("offer.redeem_online_url", "needs an http(s) URL")
        if cta is not None:
            if topic == "OFFER":
                refuse("call_to_action", "Google ignores a call to action on an OFFER post")
            elif cta.action_type == "CALL" and cta.url is not None:
                refuse("call_to_action.url", "CALL calls the location's phone number and takes no url")
            elif cta.action_type != "CALL" and (cta.url is None or not _WEB_URL.fullmatch(cta.url)):
                refuse("call_to_action.url", f"{cta.action_type} needs an http(s) URL")
        if event is not None:
            if not event.title.strip():
                refuse("event.title", "needs text")
            elif len(event.title) > MAX_TITLE:
                refuse("event.title", f"{len(event.title)} characters; at most {MAX_TITLE}")
            when = event.schedule
            if (when.start_time is None) != (when.end_time is None):
                refuse("event.schedule", "takes both start_time and end_time, or neither (whole days)")
            elif (when.end_date, when.end_time or "") < (when.start_date, when.start_time or ""):
                refuse("event.schedule", "ends before it starts")
        if config.language_code is not None and not _LANGUAGE_TAG.fullmatch(config.language_code):
            refuse("language_code", f"{config.language_code!r} is not a BCP 47 language tag")
        return problems


rules = GoogleBusinessRules()


def local_post(
    summary: str, options: GoogleBusinessConfig, media_items: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The LocalPost Google is sent for a container's text (and media) and the post's options."""
    post: dict[str, Any] = {"summary": summary, "topicType": options.topic_type}
    if media_items:
        post["media"] = media_items
    if options.language_code is not None:
        post["languageCode"] = options.language_code
    if options.topic_type == "ALERT":
        post["alertType"] = "COVID_19"
    if options.call_to_action is not None:
        cta = options.call_to_action
        post["callToAction"] = {"actionType": cta.action_type, **({"url": cta.url} if cta.url is not None else {})}
    if options.event is not None:
        when = options.event.schedule
        schedule: dict[str, Any] = {"startDate": _date(when.start_date), "endDate": _date(when.end_date)}
        if when.start_time is not None and when.end_time is not None:
            schedule |= {"startTime": _time(when.start_time), "endTime": _time(when.end_time)}
        post["event"] = {"title": options.event.title, "schedule": schedule}
    if options.offer is not None:
        offer = options.offer
        fields = {
            "couponCode": offer.coupon_code,
            "redeemOnlineUrl": offer.redeem_online_url,
            "termsConditions": offer.terms_conditions,
        }
        post["offer"] = {k: v for k, v in fields.items() if v is not None}
    return post


def _date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _time(hh_mm: str) -> dict[str, int]:
    hours, minutes = hh_mm.split(":")
    return {"hours": int(hours), "minutes": int(minutes)}


# -- publishing -------------------------------------------------------------------------------

POSTS_HOST = "https://mybusiness.googleapis.com"
_LOCATION = re.compile(r"accounts/[^/]+/locations/[^/]+")
# Pages of 100 local posts `find_published` reads, newest first by `createTime` within them.
_FIND_PAGES = 5
_LONG_AGO = datetime.min.replace(tzinfo=UTC)
# How long Google usually takes to fetch and process a post's media before it is LIVE.
PROCESSING_RETRY_S = 15.0


def _comparable(text: str) -> str:
    return " ".join(text.split())


def _created(post: dict[str, Any]) -> datetime | None:
    """A LocalPost's `createTime` (RFC 3339, up to nanoseconds), or None when missing or malformed."""
    try:
        return msgspec.convert(post.get("createTime"), datetime) if post.get("createTime") else None
    except msgspec.ValidationError:
        return None


class GoogleBusinessAdapter:
    name = "google_business"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    def _local_posts(self, ctx: PublishContext) -> str:
        location = ph.account_of(ctx).network_unique_id
        if not _LOCATION.fullmatch(location):
            raise PlatformError(f"{location!r} is not a Business Profile location", code="location_required")
        return f"{self.settings.base('google_business', POSTS_HOST)}/v4/{location}/localPosts"

    def _post_for(self, ctx: PublishContext, container: Container, *, with_media: bool = True) -> dict[str, Any]:
        options, problems = rules.config(ctx.config)
        if problems or not isinstance(options, GoogleBusinessConfig):
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        items = post_media.media_items(ctx.media, list(container.media)) if with_media else []
        return local_post(container.content, options, items)

    def _post_url(self, name: str) -> str:
        return f"{self.settings.base('google_business', POSTS_HOST)}/v4/{name}"

    async def _call(self, method: str, url: str, ctx: PublishContext, **kwargs: Any) -> Any:
        headers = ph.bearer(ph.account_of(ctx).access_token)
        return await ph.send(
            self.http,
            "google_business",
            method,
            url,
            classify=publishing_error,
            timeout=self.settings.timeout_s,
            headers=headers,
            **kwargs,
        )

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        made = ctx.stage.get(index).get("post") if ctx.stage is not None else None
        if made:
            post = await self._call("GET", self._post_url(str(made)), ctx)
        else:
            post = await self._call("POST", self._local_posts(ctx), ctx, json=self._post_for(ctx, container))
            if container.media and ctx.stage is not None:
                # Saved before anything else can fail: a later delivery reads this post, never
                # makes a second one.
                await ctx.stage.save(index, {"post": str(post["name"])})
        return _settled(post, container)

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The post the stage names once Google has it live (None while it processes: the next
        `publish_container` reads it again); else the newest of the location's latest local posts
        with this summary and topic type, made since the container was first sent."""
        made = ctx.stage.get(index).get("post") if ctx.stage is not None else None
        if made:
            post = await self._call("GET", self._post_url(str(made)), ctx)
            live = post.get("state") not in ("PROCESSING", "REJECTED")
            return PublishedContainer(str(post["name"]), post.get("searchUrl")) if live else None
        want = self._post_for(ctx, container, with_media=False)
        same = (_comparable(want["summary"]), want["topicType"])
        url, page_token = self._local_posts(ctx), None
        found: list[tuple[datetime, dict[str, Any]]] = []
        for _ in range(_FIND_PAGES):
            params = {"pageSize": "100", **({"pageToken": page_token} if page_token else {})}
            page = await self._call("GET", url, ctx, params=params)
            for post in page.get("localPosts") or []:
                created = _created(post)
                if (_comparable(str(post.get("summary") or "")), post.get("topicType")) == same and posted_since(
                    created, ctx.sent_at
                ):
                    found.append((created or _LONG_AGO, post))
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        if not found:
            return None
        _, newest = max(found, key=lambda pair: pair[0])
        if newest.get("state") in ("PROCESSING", "REJECTED") and ctx.stage is not None:
            # Made, but not live: `publish_container` follows it from here, as if it had made it.
            await ctx.stage.save(index, {"post": str(newest["name"])})
            return None
        return PublishedContainer(str(newest["name"]), newest.get("searchUrl"))


def _settled(post: dict[str, Any], container: Container) -> PublishedContainer:
    """The post once Google has it live; `StillProcessing` while it fetches the media."""
    state = post.get("state")
    if state == "PROCESSING":
        raise StillProcessing(f"Google is processing the media of {post.get('name')}", retry_after_s=PROCESSING_RETRY_S)
    if state == "REJECTED":
        code = "media_rejected" if container.media else "content_rejected"
        raise ContentRejected(f"Google rejected the local post {post.get('name')}", code=code)
    return PublishedContainer(str(post["name"]), post.get("searchUrl"))


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> GoogleBusinessAdapter:
    return GoogleBusinessAdapter(http, settings)
