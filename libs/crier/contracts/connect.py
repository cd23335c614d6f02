"""The connect service's request/reply API (`rpc.connect.<area>.<op>`), used by the gateway.

Requests made with an API key name the organization and mode they act for (`Scoped`); connect
scopes every read and write by them, so another organization's id answers 404 `not_found`, like an
id that never existed. The hosted pages and the OAuth callback are public: their requests carry the
secret a browser holds instead (a connect-session token, an OAuth `state`, a pending-session token).

Failures come back as `RpcError`s of a kind: `not_found`; `invalid` with `validation_error` (details
`{"fields": [{"field", "code", "message"}]}`), `redirect_uri_not_allowed`, `no_credentials`,
`invalid_selection`, `invalid_cursor`, `invalid_credentials`; `conflict` with `session_not_pending`;
`unavailable` with `platform_unavailable`.

Client secrets and platform tokens never appear in any reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from crier.contracts.common import AccountLimits, Mode, Platform

NETWORKS_UPSERT = "rpc.connect.networks.upsert"
NETWORKS_LIST = "rpc.connect.networks.list"
NETWORKS_GET = "rpc.connect.networks.get"
NETWORKS_DELETE = "rpc.connect.networks.delete"
REDIRECT_URIS_ADD = "rpc.connect.redirect_uris.add"
REDIRECT_URIS_LIST = "rpc.connect.redirect_uris.list"
REDIRECT_URIS_DELETE = "rpc.connect.redirect_uris.delete"
FLOWS_AUTH_URL = "rpc.connect.flows.auth_url"
FLOWS_CALLBACK = "rpc.connect.flows.callback"
PENDING_GET = "rpc.connect.pending.get"
PENDING_FINALIZE = "rpc.connect.pending.finalize"
SESSIONS_CREATE = "rpc.connect.sessions.create"
SESSIONS_GET = "rpc.connect.sessions.get"
HOSTED_OPEN = "rpc.connect.hosted.open"
HOSTED_BEGIN = "rpc.connect.hosted.begin"
HOSTED_PENDING = "rpc.connect.hosted.pending"
HOSTED_SELECT = "rpc.connect.hosted.select"
HOSTED_RETRY = "rpc.connect.hosted.retry"
APP_PASSWORD_VIEW = "rpc.connect.app_password.view"
APP_PASSWORD_LOGIN = "rpc.connect.app_password.login"
SANDBOX_CONSENT = "rpc.connect.sandbox.consent"
SANDBOX_DECIDE = "rpc.connect.sandbox.decide"
ACCOUNTS_LIST = "rpc.connect.accounts.list"
ACCOUNTS_GET = "rpc.connect.accounts.get"
ACCOUNTS_DELETE = "rpc.connect.accounts.delete"
ACCOUNTS_HEALTH = "rpc.connect.accounts.health"
END_USERS_UPSERT = "rpc.connect.end_users.upsert"
END_USERS_GET = "rpc.connect.end_users.get"
END_USERS_CONNECTIONS = "rpc.connect.end_users.connections"
END_USERS_DISCONNECT = "rpc.connect.end_users.disconnect"
SANDBOX_ACCOUNTS_CREATE = "rpc.connect.sandbox_account.create"
# The publisher's one question to connect: the account's current access token.
ACCOUNTS_TOKEN = "rpc.connect.accounts.token"
# An account's metrics: a live pull (the latest stored snapshot when the platform fails), or the
# stored series over a window.
ACCOUNTS_METRICS = "rpc.connect.accounts.metrics"
# A published post's engagement on each platform it reached, read as each target's account.
POSTS_ENGAGEMENT = "rpc.connect.posts.engagement"

# The callback and the hosted pages call the platform; give them longer than a plain read.
PLATFORM_CALL_TIMEOUT_S = 45.0

# Where the gateway serves what connect names to the platforms: the callback every app registers,
# and the client metadata document of the installation's atproto OAuth client (Bluesky), whose URL
# is that client's id.
CALLBACK_PATH = "/api/v1/connect/callback"
BLUESKY_CLIENT_METADATA_PATH = "/api/v1/connect/bluesky/client-metadata.json"


class CreateSandboxAccount(msgspec.Struct, kw_only=True, frozen=True):
    org_id: str
    mode: Mode
    platform: str
    username: str
    tenant_id: str | None = None


class SocialAccount(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    org_id: str
    mode: Mode
    platform: Platform
    username: str
    display_name: str | None
    network_unique_id: str
    tenant_id: str | None
    account_type: str
    status: str
    sandbox: bool
    created_at: datetime
    updated_at: datetime
    # The BYOK app that connected the account; None for managed credentials and sandbox accounts.
    social_network_id: str | None = None
    profile_image_url: str | None = None
    scopes: list[str] = []
    token_expires_at: datetime | None = None
    last_synced_at: datetime | None = None
    # What the platform lets the account post, where accounts differ (the gateway checks posts by it).
    limits: AccountLimits = AccountLimits()


class Scoped(msgspec.Struct, kw_only=True, frozen=True):
    org_id: str
    mode: Mode


class Deleted(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    deleted: bool = True


# Platform apps (social networks)


class NetworkUpsert(Scoped, kw_only=True, frozen=True):
    """client_id and client_secret may be left out for Mastodon: Crier then registers itself as an
    app on `instance_url` (POST /api/v1/apps) and keeps what the instance issues."""

    platform: str
    client_id: str | None = None
    client_secret: str | None = None
    display_name: str | None = None
    # The callback registered with the platform; None means Crier's own /api/v1/connect/callback.
    redirect_uri: str | None = None
    scopes: list[str] = []
    # Per-instance platforms (Mastodon): the instance the app is registered on.
    instance_url: str | None = None


class NetworkList(Scoped, kw_only=True, frozen=True):
    limit: int = 25
    cursor: str | None = None


class NetworkRef(Scoped, kw_only=True, frozen=True):
    id: str


class Network(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    platform: str
    display_name: str | None
    client_id: str
    redirect_uri: str
    scopes: list[str]
    instance_url: str | None
    created_at: datetime
    updated_at: datetime


class NetworkPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[Network]
    next_cursor: str | None


# Redirect allowlist


class RedirectUriAdd(Scoped, kw_only=True, frozen=True):
    uri: str


class RedirectUriRef(Scoped, kw_only=True, frozen=True):
    id: str


class RedirectUri(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    uri: str
    created_at: datetime


class RedirectUriPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[RedirectUri]


# Flows


class AuthUrlRequest(Scoped, kw_only=True, frozen=True):
    platform: str
    redirect_uri: str
    tenant_id: str | None = None
    # Per-instance platforms: the Mastodon instance (whose app the organization registered) or the
    # Bluesky PDS the account lives on; needed once an organization has apps on several instances.
    instance_url: str | None = None


class AuthUrl(msgspec.Struct, kw_only=True, frozen=True):
    auth_url: str
    expires_at: datetime


class Callback(msgspec.Struct, kw_only=True, frozen=True):
    """The query string the platform sent the browser back with."""

    state: str | None = None
    code: str | None = None
    error: str | None = None
    error_description: str | None = None
    # The authorization server that answered (RFC 9207), where the platform sends it (atproto OAuth).
    iss: str | None = None


class ErrorPage(msgspec.Struct, kw_only=True, frozen=True):
    status: int
    title: str
    message: str


class Outcome(msgspec.Struct, kw_only=True, frozen=True):
    """Where to send the browser next (`location`), or a page to show when there is nowhere safe to
    send it. `accounts` are the accounts this step connected, so the gateway can hold them at once."""

    location: str | None = None
    page: ErrorPage | None = None
    accounts: list[SocialAccount] = []


class PendingRef(msgspec.Struct, kw_only=True, frozen=True):
    """The session token is the credential. When the caller also sent an API key, `org_id` and
    `mode` name its organization and mode, and a session of another one is `not_found`."""

    token: str
    org_id: str | None = None
    mode: Mode | None = None


class PendingFinalize(msgspec.Struct, kw_only=True, frozen=True):
    token: str
    selected_page_ids: list[str]
    org_id: str | None = None
    mode: Mode | None = None


class PageChoice(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    type: str
    name: str | None
    username: str | None
    profile_picture_url: str | None


class PendingView(msgspec.Struct, kw_only=True, frozen=True):
    network: str
    tenant_id: str | None
    expires_at: datetime
    available_pages: list[PageChoice]
    # Whose flow it is, so the hosted page can wear the session's or the organization's display.
    org_id: str | None = None
    mode: Mode | None = None
    connect_session_id: str | None = None


class Finalized(msgspec.Struct, kw_only=True, frozen=True):
    connected_accounts: list[SocialAccount]


# Hosted connect sessions


class SessionCreate(Scoped, kw_only=True, frozen=True):
    platform: str
    redirect_uri: str
    tenant_id: str | None = None
    # As in AuthUrlRequest.
    instance_url: str | None = None


class SessionRef(Scoped, kw_only=True, frozen=True):
    id: str


class ConnectSession(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    # pending | pending_selection | connected | failed | expired
    status: str
    platform: str
    tenant_id: str | None
    redirect_uri: str
    account_ids: list[str]
    error_code: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    # Only in the reply to create: the URL holds the session's secret, which is stored hashed.
    connect_url: str | None = None


class HostedToken(msgspec.Struct, kw_only=True, frozen=True):
    token: str


class HostedSession(msgspec.Struct, kw_only=True, frozen=True):
    """What the hosted start page shows."""

    id: str
    platform: str
    status: str
    app_name: str
    sandbox: bool
    expires_at: datetime


class HostedSelect(msgspec.Struct, kw_only=True, frozen=True):
    token: str
    selected_page_ids: list[str]


class StateRef(msgspec.Struct, kw_only=True, frozen=True):
    """An OAuth state, as Crier's own sign-in pages (test-mode consent, app password) receive it."""

    state: str


class SignInView(msgspec.Struct, kw_only=True, frozen=True):
    """What Crier's own sign-in page shows for a usable state."""

    platform: str
    app_name: str
    scopes: list[str]
    tenant_id: str | None
    # As in PendingView.
    org_id: str | None = None
    mode: Mode | None = None
    connect_session_id: str | None = None


class SandboxDecision(msgspec.Struct, kw_only=True, frozen=True):
    state: str
    approve: bool


class AppPasswordLogin(msgspec.Struct, kw_only=True, frozen=True):
    """Platforms without a browser redirect (Bluesky): the user's handle and app password, used once
    to open a session and never stored. A refusal (422 `invalid_credentials`) leaves the state usable."""

    state: str
    identifier: str
    app_password: str


# Accounts


class AccountList(Scoped, kw_only=True, frozen=True):
    id: str | None = None
    tenant_id: str | None = None
    platform: str | None = None
    username: str | None = None
    network_unique_id: str | None = None
    limit: int = 25
    cursor: str | None = None


class AccountRef(Scoped, kw_only=True, frozen=True):
    id: str


class AccountPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[SocialAccount]
    next_cursor: str | None


class AccountHealth(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    network: str
    healthy: bool
    status: str
    error_code: str | None
    token_expires_at: datetime | None
    checked_live: bool
    checked_at: datetime


class TokenRequest(msgspec.Struct, kw_only=True, frozen=True):
    """The publisher asks for an account's current access token, at delivery.

    Connect refreshes it first when it is near expiry. After the platform refused a token (401),
    the publisher sends that token's SHA-256 as `rejected_sha256`: connect then refreshes once,
    unless the current token is already another one (a second delivery refreshed it meanwhile).
    Failures: `not_found`; `gone` with `account_disconnected` or `account_token_expired` (the grant
    is dead; connect has marked the account and announced `evt.account.token_expired`);
    `unavailable` with `platform_unavailable` (the refresh could not reach the platform).
    """

    org_id: str
    mode: Mode
    account_id: str
    rejected_sha256: str | None = None


class AccountToken(msgspec.Struct, kw_only=True, frozen=True):
    """What an adapter needs to act as the account. Travels only as an RPC reply: never in an
    event, a log line or the publisher's database."""

    account_id: str
    platform: Platform
    access_token: str
    expires_at: datetime | None
    # The account on the platform: user id, page id, organization URN, DID, location name.
    network_unique_id: str
    username: str
    account_type: str
    # Per-instance platforms: the Mastodon instance or the Bluesky PDS the account lives on.
    instance_url: str | None = None
    # What else a platform's calls need (e.g. a DPoP key for atproto OAuth), in its own words.
    extra: dict[str, Any] = {}
    # What the platform lets the account post: the publisher checks a post by it before sending,
    # as the gateway did at create with the same facts.
    limits: AccountLimits = AccountLimits()

    def __repr__(self) -> str:
        # A token must not reach a log line or a traceback through a repr.
        return f"AccountToken(account_id={self.account_id!r}, platform={self.platform!r}, access_token='[redacted]')"


class MetricsRequest(Scoped, kw_only=True, frozen=True):
    """Without `series`, the account's current metrics; with it, the snapshots captured in
    [since, until], oldest first, `limit` at a time after `cursor`."""

    id: str
    series: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    cursor: str | None = None


class MetricsSnapshot(msgspec.Struct, kw_only=True, frozen=True):
    """One reading of an account's figures; None where the platform does not offer one."""

    social_account_id: str
    network: str
    # "live" (read just now) or "snapshot" (stored by the collector).
    source: str
    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    impressions: int | None = None
    reach: int | None = None
    profile_views: int | None = None
    # The platform's payload(s) the figures were read from, unmodified.
    raw: dict[str, Any] = {}
    captured_at: datetime


class AccountMetrics(msgspec.Struct, kw_only=True, frozen=True):
    social_account_id: str
    # The current reading: None when the platform failed and nothing was stored yet.
    current: MetricsSnapshot | None = None
    # The series form's snapshots, oldest first.
    series: list[MetricsSnapshot] | None = None
    next_cursor: str | None = None


class EngagementTarget(msgspec.Struct, kw_only=True, frozen=True):
    """One published target of a post: where its engagement is read, and as whom."""

    target_id: str
    account_id: str
    platform_post_id: str
    published_at: datetime | None = None


class EngagementRequest(Scoped, kw_only=True, frozen=True):
    """Read each target's engagement. A reading younger than `fresh_for_s` is answered as stored
    (`cached`) instead of asking the platform again."""

    post_id: str
    targets: list[EngagementTarget]
    fresh_for_s: float = 60.0
    # The periodic capture's: one stored reading per target per period of this many seconds
    # (a target already captured in the current period is not read again).
    capture_every_s: float | None = None


class TargetEngagement(msgspec.Struct, kw_only=True, frozen=True):
    target_id: str
    account_id: str
    network: str
    platform_post_id: str
    # "live" (read just now), "cached" (read within fresh_for_s), "snapshot" (the latest stored
    # reading, the platform failing now), or "unavailable" (no reading at all).
    source: str
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    impressions: int | None = None
    raw: dict[str, Any] = {}
    captured_at: datetime | None = None
    # Why the platform gave no fresh reading, when it did not.
    error_code: str | None = None


class PostEngagement(msgspec.Struct, kw_only=True, frozen=True):
    post_id: str
    targets: list[TargetEngagement]


class AccountRemoved(msgspec.Struct, kw_only=True, frozen=True):
    """Reply to delete: the account as it is now (status disabled)."""

    account: SocialAccount


# End-users (external_user_id is the tenant_id of their accounts)


class EndUserUpsert(Scoped, kw_only=True, frozen=True):
    external_user_id: str
    display_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = {}


class EndUserRef(Scoped, kw_only=True, frozen=True):
    external_user_id: str


class EndUserDisconnect(Scoped, kw_only=True, frozen=True):
    external_user_id: str
    platform: str


class ConnectionSummary(msgspec.Struct, kw_only=True, frozen=True):
    total: int
    connected: int
    failed: int


class EndUser(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    external_user_id: str
    display_name: str | None
    email: str | None
    metadata: dict[str, Any]
    connection_summary: ConnectionSummary
    created_at: datetime
    updated_at: datetime


class Connections(msgspec.Struct, kw_only=True, frozen=True):
    data: list[SocialAccount]


class Disconnected(msgspec.Struct, kw_only=True, frozen=True):
    external_user_id: str
    platform: str
    disconnected_account_ids: list[str]
    accounts: list[SocialAccount] = []
