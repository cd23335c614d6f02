"""Bluesky (AT Protocol): an account lives on its PDS (Personal Data Server), which holds its
repository of records and answers XRPC calls (`<pds>/xrpc/<nsid>`).

Connecting (`provider`):
- With an app password (Settings → Privacy and security → App passwords): `create_session` trades
  handle (or email, or DID) + app password for a session (`com.atproto.server.createSession`) on the
  account's PDS. The app password itself is not kept.
- `accessJwt` lives about 2 hours, `refreshJwt` about 90 days; both expiries come from the JWTs'
  `exp` claim. `refresh` (`refreshSession`, authenticated with the refresh JWT) rotates: the old
  refresh JWT stops working. `revoke` deletes the session (`deleteSession`, with the refresh JWT).
- Identity comes from the PDS alone: `getSession` (DID, handle) and the profile record
  `app.bsky.actor.profile/self` read with `com.atproto.repo.getRecord` (display name, avatar blob).
  `app.bsky.actor.getProfile` is an AppView call: a PDS with no AppView behind it answers it 400.
- XRPC errors are `{"error": <name>, "message"}`: `ExpiredToken`/`InvalidToken` on a refresh mean
  the session is gone (GrantRevoked); on an API call an expired access JWT wants a refresh. A PDS
  answers those with 400, not 401.
- With atproto OAuth (`begin`, `exchange_code`), when the organization's Bluesky app (or the
  managed one) is a client: its client id is the URL of its client metadata document
  (`atproto.oauth.client_metadata`), with no secret. The request is pushed (PAR) to the
  authorization server the PDS names (the flow's PDS, else the entryway's), with PKCE and a DPoP
  key made for the account; tokens are bound to that key, and Crier keeps and hands out each
  token together with its key (`atproto.oauth.Bound`, sealed like any token). Refresh tokens
  rotate; `invalid_grant` means the grant is gone. The account's PDS must be one the issuing
  authorization server speaks for (checked from its DID document), and the callback's `iss` the
  server the request was pushed to. One client serves accounts on every PDS: there is no
  registration, each authorization server fetches the client's document when asked.
- Which PDS: the one given at sign-in, else the one the handle or DID leads to (`locate_pds`:
  handle → DID → DID document, `atproto.identity`), else the entryway (bsky.social), whose
  session answer names the account's PDS in its DID document.

Publishing (`publisher`, `rules`):
- A post is a record: `com.atproto.repo.createRecord` of an `app.bsky.feed.post` in the account's
  repo (`repo` = its DID) on its PDS, answering the record's `uri` (`at://<did>/app.bsky.feed.post/
  <rkey>`, Crier's platform post id) and `cid` (the hash of this version of the record).
- Links, mentions and hashtags are live only through facets the client computes, in UTF-8 byte
  offsets (`atproto.richtext`); a mention names the DID its handle resolves to
  (`com.atproto.identity.resolveHandle` on the PDS), and a handle that resolves to none stays text.
- The first comment and the thread are replies: `reply.parent` is a strong ref (uri + cid) to the
  container before, `reply.root` one to the thread's first post. A reply reads its parent back
  (`getRecord`) for the cid and the parent's own root; a parent that is gone fails the reply.
- `config.bluesky.langs`: up to 3 BCP 47 language tags, on every container.
- Limits: 300 grapheme clusters and 3000 UTF-8 bytes of text (the lexicon's maxGraphemes/maxLength).
- There is no idempotency key. `find_published` lists the account's latest posts
  (`com.atproto.repo.listRecords`, newest first) and adopts one with the same text and parent.
- Rate limits answer 429 with `ratelimit-reset` (epoch seconds) and no Retry-After; content the
  PDS refuses is 400 `InvalidRequest` ("Invalid app.bsky.feed.post record: …").
- Media (`bluesky_media`): blobs (`com.atproto.repo.uploadBlob`) in an `app.bsky.embed.images`
  (up to 4 images or GIFs, each with its alt text and aspect ratio; a GIF is shown as a still
  picture) or an `app.bsky.embed.video` (one MP4 alone, up to 100 MB and 3 minutes). An image over
  the 2,000,000-byte blob limit is re-encoded under it rather than refused. A post with media may
  have no text. `find_published` adopts a post only if it embeds the blobs the stage says were
  uploaded for it.
- An OAuth account's calls carry `Authorization: DPoP <token>` and a proof with its key; the PDS's
  nonce is learnt from its first refusal and kept per PDS for the next calls.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from crier.contracts.common import Container, Platform
from crier.kit.errors import Problem
from crier.platforms import _oauth_http as oh
from crier.platforms import _publish_http as ph
from crier.platforms import bluesky_media
from crier.platforms._text import graphemes
from crier.platforms.atproto import identity, richtext
from crier.platforms.atproto import oauth as atproto_oauth
from crier.platforms.atproto.syntax import is_language, parse_at_uri
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PlatformSettings,
    PublishContext,
    PublishedContainer,
    TokenRejected,
    posted_since,
)
from crier.platforms.media_rules import MB, MediaLimits
from crier.platforms.oauth import (
    AccessTokenInvalid,
    AppCredentials,
    ConnectableAccount,
    GrantRevoked,
    OAuthError,
    PlatformEndpoints,
    TokenSet,
)
from crier.platforms.rules import Rules

DEFAULT_PDS = "https://bsky.social"
APP_URL = "https://bsky.app"
POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
_DEAD_SESSION = {"ExpiredToken", "InvalidToken", "AccountTakedown", "AccountDeactivated"}
_REFUSED_TOKEN = {"ExpiredToken", "InvalidToken"}


def xrpc(base: str, nsid: str) -> str:
    return f"{base.rstrip('/')}/xrpc/{nsid}"


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, read without verifying it (only the PDS can, and it will)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _error_name(body: Any) -> str | None:
    name = body.get("error") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _classify(status: int, body: Any, context: oh.Context) -> OAuthError:
    name = _error_name(body)
    message = str((body.get("message") if isinstance(body, dict) else None) or name or f"HTTP {status}")
    if name == "AuthFactorTokenRequired":
        return OAuthError(message, code="auth_factor_required")
    if context == "token" and (name in _DEAD_SESSION or status == 401):
        return GrantRevoked(message)
    if context == "api" and (name in _REFUSED_TOKEN or status == 401):
        return AccessTokenInvalid(message)
    return OAuthError(message, code=name or f"http_{status}")


def blob_url(pds: str, did: str, blob: Any) -> str | None:
    """Where a blob (an avatar) can be fetched from the PDS that holds it."""
    ref = blob.get("ref") if isinstance(blob, dict) else None
    cid = ref.get("$link") if isinstance(ref, dict) else None
    return f"{xrpc(pds, 'com.atproto.sync.getBlob')}?did={did}&cid={cid}" if isinstance(cid, str) else None


class BlueskyProvider:
    platform: Platform = "bluesky"
    uses_pkce = False
    multi_account = False
    default_scopes: tuple[str, ...] = ("com.atproto.appPass",)
    flow = "app_password"

    def __init__(
        self,
        endpoints: PlatformEndpoints | None = None,
        *,
        fixed: bool = False,
        plc_url: str = identity.DEFAULT_PLC,
        entryway: str | None = None,
    ) -> None:
        # `fixed`: every account lives on the PDS at `endpoints` (a stand-in). Otherwise the
        # provider speaks to the PDS at `endpoints`, or to the entryway, which is asked when the
        # account's own PDS is not known.
        self.fixed = fixed
        self.endpoints = endpoints or PlatformEndpoints(auth_base=DEFAULT_PDS, api_base=DEFAULT_PDS)
        self.entryway = entryway or self.endpoints.api_base
        self.plc_url = plc_url
        # DPoP nonces by server origin, learnt from the servers' answers (atproto OAuth).
        self.nonces: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<BlueskyProvider {self.endpoints.api_base}>"

    def configured(self, settings: PlatformSettings) -> BlueskyProvider:
        """XRPC has no API version to configure."""
        return self

    def for_instance(self, instance_url: str | None) -> BlueskyProvider:
        if self.fixed or not instance_url:
            return self
        base = instance_url.rstrip("/")
        bound = BlueskyProvider(
            PlatformEndpoints(auth_base=base, api_base=base), plc_url=self.plc_url, entryway=self.entryway
        )
        bound.nonces = self.nonces
        return bound

    async def locate_pds(self, http: httpx.AsyncClient, identifier: str) -> str | None:
        """The PDS of the account a handle or DID names (handle → DID → DID document), for a
        sign-in that names none; None under a stand-in, or for an e-mail address (the entryway
        knows those). Raises IdentityUnresolved when there is no such account to be found."""
        if self.fixed:
            return None
        found = await identity.locate(http, identifier, plc_url=self.plc_url, resolvers=(self.entryway,))
        return found[1] if found else None

    def xrpc(self, nsid: str) -> str:
        return xrpc(self.endpoints.api_base, nsid)

    async def _call(
        self, http: httpx.AsyncClient, method: str, nsid: str, token: str | None, context: oh.Context, **kwargs: Any
    ) -> Any:
        bound = atproto_oauth.Bound.decode(token)
        if bound is not None:  # an OAuth access token: DPoP, with its key
            kwargs["auth"] = atproto_oauth.DPoPAuth(bound.key, self.nonces, access_token=bound.token)
        headers = oh.bearer(token) if token and bound is None else {}
        return await oh.send(
            http, self.platform, method, self.xrpc(nsid), context=context, classify=_classify, headers=headers, **kwargs
        )

    def _tokens(self, body: dict[str, Any]) -> TokenSet:
        # An entryway (bsky.social) opens sessions for accounts that live on other PDSes: the
        # session's DID document says which, and every later call goes there.
        doc = body.get("didDoc")
        home = identity.pds_of(doc) if isinstance(doc, dict) and doc.get("id") == body.get("did") else None
        pds = home if home and not self.fixed and self.endpoints.api_base == self.entryway else self.endpoints.api_base
        return TokenSet(
            access_token=body["accessJwt"],
            refresh_token=body["refreshJwt"],
            expires_at=jwt_expiry(body["accessJwt"]),
            refresh_expires_at=jwt_expiry(body["refreshJwt"]),
            scopes=self.default_scopes,
            extra={"did": body.get("did"), "handle": body.get("handle"), "pds_url": pds},
        )

    async def create_session(
        self,
        http: httpx.AsyncClient,
        identifier: str,
        app_password: str,
        *,
        instance_url: str | None = None,
        auth_factor_token: str | None = None,
    ) -> TokenSet:
        """The app-password login: handle (or email, or DID) + app password → a session."""
        at = self.for_instance(instance_url)
        body = await at._call(
            http,
            "POST",
            "com.atproto.server.createSession",
            None,
            "token",
            json=oh.form(identifier=identifier.lstrip("@"), password=app_password, authFactorToken=auth_factor_token),
        )
        return at._tokens(body)

    def authorization_url(
        self, app: AppCredentials, *, state: str, code_challenge: str | None, scopes: tuple[str, ...]
    ) -> str:
        raise OAuthError(
            "bluesky pushes its authorization requests first (begin), or signs in with an app password",
            code="pushed_authorization_required",
        )

    async def begin(
        self, http: httpx.AsyncClient, app: AppCredentials, *, state: str, scopes: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """atproto OAuth for the client `app.client_id` (its metadata document's URL): the
        authorization URL of a request pushed to the authorization server of the PDS (the one
        the flow names, else the entryway's), and what the callback needs to redeem the code (the
        PKCE verifier, the account's new DPoP key, the server), which the caller keeps sealed."""
        if not app.client_id:
            raise OAuthError("atproto OAuth needs a client (its client metadata URL)", code="app_password_flow")
        wanted = " ".join(s for s in scopes if s not in self.default_scopes) or atproto_oauth.SCOPE
        url, flow = await atproto_oauth.start(
            http,
            self.endpoints.api_base,
            client_id=app.client_id,
            redirect_uri=app.redirect_uri,
            state=state,
            scope=wanted,
            nonces=self.nonces,
        )
        return url, flow.encode()

    async def exchange_code(
        self,
        http: httpx.AsyncClient,
        app: AppCredentials,
        *,
        code: str,
        code_verifier: str | None,
        iss: str | None = None,
    ) -> TokenSet:
        """`iss`: the issuer the authorization response named, which must be the flow's server."""
        flow = atproto_oauth.Flow.decode(code_verifier)
        body = await atproto_oauth.redeem(
            http,
            flow,
            code=code,
            iss=iss,
            client_id=app.client_id,
            redirect_uri=app.redirect_uri,
            nonces=self.nonces,
        )
        home = await self._home_of(http, body["sub"], flow.server.issuer, flow.pds)
        return atproto_oauth.token_set(body, flow.key, flow.server, home)

    async def _home_of(self, http: httpx.AsyncClient, did: str, issuer: str, pds: str) -> str:
        """The account's PDS, whose authorization server must be the one that issued the tokens:
        an authorization server may only speak for the accounts it hosts."""
        if self.fixed:
            return pds
        found = await identity.locate(http, did, plc_url=self.plc_url)
        home = found[1] if found else pds
        if home != pds and (await atproto_oauth.discover(http, home)).issuer != issuer:
            raise OAuthError(f"{issuer} does not speak for {did}", code="issuer_mismatch")
        return home

    async def refresh(self, http: httpx.AsyncClient, app: AppCredentials, refresh_token: str) -> TokenSet:
        at = self.for_instance(app.instance_url)
        bound = atproto_oauth.Bound.decode(refresh_token)
        if bound is None:
            return at._tokens(await at._call(http, "POST", "com.atproto.server.refreshSession", refresh_token, "token"))
        body = await atproto_oauth.renew(http, bound, app.client_id, self.nonces)
        return atproto_oauth.token_set(body, bound.key, atproto_oauth.server_of(bound), at.endpoints.api_base)

    async def revoke(self, http: httpx.AsyncClient, app: AppCredentials, token: str) -> None:
        bound = atproto_oauth.Bound.decode(token)
        if bound is not None:
            await atproto_oauth.revoke(http, bound, app.client_id, self.nonces)
            return
        at = self.for_instance(app.instance_url)
        await at._call(http, "POST", "com.atproto.server.deleteSession", token, "token")

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        session = await self._call(http, "GET", "com.atproto.server.getSession", access_token, "api")
        return ConnectableAccount(
            network_unique_id=session["did"],
            username=session.get("handle"),
            display_name=session.get("handle"),
            account_type="profile",
        )

    async def profile(self, http: httpx.AsyncClient, did: str) -> dict[str, Any]:
        """The account's profile record (`app.bsky.actor.profile/self`), {} when it has none."""
        try:
            found = await self._call(
                http,
                "GET",
                "com.atproto.repo.getRecord",
                None,
                "api",
                params={"repo": did, "collection": PROFILE, "rkey": "self"},
            )
        except OAuthError as exc:
            if exc.code == "RecordNotFound":  # a new account that never set a display name
                return {}
            raise
        value = found.get("value") if isinstance(found, dict) else None
        return value if isinstance(value, dict) else {}

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        at = self.for_instance(tokens.extra.get("pds_url"))
        me = await at.identity(http, tokens.access_token)
        profile = await at.profile(http, me.network_unique_id)
        display = profile.get("displayName")
        return [
            ConnectableAccount(
                network_unique_id=me.network_unique_id,
                username=me.username,
                display_name=display if isinstance(display, str) and display.strip() else me.username,
                account_type="profile",
                profile_image_url=blob_url(at.endpoints.api_base, me.network_unique_id, profile.get("avatar")),
                extra={"pds_url": at.endpoints.api_base},
            )
        ]


provider = BlueskyProvider()


# -- what a post may be -----------------------------------------------------------------------

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_LANGS = 3


class BlueskyConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The languages the text is written in (BCP 47): what feeds and translation go by.
    langs: list[str] | None = None


# The lexicons' embeds (app.bsky.embed.images: 4 images of at most 2,000,000 bytes; .video: one
# MP4), a PDS's default blob limit (100 MB), the app's video length (3 minutes) and its alt text
# limit (2000; the lexicons set none).
MEDIA = MediaLimits(
    max_items=4,
    types=frozenset({"image", "gif", "video"}),
    max_gifs=4,
    mix=True,
    video_mimes=frozenset({"video/mp4"}),
    image_max_bytes=bluesky_media.IMAGE_MAX_BYTES,
    gif_max_bytes=bluesky_media.IMAGE_MAX_BYTES,
    video_max_bytes=100 * MB,
    reencode_images=True,
    max_duration_s=180,
    max_alt_text=2000,
)


class BlueskyRules(Rules):
    platform = "bluesky"
    config_type = BlueskyConfig
    first_comment = True
    thread = True
    max_length = MAX_GRAPHEMES
    text_required = False
    media = MEDIA

    def length(self, text: str) -> int:
        return graphemes(text)

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = super().check_container(index, container)
        if len(container.media) > 1 and any(m.type == "video" for m in container.media):
            problems.append(
                Problem(f"containers[{index}].media", "media_mix_unsupported", "bluesky embeds a video alone")
            )
        size = len(container.content.encode("utf-8"))
        if not problems and size > MAX_BYTES:
            problems.append(
                Problem(f"containers[{index}].content", "too_long", f"{size} bytes of UTF-8; at most {MAX_BYTES}")
            )
        return problems

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        langs = config.langs or []
        field = "config.bluesky.langs"
        problems = [
            Problem(field, "invalid_config", f"{tag!r} is not a BCP 47 language tag")
            for tag in langs
            if not is_language(tag)
        ]
        if len(langs) > MAX_LANGS:
            problems.append(Problem(field, "invalid_config", f"{len(langs)} languages; at most {MAX_LANGS}"))
        return problems


rules = BlueskyRules()


# -- publishing -------------------------------------------------------------------------------


def post_url(uri: str) -> str | None:
    """The post on bsky.app, for people; the at-uri is what the protocol knows it by."""
    parsed = parse_at_uri(uri)
    return f"{APP_URL}/profile/{parsed.repo}/post/{parsed.rkey}" if parsed else None


def _publishing_error(resp: httpx.Response, body: Any) -> PlatformError | None:
    name = _error_name(body)
    said = ph.message_of(body) or name or f"HTTP {resp.status_code}"
    if name in _REFUSED_TOKEN:  # a PDS says so with 400, not 401
        return TokenRejected(said)
    if name == "RecordNotFound":  # only asked of the post a reply answers
        return ContentRejected(said, code="reply_target_missing")
    if resp.request.url.path.endswith(bluesky_media.UPLOAD) and resp.status_code in (400, 413):
        return ContentRejected(f"the PDS refused the media: {said}", code="media_rejected")
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _created(value: dict[str, Any]) -> datetime | None:
    """A record's `createdAt`, Crier's own clock when Crier made it."""
    try:
        return datetime.fromisoformat(str(value.get("createdAt")).replace("Z", "+00:00"))
    except ValueError:
        return None


class BlueskyAdapter:
    name = "bluesky"
    transactional = False
    needs_account = True

    def __init__(self, http: httpx.AsyncClient, settings: PlatformSettings) -> None:
        self.http = http
        self.settings = settings
        # DPoP nonces by PDS origin, for accounts connected through atproto OAuth.
        self.nonces: dict[str, str] = {}

    def _pds(self, ctx: PublishContext) -> str:
        # Under a stand-in (CRIER_PLATFORM_BASE_URL) every account lives on its one PDS.
        return self.settings.base("bluesky", ph.account_of(ctx).instance_url or DEFAULT_PDS)

    @staticmethod
    def _did(ctx: PublishContext) -> str:
        account = ph.account_of(ctx)
        did = account.extra.get("did")
        return did if isinstance(did, str) and did else account.network_unique_id

    async def _call(self, ctx: PublishContext, method: str, nsid: str, *, auth: bool = True, **kwargs: Any) -> Any:
        token = ph.account_of(ctx).access_token
        bound = atproto_oauth.Bound.decode(token) if auth else None
        if bound is not None:  # connected through atproto OAuth: the token goes with a DPoP proof
            kwargs["auth"] = atproto_oauth.DPoPAuth(bound.key, self.nonces, access_token=bound.token)
        headers = {**kwargs.pop("headers", {}), **(ph.bearer(token) if auth and bound is None else {})}
        return await ph.send(
            self.http,
            "bluesky",
            method,
            xrpc(self._pds(ctx), nsid),
            classify=_publishing_error,
            timeout=self.settings.timeout_s,
            headers=headers,
            **kwargs,
        )

    async def _learn_nonce(self, ctx: PublishContext) -> None:
        """Makes sure a DPoP-bound account's PDS nonce is known before a video is streamed to it: a
        request refused for a nonce is made again, and a stream cannot be."""
        if atproto_oauth.Bound.decode(ph.account_of(ctx).access_token) is None:
            return
        if atproto_oauth.origin_of(self._pds(ctx)) not in self.nonces:
            await self._call(ctx, "GET", "com.atproto.server.getSession")

    async def _resolver(self, ctx: PublishContext) -> richtext.Resolve:
        async def resolve(handle: str) -> str | None:
            try:
                found = await self._call(
                    ctx, "GET", "com.atproto.identity.resolveHandle", auth=False, params={"handle": handle}
                )
            except ContentRejected:  # 400: HandleNotFound, or a name that is no handle after all
                return None
            did = found.get("did") if isinstance(found, dict) else None
            return did if isinstance(did, str) else None

        return resolve

    async def _reply_to(self, ctx: PublishContext, parent: PublishedContainer) -> dict[str, Any]:
        """reply.root and reply.parent for an answer to `parent`, from the parent record itself."""
        where = parse_at_uri(parent.platform_post_id)
        if where is None:
            raise ContentRejected(f"{parent.platform_post_id!r} is not an at:// URI", code="reply_target_missing")
        found = await self._call(
            ctx,
            "GET",
            "com.atproto.repo.getRecord",
            auth=False,
            params={"repo": where.repo, "collection": where.collection, "rkey": where.rkey},
        )
        ref = {"uri": found["uri"], "cid": found["cid"]}
        root = ((found.get("value") or {}).get("reply") or {}).get("root")
        return {"root": root if isinstance(root, dict) else ref, "parent": ref}

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        options, problems = rules.config(ctx.config)
        problems += rules.check_config(options, ctx.containers) if options is not None else []
        if problems:
            raise ContentRejected("; ".join(p.message for p in problems), code="invalid_content")
        record: dict[str, Any] = {"$type": POST, "text": container.content, "createdAt": _now()}
        facets = await richtext.facets(container.content, await self._resolver(ctx))
        if facets:
            record["facets"] = facets
        if parent is not None:
            record["reply"] = await self._reply_to(ctx, parent)
        if any(m.type == "video" for m in container.media):
            await self._learn_nonce(ctx)
        embed = await bluesky_media.embed(functools.partial(self._call, ctx), ctx, container, index)
        if embed is not None:
            record["embed"] = embed
        if isinstance(options, BlueskyConfig) and options.langs:
            record["langs"] = options.langs
        made = await self._call(
            ctx,
            "POST",
            "com.atproto.repo.createRecord",
            json={"repo": self._did(ctx), "collection": POST, "record": record},
        )
        return PublishedContainer(made["uri"], post_url(made["uri"]), bluesky_media.notes(ctx, container, index))

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        """The newest of the account's 100 latest posts with this text, replying to `parent`,
        embedding the blobs the stage says were uploaded for it."""
        want_blobs = bluesky_media.staged_links(ctx, container, index)
        if want_blobs is None:  # its uploads never finished: no post can embed them yet
            return None
        listed = await self._call(
            ctx,
            "GET",
            "com.atproto.repo.listRecords",
            auth=False,
            params={"repo": self._did(ctx), "collection": POST, "limit": "100"},
        )
        want_parent = parent.platform_post_id if parent is not None else None
        for record in listed.get("records", []) if isinstance(listed, dict) else []:
            value = record.get("value") or {}
            replying = ((value.get("reply") or {}).get("parent") or {}).get("uri")
            if value.get("text") != container.content or replying != want_parent:
                continue
            if bluesky_media.blob_links(value) != want_blobs:
                continue
            if not posted_since(_created(value), ctx.sent_at):
                continue
            return PublishedContainer(
                record["uri"], post_url(record["uri"]), bluesky_media.notes(ctx, container, index)
            )
        return None


def publisher(http: httpx.AsyncClient, settings: PlatformSettings) -> BlueskyAdapter:
    return BlueskyAdapter(http, settings)
