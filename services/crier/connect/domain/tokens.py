"""What to do with an account's access token when the publisher asks for it, and what else the
publisher's calls need to act as the account. No database, no network."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from crier.connect.domain.accounts import due_for_refresh
from crier.contracts.common import Platform


class Need(enum.Enum):
    SERVE = "serve"  # the token is good: hand it over
    REFRESH = "refresh"  # renew it first
    EXPIRE = "expire"  # it is dead and nothing can renew it: the grant is gone


def token_need(*, now: datetime, expires_at: datetime | None, renewable: bool, rejected: bool, window_s: float) -> Need:
    """`rejected`: the platform refused exactly this token. `renewable`: the account holds a
    refresh credential. A platform without one (Mastodon, a Facebook Page's own token) issues
    tokens meant to last, so when such a token is refused or past its expiry, the grant is gone."""
    if rejected:
        return Need.REFRESH if renewable else Need.EXPIRE
    if not renewable:
        return Need.EXPIRE if expires_at is not None and expires_at <= now else Need.SERVE
    return Need.REFRESH if due_for_refresh(expires_at, now, window_s) else Need.SERVE


def still_valid(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or expires_at > now


def publishing_extra(platform: Platform, account_type: str, network_unique_id: str) -> dict[str, Any]:
    """What a platform's publishing calls need beyond the account's id and token, in the
    platform's own words. Everything here follows from what the account is on the platform."""
    if platform == "linkedin":
        # The Posts API's `author`: the member or the organization the account stands for.
        kind = "organization" if network_unique_id.startswith("urn:li:organization:") else "person"
        return {"author": network_unique_id, "author_type": kind}
    if platform in ("facebook", "instagram") and account_type != "profile":
        # The access token is the Page's own token (an Instagram account posts with its Page's).
        return {"token_owner": "page"}
    if platform == "mastodon":
        # `<id>@<instance host>`: the id alone is what the instance's own API calls the account
        # (`/api/v1/accounts/:id/statuses` lists its recent posts).
        return {"account_id": network_unique_id.rsplit("@", 1)[0]}
    if platform == "bluesky":
        return {"did": network_unique_id}
    if platform == "google_business":
        # `accounts/<a>/locations/<l>`: localPosts live under the location, inside its account.
        account, _, _ = network_unique_id.partition("/locations/")
        return {"account": account, "location": network_unique_id}
    return {}
