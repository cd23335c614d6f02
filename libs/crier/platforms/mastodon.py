"""Mastodon: OAuth 2.0 against the user's own instance, and publishing statuses there.

- Each instance is its own authorization server: register Crier there first with `register_app`
  (`POST /api/v1/apps`) and keep the client id/secret with the instance URL in
  `AppCredentials.instance_url`.
- PKCE S256 is supported (Mastodon 4.3+) and sent. Scopes are space-separated. The scopes asked at
  authorize must be among those the app was registered with, so an app registered before Crier
  asked for `read:statuses` must be registered again (or its accounts publish without lookups).
- Tokens never expire and there are no refresh tokens; a 401 means the token was revoked
  (GrantRevoked; TokenRejected when publishing). `revoke` calls `POST /oauth/revoke`.
- The provider needs an instance for every call: `exchange_code`/`revoke` take it from the app,
  `accounts` from `tokens.extra["instance_url"]` (set by `exchange_code`), and `identity`, which
  only has a token, from the instance the provider was bound to (`provider.for_instance(url)`, or
  `platforms.providers.provider("mastodon", instance_url=...)`). The account's id on the instance
  is `network_unique_id` up to its `@host`.

Publishing (`publisher`, `rules`):
- `POST /api/v1/statuses`; the first comment and the thread are replies (`in_reply_to_id`), each to
  the container before it. `config.mastodon` (`visibility`, `spoiler_text`, `language`,
  `sensitive`) applies to every container. A spoiler text makes Mastodon mark the status sensitive.
- `Idempotency-Key` is kept by the instance for an hour, per account: a repeat answers the status
  the first request made. Crier's key is the same for every delivery of one container.
- Length is the instance's own limit (`configuration.statuses.max_characters`, 500 by default),
  counted in grapheme clusters over the spoiler text plus the text, where every link counts 23 and
  a mention `@user@domain` only as `@user`. `identity` reads the limit with the account (so connect
  keeps it with the account, and a live health check reads it again); `rules.for_account` holds a
  post to it.
- Refusals: 422 `{"error": "Validation failed: …"}` (too long, blank); 404 when the status replied
  to is gone ("The post you are trying to reply to does not appear to exist."); 403 "This action
  is outside the authorized scopes". Rate limits (300 calls per 5 minutes; 300 statuses per 3
  hours per account) answer 429 with `X-RateLimit-Reset`, an ISO 8601 time, and no Retry-After.
- Statuses come back as HTML (`content`): links shortened inside spans, mentions shown as `@user`,
  paragraphs and `<br>`s. `find_published` compares that as text with the container's.
- `GET /api/v1/accounts/:id/statuses` with a token needs `read:statuses` (403 otherwise);
  without one it lists only public and unlisted statuses, which is what an older token gets.
- Media (`mastodon_media`): up to 4 attachments, images and GIFs together or one video alone, on
  any container; images and GIFs 16 MB, video 99 MB, at most 120 fps; alt text 1500 characters.
  A status with media may have no text. These are Mastodon's defaults: an instance may configure
  others (`configuration.media_attachments`), which Crier does not read yet. `find_published`
  adopts a status only if it carries the attachments the stage says were uploaded for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Literal

import httpx
import msgspec

from crier.contracts.common import AccountLimits, Container
from crier.kit.errors import Problem
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms import mastodon_media
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms._text import graphemes
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    posted_since,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.oauth import (
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    PlatformEndpoints,
    TokenSet,
)
from crier.platforms.rules import Rules

DEFAULT_SCOPES = ("read:accounts", "read:statuses", "write:statuses", "write:media")


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    app_id: str | None
    instance_url: str


def _classify(status: int, body: Any, context: oh.Context) -> OAuthError:
    if context == "api" and status == 401:
        detail = body.get("error") if isinstance(body, dict) else body
        return GrantRevoked(f"access token refused: {detail}")
    return oh.oauth2_error(status, body, context)


async def register_app(
    http: httpx.AsyncClient,
    instance_url: str,
    redirect_uri: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    *,
    client_name: str = "Crier",
    website: str | None = None,
) -> RegisteredApp:
    """Register an OAuth application on an instance (`POST /api/v1/apps`)."""
    base = instance_url.rstrip("/")
    body = await oh.send(
        http,
        "mastodon",
        "POST",
        f"{base}/api/v1/apps",
        context="token",
        classify=_classify,
        json=oh.form(client_name=client_name, redirect_uris=redirect_uri, scopes=" ".join(scopes), website=website),
    )
    return RegisteredApp(
        client_id=body["client_id"],
        client_secret=body["client_secret"],
        app_id=str(body["id"]) if body.get("id") is not None else None,
        instance_url=base,
    )


class MastodonProvider(CodeFlowProvider):
    platform = "mastodon"
    uses_pkce = True
    default_scopes = DEFAULT_SCOPES
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    revoke_path = "/oauth/revoke"

    def __init__(self, endpoints: PlatformEndpoints | None = None, *, fixed: bool = False) -> None:
        # `fixed`: every instance is served at `endpoints` (the simulator); otherwise the
        # instance comes from the app, the tokens or for_instance().
        self.fixed = fixed
        self.endpoints = endpoints or PlatformEndpoints(auth_base="", api_base="")

    def for_instance(self, instance_url: str) -> MastodonProvider:
        if self.fixed:
            return self
        base = instance_url.rstrip("/")
        return MastodonProvider(PlatformEndpoints(auth_base=base, api_base=base))

    def _at(self, instance_url: str | None) -> MastodonProvider:
        if self.fixed or (instance_url is None and self.endpoints.api_base):
            return self
        if not instance_url:
            raise OAuthError("mastodon needs the instance URL", code="instance_required")
        return self.for_instance(instance_url)

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        return _classify(status, body, context)

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        at = self._at(app.instance_url)
        return CodeFlowProvider.authorization_url(at, app, state=state, code_challenge=code_challenge, scopes=scopes)

    async def exchange_code(
        self, http: httpx.AsyncClient, app: AppCredentials, *, code: str, code_verifier: str | None
    ) -> TokenSet:
        at = self._at(app.instance_url)
        tokens = await CodeFlowProvider.exchange_code(at, http, app, code=code, code_verifier=code_verifier)
        return replace(tokens, extra={**tokens.extra, "instance_url": at.endpoints.api_base})

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        raise OAuthError("mastodon tokens do not expire and cannot be refreshed", code="refresh_not_supported")

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        await CodeFlowProvider.revoke(self._at(app.instance_url), http, app, token)

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        at = self._at(tokens.extra.get("instance_url"))
        return [await at.identity(http, tokens.access_token)]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        at = self._at(None)
        me = await at.get(http, "api", "/api/v1/accounts/verify_credentials", access_token)
        instance = at.endpoints.api_base
        return ConnectableAccount(
            network_unique_id=f"{me['id']}@{httpx.URL(instance).host}",
            username=me.get("acct") or me.get("username"),
            display_name=me.get("display_name") or me.get("username"),
            account_type="profile",
            profile_image_url=me.get("avatar"),
            extra={"instance_url": instance, "account_id": str(me["id"]), "url": me.get("url")},
            limits=AccountLimits(max_characters=await _status_limit(http, instance)),
        )


async def _status_limit(http: httpx.AsyncClient, instance_url: str) -> int | None:
    """The instance's status limit, or None when it cannot be read now: the account connects all
    the same, held to Mastodon's default until the limit is read again."""
    try:
        return await instance_max_characters(http, instance_url)
    except PlatformError:
        return None


provider = MastodonProvider()


# -- what a status may be ---------------------------------------------------------------------

DEFAULT_MAX_CHARACTERS = 500
URL_LENGTH = 23
# ISO 639-1, the codes Mastodon takes for a status's language.
_ISO_639_1 = """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
    dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik
    io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn
    mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg
    si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo
    xh yi yo za zh zu"""
LANGUAGES = frozenset(_ISO_639_1.split())
# A link as Mastodon's extractor finds one: a scheme it links, then anything up to a space, not
# ending in punctuation unless it closes a bracket the link opened ("(see https://x.org/a_(b))").
_URL_CHAR = r"(?:\([^\s()<>\"]*\)|[^\s()<>\"])"
URL = re.compile(
    r"(?<![A-Za-z0-9@$#])(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    rf"{_URL_CHAR}*(?:\([^\s()<>\"]*\)|[^\s()<>\"!',.:;?\]])",
    re.IGNORECASE,
)
# Account::MENTION_RE: `@user` or `@user@domain`, not inside a word, a path or a query.
MENTION = re.compile(r"(?<![=/\w])@(?>([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)(?![@]|://)", re.I)


def status_length(text: str) -> int:
    """A status's length as Mastodon counts it (StatusLengthValidator)."""
    countable = URL.sub("x" * URL_LENGTH, text)
    countable = MENTION.sub(lambda m: "@" + m.group(1), countable)
    return graphemes(countable)


class MastodonConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    visibility: Literal["public", "unlisted", "private", "direct"] | None = None
    # A content warning: the text is collapsed behind it, and counts towards the length.
    spoiler_text: str | None = None
    language: str | None = None
    sensitive: bool | None = None


# Mastodon 4.x's defaults (MediaAttachment's limits, PostStatusService's checks): a GIF becomes a
# `gifv`, which goes with images; a video goes alone.
MEDIA = MediaLimits(
    max_items=4,
    types=frozenset({"image", "gif", "video"}),
    max_gifs=4,
    mix=True,
    image_max_bytes=16 * MB,
    gif_max_bytes=16 * MB,
    video_max_bytes=99 * MB,
    max_frame_rate=120,
    max_alt_text=1500,
)


class MastodonRules(Rules):
    platform = "mastodon"
    config_type = MastodonConfig
    first_comment = True
    thread = True
    max_length = DEFAULT_MAX_CHARACTERS
    text_required = False
    media = MEDIA

    def for_account(self, account_type: str | None, limits: AccountLimits) -> Rules:
        # The instance's own limit, as connect last read it; unknown (an account connected before
        # Crier read it, or an instance that would not say) is Mastodon's default.
        return rules_for(limits.max_characters) if limits.max_characters else rules

    def length(self, text: str) -> int:
        return status_length(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if len(container.media) > 1 and any(m.type == "video" for m in container.media):
            problems.append(
                Problem(f"containers[{index}].media", "media_mix_unsupported", "mastodon takes a video alone")
            )
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        problems = []
        if config.language is not None and config.language not in LANGUAGES:
            problems.append(
                Problem("config.mastodon.language", "invalid_config", f"{config.language!r} is not an ISO 639-1 code")
            )
        spoiler = graphemes(config.spoiler_text or "")
        for i, container in enumerate(containers):
            own = self.length(container.content)
            if self.max_length is not None and spoiler and own <= self.max_length < own + spoiler:
                problems.append(
                    Problem(
                        f"containers[{i}].content",
                        "too_long",
                        f"{own + spoiler} characters with the spoiler_text as mastodon counts them; "
                        f"at most {self.max_length}",
                    )
                )
        return problems


@functools.lru_cache(maxsize=256)
def rules_for(max_characters: int) -> MastodonRules:
    """The rules of an instance whose operator changed the limit (`instance_max_characters`)."""
    if max_characters == DEFAULT_MAX_CHARACTERS:
        return rules

    class InstanceRules(MastodonRules):
        max_length = max_characters

    return InstanceRules()


rules = MastodonRules()


async def instance_max_characters(http: httpx.AsyncClient, instance_url: str) -> int:
    """The instance's status limit (`/api/v2/instance`, or `/api/v1/instance` on instances older than
    4.0); Mastodon's default when it says none."""
    base = instance_url.rstrip("/")
    for path in ("/api/v2/instance", "/api/v1/instance"):
        try:
            body = await ph.send(http, "mastodon", "GET", base + path)
        except PlatformError as err:
            if err.code == "not_found":
                continue
            raise
        limit = ((body.get("configuration") or {}).get("statuses") or {}).get("max_characters")
        return int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_CHARACTERS
    return DEFAULT_MAX_CHARACTERS


# -- publishing -------------------------------------------------------------------------------


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    said = ph.message_of(body) or f"HTTP {resp.status_code}"
    refused = mastodon_media.media_error(resp.request.method, resp.request.url.path, resp.status_code, said)
    if refused is not None:
        return refused
    # Creating a status answers 404 for one reason only: the status it replies to is gone.
    if resp.status_code == 404 and resp.request.method == "POST" and resp.request.url.path.endswith("/statuses"):
        return ContentRejected(ph.message_of(body) or "the status replied to is gone", code="reply_target_missing")
    return None


class _Text(HTMLParser):
    """A status's HTML `content` as the text it was written from, near enough to compare."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def comparable(text: str, *, html: bool = False) -> str:
    """Text with the differences Mastodon's rendering makes taken out: markup, whitespace, and
    the domain of a mention."""
    if html:
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    return " ".join(MENTION.sub(lambda m: "@" + m.group(1), text).split())


class MastodonAdapter:
    name = "mastodon"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings

    def _instance(self, ctx: PublishContext) -> str:
        # Under a stand-in (CRIER_PLATFORM_BASE_URL) every account lives on its one instance.
        real = ph.account_of(ctx).instance_url
        if not real and not self.settings.base_url_override:
            raise PlatformError("the account has no Mastodon instance", code="instance_required")
        return self.settings.base("mastodon", real or "")

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return await ph.send(
            self.http, "mastodon", method, url, classify=_publishing_error, timeout=self.settings.timeout_s, **kwargs
        )

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options, problems = rules.config(ctx.config)
        if problems:
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        instance, token = self._instance(ctx), ph.account_of(ctx).access_token

        async def call(method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
            return await self._call(method, instance + path, headers={**(headers or {}), **ph.bearer(token)}, **kwargs)

        media_ids = await mastodon_media.media_ids(call, ctx, container, index)
        body: dict[str, Any] = {"status": container.content}
        if media_ids:
            body["media_ids"] = media_ids
        if parent is not None:
            body["in_reply_to_id"] = parent.platform_post_id
        body.update({k: v for k, v in msgspec.structs.asdict(options).items() if v is not None} if options else {})
        headers = {**ph.bearer(ph.account_of(ctx).access_token), "Idempotency-Key": ctx.idempotency_key(index)}
        status = await self._call("POST", f"{self._instance(ctx)}/api/v1/statuses", json=body, headers=headers)
        return PublishedContainer(str(status["id"]), status.get("url") or status.get("uri"))

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest of the account's 40 latest statuses with this text, replying to `parent`,
        carrying the attachments the stage says were uploaded for it."""
        want_media = mastodon_media.uploaded(ctx, container, index)
        if want_media is None:  # its uploads never finished: no status can carry them yet
            return None
        account = ph.account_of(ctx)
        url = f"{self._instance(ctx)}/api/v1/accounts/{account.network_unique_id.partition('@')[0]}/statuses"
        params = {"limit": "40", "exclude_reblogs": "true"}
        try:
            statuses = await self._call("GET", url, params=params, headers=ph.bearer(account.access_token))
        except PlatformError as refused:
            if refused.code != "missing_permission":
                raise
            try:  # a token without read:statuses: what anyone sees (public and unlisted statuses)
                statuses = await self._call("GET", url, params=params)
            except PlatformError:
                raise refused from None
        want_parent = parent.platform_post_id if parent is not None else None
        want_text = comparable(container.content)
        for status in statuses if isinstance(statuses, list) else []:
            if (
                status.get("in_reply_to_id") == want_parent
                and comparable(status.get("content", ""), html=True) == want_text
                and posted_since(_instant(status.get("created_at")), ctx.sent_at)
                and [str(m.get("id")) for m in status.get("media_attachments") or []] == want_media
            ):
                return PublishedContainer(str(status["id"]), status.get("url") or status.get("uri"))
        return None


def _instant(value: Any) -> datetime | None:
    """A status's `created_at` (ISO 8601 with `Z`), or None when it is missing or malformed."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> MastodonAdapter:
    return MastodonAdapter(http, settings)
