"""X (Twitter): OAuth 2.0 authorization code with PKCE, and publishing posts through API v2.

- PKCE S256 is mandatory; a confidential client authenticates with HTTP Basic at the token endpoint.
- Access tokens live 2 hours. A refresh token is issued only with the `offline.access` scope, and it
  rotates: every refresh answers a new one and the old one stops working, so the caller must store
  the new refresh token before anything else.
- Revoking the refresh token ends the grant; revoking only the access token leaves the refresh
  token working, so pass the refresh token to `revoke` when there is one.
- X reports a dead refresh token as `invalid_request` ("Value passed for the token was invalid"),
  not `invalid_grant`; that is classified as GrantRevoked here.

Publishing (`publisher`, `rules`):
- `POST /2/tweets` with `text` (scope `tweet.write`); the first comment and the thread are replies
  (`reply.in_reply_to_tweet_id`), each to the container before it. `config.x`: `reply_settings`,
  `for_super_followers_only` and `paid_partnership` go with every container, `quote_tweet_id` with
  the post (container 0) only. The answer is `{"data": {"id", "text"}}` (201); the post's page is
  `https://x.com/<username>/status/<id>`.
- There is no idempotency key. X refuses the same text from the same account again for a while:
  403 "You are not allowed to create a Tweet with duplicate content." (`duplicate_content`).
- Length is twitter-text's weighted count (its v3 configuration) of the NFC-normalized text, at
  most 280: code points up to U+10FF and a few punctuation ranges count 1, all others (CJK, most
  emoji) 2; an emoji sequence (skin tone, ZWJ family, flag, keycap) counts as its first code point;
  every link counts 23, whatever its length. X links `http(s)://` URLs and bare domains with a
  known top-level domain (`example.com/page`; a two-letter country domain alone, `file.py`, only
  with a path or a subdomain). U+FFFE, U+FEFF and U+FFFF are refused. Premium accounts' long
  posts are not offered.
- Refusals: 400 Problem `invalid-request` with the particulars in `errors[].message`; 403 Problem
  "Forbidden" (`about:blank`) for a duplicate, a reply to a post that is gone ("deleted or not
  visible to you": `reply_target_missing`), a text too long ("needs to be a bit shorter") and a
  missing permission alike, told apart by the backend's words in `detail` only. A 429 carries
  `x-rate-limit-reset` (epoch seconds) and no Retry-After.
- A post's `text` comes back with every link replaced by a t.co link and `&`, `<`, `>` as HTML
  entities. `find_published` lists the account's latest 100 posts (`GET /2/users/:id/tweets`,
  `tweet.read` + `users.read`, newest first, replies included, since the first send) and compares
  texts with their links masked and the replied-to post. In API 2.167 the reference is the
  expansion `referenced_posts` (no `post.fields` value); the older API asked for the field
  `referenced_tweets` in `tweet.fields`: both names are read. X's lower access tiers allow very
  few such lookups (a 429 then waits like any other).
- Media (`x_media`): up to 4 images, or 1 GIF, or 1 video, never mixed, in any container (replies
  too); images 5 MB, GIFs 15 MB, video 8 GB, 0.5 s to 20 minutes, at most 60 fps, at least 32 px a
  side, aspect ratio 1:3 to 3:1 (a default account's limits; X Premium's longer videos are not
  offered); alt text 1000 characters, sent for images and GIFs only (X takes none for a video).
  A post with media may have no text. The post names the uploads in `media.media_ids`;
  `find_published` also asks for `attachments` and adopts a post only if it carries the media the
  stage says were uploaded.
"""

from __future__ import annotations

import functools
import html
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
import msgspec
import regex

from crier.contracts.common import Container
from crier.kit.errors import Problem
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms import x_media
from crier.platforms._code_flow import CodeFlowProvider
from crier.platforms.base import (
    CLOCK_SKEW,
    ContentRejected,
    OutcomeUnknown,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    posted_since,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.oauth import ConnectableAccount, GrantRevoked, OAuthError, PlatformEndpoints
from crier.platforms.rules import Rules

API = "https://api.x.com"


class XProvider(CodeFlowProvider):
    platform = "x"
    uses_pkce = True
    default_scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    real_endpoints = PlatformEndpoints(auth_base="https://x.com", api_base=API)
    authorize_path = "/i/oauth2/authorize"
    token_path = "/2/oauth2/token"
    revoke_path = "/2/oauth2/revoke"
    client_auth = "basic"

    def classify(self, status: int, body: Any, context: oh.Context) -> OAuthError:
        if context == "token" and isinstance(body, dict) and body.get("error") == "invalid_request":
            description = str(body.get("error_description") or "")
            if "token was invalid" in description or "authorization code" in description.lower():
                return GrantRevoked(description)
        if context == "api" and isinstance(body, dict) and "title" in body:
            # API v2 problem details: {"title", "detail", "type", "status"}.
            body = {"error": body.get("title"), "error_description": body.get("detail")}
        return super().classify(status, body, context)

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        body = await self.get(
            http, "api", "/2/users/me", access_token, params={"user.fields": "profile_image_url,verified"}
        )
        user = body.get("data") or {}
        return ConnectableAccount(
            network_unique_id=str(user["id"]),
            username=user.get("username"),
            display_name=user.get("name"),
            account_type="profile",
            profile_image_url=user.get("profile_image_url"),
            extra={"verified": user.get("verified", False)},
        )


provider = XProvider()


# -- what a post may be: twitter-text's weighted length ----------------------------------------

MAX_WEIGHTED_LENGTH = 280
URL_LENGTH = 23
# twitter-text v3: these code point ranges weigh 1, every other code point 2.
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_GRAPHEME = regex.compile(r"\X")
# A grapheme cluster that is an emoji sequence weighs what its first code point weighs.
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
INVALID_CHARACTERS = regex.compile("[\ufffe\ufeff\uffff]")

# Top-level domains of bare links (`example.com`): every country domain, and the generic ones seen
# most. A bare domain under a rarer generic one is counted by its characters; links with a scheme
# are links whatever their top-level domain.
_COUNTRY = """ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs
    bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et eu fi
    fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq
    ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk
    ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn
    pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg
    th tj tk tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
_GENERIC = """com net org edu gov mil int info biz name pro mobi aero asia coop jobs museum tel travel cat post xxx app
    dev page blog shop store online site website tech space xyz club live news art design cloud email link click
    top icu vip ltd agency studio media network digital social life world today group company center solutions
    services support systems software tools academy education school university city global international events
    video music photo photos photography pics gallery games game fun lol wiki zone team works work guru ninja
    rocks cool bio eco green earth health care fit fitness food cafe restaurant pizza bar beer wine coffee
    fashion style shoes jewelry money finance bank capital fund investments insure law legal consulting
    marketing business ventures market markets trade energy solar realty homes house estate tours flights
    hotel hotels wedding love dating family kids baby dog fish garden farm ski golf football soccer tennis
    bike auto cars car taxi run fyi how wtf lgbt church faith one now new win chat forum community foundation
    charity gives ngo ong"""
COUNTRY_TLDS, GENERIC_TLDS = frozenset(_COUNTRY.split()), frozenset(_GENERIC.split())
# Two-letter country domains that make a link even without a subdomain or a path (`t.co`).
_SHORT_LINK_TLDS = frozenset({"co", "tv"})

# twitter-text's characters of a link's path and query, and those a link may end with: a full stop
# or a comma after a link is the sentence's, not the link's.
_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    r"\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_PATH_CHAR = rf"[a-z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~&|@{_ACCENTS}]"
_PATH_END = rf"[+\-a-z\u0400-\u04ff0-9=_#/{_ACCENTS}]"
_PARENS = rf"\((?:{_PATH_CHAR}|\({_PATH_CHAR}*\))*\)"
_PATH = rf"/(?:(?:{_PATH_CHAR}|{_PARENS})*(?:{_PATH_END}|{_PARENS}))?"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
# A domain label: anything but spaces, controls and punctuation (`☃.net` is a domain), checked further
# by `_label_ok`; a top-level domain is letters, or punycode.
_LABEL = r"(?:[^\s\p{P}\p{Z}\p{C}$+<=>^`|~]|[_-])+"
_TLD = r"(?:(?:xn--[a-z0-9]++|[a-z]++)(?![a-z0-9@＠+-])|(?:(?![a-z])[\p{L}\p{M}])++(?![\p{L}\p{N}\p{M}@＠-]))"
_USERINFO = r"(?:[\w\-.~!$&'()*+,;=%:]+@)?"
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
URL = regex.compile(
    rf"""(?:(?<![a-z0-9@＠$#＃])https?://{_USERINFO}(?P<host>(?:{_LABEL}\.)+{_TLD}|{_IPV4}(?!\d))
        |(?<![\p{{L}}\p{{N}}\p{{M}}@＠$#＃_.\-/])(?P<bare>(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)+[a-z]++)(?![a-z0-9@＠+-])
    )(?::\d{{1,5}})?(?P<path>{_PATH})?(?:{_QUERY})?""",
    regex.IGNORECASE | regex.VERBOSE,
)


def _label_ok(label: str) -> bool:
    """A DNS label as X takes it: 63 characters at most once an international one is punycoded."""
    if not label or label.startswith("-") or label.endswith("-"):
        return False
    return len(label if label.isascii() else "xn--" + label.encode("punycode").decode()) <= 63


def _is_link(match: regex.Match[str]) -> bool:
    host = match.group("host")
    if host is not None:
        labels = host.split(".")
        if regex.fullmatch(_IPV4, host):
            return True
        return all(map(_label_ok, labels)) and "_" not in labels[-2] + labels[-1]
    labels = match.group("bare").lower().split(".")
    tld = labels[-1]
    if not all(map(_label_ok, labels)) or "_" in labels[-2] or tld not in COUNTRY_TLDS | GENERIC_TLDS:
        return False
    bare_country_domain = tld in COUNTRY_TLDS and tld not in GENERIC_TLDS and len(labels) == 2
    return not bare_country_domain or match.group("path") is not None or tld in _SHORT_LINK_TLDS


def links(text: str) -> list[tuple[int, int]]:
    """Where X finds links in `text` (NFC-normalized first, as X does): (start, end) spans."""
    if "." not in text:
        # Every link `URL` matches has one (between a host's labels or an IPv4's numbers): most
        # posts skip the regex, which takes microseconds even on a short text.
        return []
    return [m.span() for m in URL.finditer(text) if _is_link(m)]


def _weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT) else 2


def _weigh(text: str) -> int:
    if text.isascii():
        # Every ASCII character weighs 1 and none is part of an emoji sequence (the one ASCII
        # cluster of two, CRLF, weighs 2 as well): most posts skip the clusters' regex.
        return len(text)
    return _weigh_clusters(text)


def _weigh_clusters(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if len(cluster) > 1 and _EMOJI.search(cluster):
            total += _weight(cluster[0])
        else:
            total += sum(map(_weight, cluster))
    return total


def weighted_length(text: str) -> int:
    """A post's length as X counts it (twitter-text's `parseTweet(...).weightedLength`)."""
    text = unicodedata.normalize("NFC", text)
    total, at = 0, 0
    for start, end in links(text):
        total += _weigh(text[at:start]) + URL_LENGTH
        at = end
    return total + _weigh(text[at:])


TweetId = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,19}$")]


class XConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Who may reply; everyone when absent.
    reply_settings: Literal["following", "mentionedUsers", "subscribers", "verified"] | None = None
    for_super_followers_only: bool | None = None
    # The disclosure of a paid partnership, shown on the post.
    paid_partnership: bool | None = None
    # The post (container 0) quotes this one.
    quote_tweet_id: TweetId | None = None


# X's media best practices (docs.x.com/x-api/media/quickstart/best-practices), a default account.
MEDIA = MediaLimits(
    max_items=4,
    types=frozenset({"image", "gif", "video"}),
    image_mimes=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
    image_max_bytes=5 * MB,
    gif_max_bytes=15 * MB,
    video_max_bytes=8 * 1024 * MB,
    video_aspect=(1 / 3, 3.0),
    min_duration_s=0.5,
    max_duration_s=20 * 60,
    max_frame_rate=60,
    max_alt_text=1000,
)
MIN_VIDEO_SIDE_PX = 32


class XRules(Rules):
    platform = "x"
    config_type = XConfig
    first_comment = True
    thread = True
    max_length = MAX_WEIGHTED_LENGTH
    text_required = False
    media = MEDIA

    def length(self, text: str) -> int:
        return weighted_length(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if INVALID_CHARACTERS.search(container.content):
            problems.append(
                Problem(
                    f"containers[{index}].content",
                    "invalid_characters",
                    "x refuses the characters U+FFFE, U+FEFF and U+FFFF",
                )
            )
        for i, item in enumerate(container.media):
            # X bounds a video's sides (32 px at least), not an image's.
            sides = [s for s in (item.width, item.height) if s]
            if item.type == "video" and sides and min(sides) < MIN_VIDEO_SIDE_PX:
                problems.append(
                    Problem(
                        f"containers[{index}].media[{i}]",
                        "media_dimensions",
                        f"{item.width}x{item.height}; x needs at least {MIN_VIDEO_SIDE_PX} px a side of a video",
                    )
                )
        return problems


rules = XRules()


# -- publishing -------------------------------------------------------------------------------


def _words(body: Any) -> str:
    """What an X refusal says: the Problem's `detail`, and the particulars in `errors[].message`."""
    if not isinstance(body, dict):
        return ph.message_of(body) or ""
    detail = str(body.get("detail") or body.get("title") or "").strip()
    particulars = "; ".join(
        str(e["message"]) for e in body.get("errors") or [] if isinstance(e, dict) and e.get("message")
    )
    if detail and particulars:
        return f"{detail.rstrip('.')}: {particulars}"
    return detail or particulars or (ph.message_of(body) or "")


# X's 403s tell a refused text from a missing permission by their words only, its backend's words.
_REFUSED_CONTENT = (
    ("duplicate content", "duplicate_content"),
    ("deleted or not visible", "reply_target_missing"),
    ("a bit shorter", "content_rejected"),
    ("too long", "content_rejected"),
)


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    said = _words(body)
    # A media call refused is the media refused (its type, size or length), whatever the post.
    if resp.status_code == 400 and "/2/media/" in resp.request.url.path:
        return ContentRejected(f"x refused the media: {said}", code="media_rejected")
    if resp.status_code == 403:
        for words, code in _REFUSED_CONTENT:
            if words in said.lower():
                return ContentRejected(said, code=code)
    if resp.status_code in (400, 403) and said:
        return ph.error_for("x", resp, {"detail": said})
    return None


def _options(config: msgspec.Struct | None, index: int) -> dict[str, Any]:
    chosen = {k: v for k, v in msgspec.structs.asdict(config).items() if v is not None} if config else {}
    if index > 0:
        chosen.pop("quote_tweet_id", None)
    return chosen


def comparable(text: str) -> str:
    """Text with what X changes taken out: links (t.co) masked, HTML entities, Unicode form and
    whitespace."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    masked, at = [], 0
    for start, end in links(text):
        masked += [text[at:start], "\x00link\x00"]
        at = end
    return " ".join(("".join(masked) + text[at:]).split())


def _replied_to(post: dict[str, Any]) -> str | None:
    for ref in post.get("referenced_posts") or post.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to":
            return str(ref.get("id"))
    return None


def _media_of(post: dict[str, Any]) -> list[str]:
    """The media ids a listed post carries: its `attachments.media_keys` are `<type>_<media id>`."""
    keys = (post.get("attachments") or {}).get("media_keys") or []
    return [str(k).partition("_")[2] or str(k) for k in keys]


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


class XAdapter:
    name = "x"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings
        self.api = settings.base("x", API)

    async def _call(self, method: str, path: str, ctx: PublishContext, **kwargs: Any) -> Any:
        headers = ph.bearer(ph.account_of(ctx).access_token)
        return await ph.send(
            self.http,
            "x",
            method,
            self.api + path,
            classify=_publishing_error,
            timeout=self.settings.timeout_s,
            headers=headers,
            **kwargs,
        )

    def _published(self, ctx: PublishContext, post_id: str) -> PublishedContainer:
        username = ph.account_of(ctx).username or ctx.account_username
        page = f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}"
        return PublishedContainer(post_id, page)

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options, problems = rules.config(ctx.config)
        if problems:
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        media_ids = await x_media.media_ids(functools.partial(self._call, ctx=ctx), ctx, container, index)
        # Text may be left out of a post that carries media.
        body: dict[str, Any] = {"text": container.content} if container.content or not media_ids else {}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if parent is not None:
            body["reply"] = {"in_reply_to_tweet_id": parent.platform_post_id}
        body.update(_options(options, index))
        created = await self._call("POST", "/2/tweets", ctx, json=body)
        data = created.get("data") if isinstance(created, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            # Accepted, yet no post named: it may well exist, so the next delivery looks for it.
            raise OutcomeUnknown(f"x answered without a post id: {ph.message_of(created) or created!r}"[:500])
        return self._published(ctx, str(data["id"]))

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest of the account's 100 latest posts (since the first send) with this text,
        replying to `parent`, carrying the media the stage says were uploaded for it."""
        want_media = x_media.uploaded(ctx, container, index)
        if want_media is None:  # its uploads never finished: no post can carry them yet
            return None
        params = {
            "max_results": "100",
            "exclude": "retweets",
            "post.fields": "created_at,conversation_id,attachments",
            "expansions": "referenced_posts",
        }
        if ctx.sent_at is not None:
            since = ctx.sent_at.astimezone(UTC) - CLOCK_SKEW
            params["start_time"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        user_id = ph.account_of(ctx).network_unique_id
        listing = await self._call("GET", f"/2/users/{user_id}/tweets", ctx, params=params)
        want_parent = parent.platform_post_id if parent is not None else None
        want_text = comparable(container.content)
        posts = listing.get("data") if isinstance(listing, dict) else None
        for post in posts if isinstance(posts, list) else []:
            if (
                isinstance(post, dict)
                and _replied_to(post) == want_parent
                and comparable(str(post.get("text", ""))) == want_text
                and posted_since(_instant(post.get("created_at")), ctx.sent_at)
                and _media_of(post) == want_media
            ):
                return self._published(ctx, str(post["id"]))
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> XAdapter:
    return XAdapter(http, settings)
