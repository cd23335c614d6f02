"""Mastodon: `GET /api/v1/statuses/{id}` on the account's instance, the Status entity.

likes ← `favourites_count`, reposts ← `reblogs_count`, replies ← `replies_count`. Mastodon counts
no impressions: None. `raw` is the status."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, mapping
from crier.platforms.mastodon import _publishing_error
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    base = reach.settings.base("mastodon", account.instance_url or "")
    body = await reach.get(
        "mastodon",
        f"{base}/api/v1/statuses/{post_id}",
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: object) -> Engagement:
    status = mapping(body)
    return Engagement(
        likes=count(status.get("favourites_count")),
        reposts=count(status.get("reblogs_count")),
        replies=count(status.get("replies_count")),
        raw=status,
    )
