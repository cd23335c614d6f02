"""Mastodon: `GET /api/v1/accounts/verify_credentials` on the account's instance (scope
`read:accounts`), the CredentialAccount entity.

followers ← `followers_count`, following ← `following_count`, posts_count ← `statuses_count`.
Mastodon keeps no impressions, reach or profile views: None. `raw` is the entity."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, mapping
from crier.platforms.mastodon import _publishing_error


async def read(reach: Reach, account: AccountToken) -> Figures:
    base = reach.settings.base("mastodon", account.instance_url or "")
    body = await reach.get(
        "mastodon",
        f"{base}/api/v1/accounts/verify_credentials",
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: object) -> Figures:
    entity = mapping(body)
    return Figures(
        followers=count(entity.get("followers_count")),
        following=count(entity.get("following_count")),
        posts_count=count(entity.get("statuses_count")),
        raw=entity,
    )
