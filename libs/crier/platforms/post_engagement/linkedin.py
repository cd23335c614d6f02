"""LinkedIn: `GET /rest/socialActions/{post urn}` (Community Management API), the SocialActions
summary of a share or ugcPost.

likes ← `likesSummary.totalLikes`, replies ← `commentsSummary.aggregatedTotalComments`. Reposts
and impressions come only from organization share statistics, not for a single member post: None.
`raw` is the answer."""

from __future__ import annotations

from urllib.parse import quote

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Reach, count, dig, mapping
from crier.platforms.linkedin import API_BASE, _publishing_error, rest_headers
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    headers = {**ph.bearer(account.access_token), **rest_headers(reach.settings.linkedin_version)}
    body = await reach.get(
        "linkedin",
        f"{reach.settings.base('linkedin', API_BASE)}/rest/socialActions/{quote(post_id, safe='')}",
        headers=headers,
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: object) -> Engagement:
    return Engagement(
        likes=count(dig(body, "likesSummary", "totalLikes")),
        replies=count(dig(body, "commentsSummary", "aggregatedTotalComments")),
        raw=mapping(body),
    )
