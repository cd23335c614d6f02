"""Pinterest: `GET /v5/pins/{pin_id}?pin_metrics=true`, the Pin's `pin_metrics`.

likes ← `lifetime_metrics.reaction`, replies ← `lifetime_metrics.comment`, impressions ←
`lifetime_metrics.impression`. Pinterest reports no reposts for a Pin: None. `raw` is the Pin."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.pinterest_pins import API_BASE
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    body = await reach.get(
        "pinterest",
        f"{reach.settings.base('pinterest', API_BASE)}/v5/pins/{post_id}",
        params={"pin_metrics": "true"},
        headers=ph.bearer(account.access_token),
    )
    return parse(body)


def parse(body: object) -> Engagement:
    lifetime = mapping(dig(body, "pin_metrics", "lifetime_metrics"))
    return Engagement(
        likes=count(lifetime.get("reaction")),
        replies=count(lifetime.get("comment")),
        impressions=count(lifetime.get("impression")),
        raw=mapping(body),
    )
