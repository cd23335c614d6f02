"""The JSON the connect routes accept and return (besides the social account, in connect_support)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from crier.gateway.entrypoints.http.connect_support import SocialAccount

Name = Annotated[str, Meta(min_length=1, max_length=255)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
Scope = Annotated[str, Meta(min_length=1, max_length=200)]
Platform = Annotated[str, Meta(min_length=1, max_length=64)]
PageId = Annotated[str, Meta(max_length=255)]


class SocialNetworkUpsert(Struct, kw_only=True, forbid_unknown_fields=True):
    """One app per platform (and mode): posting again updates it in place. For Mastodon, give only
    `instance_url` and Crier registers itself on that instance."""

    platform: Platform
    client_id: Annotated[str, Meta(min_length=1, max_length=512)] | None = None
    client_secret: Annotated[str, Meta(min_length=1, max_length=4096)] | None = None
    display_name: Name | None = None
    redirect_uri: Url | None = None
    scopes: Annotated[list[Scope], Meta(max_length=64)] = []
    instance_url: Url | None = None


class RedirectUriCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    uri: Url


class AuthUrlCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    redirect_uri: Url
    tenant_id: Name | None = None
    # Mastodon: the instance whose app to use (required once there are apps on several);
    # Bluesky: the PDS the account lives on, when it is not found from the handle.
    instance_url: Url | None = None


class AuthUrl(Struct, kw_only=True):
    auth_url: str
    expires_at: datetime


class Finalize(Struct, kw_only=True, forbid_unknown_fields=True):
    """`selectedPageIds` is accepted too, as some clients spell it."""

    selected_page_ids: Annotated[list[PageId], Meta(max_length=100)] | None = None
    selectedPageIds: Annotated[list[PageId], Meta(max_length=100)] | None = None  # noqa: N815

    def ids(self) -> list[str]:
        return list(self.selected_page_ids or self.selectedPageIds or [])


class Page(Struct, kw_only=True):
    id: str
    type: str
    name: str | None
    username: str | None
    profile_picture_url: str | None


class PageCamel(Struct, kw_only=True):
    id: str
    type: str
    name: str | None
    username: str | None
    profilePictureUrl: str | None  # noqa: N815


class PendingSession(Struct, kw_only=True):
    """`availablePages` repeats `available_pages` in the camelCase some clients read."""

    network: str
    tenant_id: str | None
    expires_at: datetime
    available_pages: list[Page]
    availablePages: list[PageCamel]  # noqa: N815


class ConnectedCamel(Struct, kw_only=True):
    id: str
    nickname: str
    username: str
    network: str
    accountType: str  # noqa: N815


class Finalized(Struct, kw_only=True):
    """`connectedAccounts` repeats the accounts in the short camelCase form some clients read."""

    connected_accounts: list[SocialAccount]
    connectedAccounts: list[ConnectedCamel]  # noqa: N815


class ConnectDisplay(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """How the hosted connect pages look. `logo_url` (https) or `logo_media_id` (an image uploaded
    to /media), not both; `accent_color` as #RGB or #RRGGBB (buttons and links; the text on it and
    the links' shade are chosen to stay readable); `support_url` https or mailto:; `locale` a
    language the pages speak (en, fr, de; `fr-CA` counts as fr), else the browser's."""

    product_name: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    logo_url: Url | None = None
    logo_media_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    accent_color: Annotated[str, Meta(pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")] | None = None
    support_url: Url | None = None
    locale: Annotated[str, Meta(min_length=2, max_length=35)] | None = None


class OrgSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    """An organization's settings for the key's mode. `connect_display` is the default look of its
    hosted connect pages; a session's own `display` overrides it field by field. null clears it."""

    connect_display: ConnectDisplay | None = None


class ConnectSessionCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    platform: Platform
    redirect_uri: Url
    tenant_id: Name | None = None
    # As for auth-url.
    instance_url: Url | None = None
    display: ConnectDisplay | None = None


class ConnectSession(Struct, kw_only=True):
    """status: pending → connected | pending_selection (→ connected) | failed (error_code) | expired."""

    id: str
    status: str
    platform: str
    tenant_id: str | None
    redirect_uri: str
    account_ids: list[str]
    error_code: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    # What the hosted pages wear: the session's display over the organization's default.
    display: ConnectDisplay | None = None


class ConnectSessionCreated(ConnectSession, kw_only=True):
    """The only response with connect_url: it holds the session's secret, which Crier keeps hashed."""

    connect_url: str


class EndUserUpsert(Struct, kw_only=True, forbid_unknown_fields=True):
    external_user_id: Name
    display_name: Name | None = None
    email: Annotated[str, Meta(min_length=3, max_length=320)] | None = None
    metadata: dict[str, Any] = {}


class Disconnected(Struct, kw_only=True):
    external_user_id: str
    platform: str
    disconnected_account_ids: list[str]
