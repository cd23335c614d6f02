"""X: `GET /2/users/me?user.fields=public_metrics` (API v2, scope `users.read`).

followers ← `public_metrics.followers_count`, following ← `following_count`, posts_count ←
`post_count` (`tweet_count` in the older field names). X's API offers no account-level
impressions, reach or profile views: None. `raw` is the user object (`data`)."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, dig, mapping
from crier.platforms.x import API, _publishing_error


async def read(reach: Reach, account: AccountToken) -> Figures:
    body = await reach.get(
        "x",
        f"{reach.settings.base('x', API)}/2/users/me",
        params={"user.fields": "public_metrics"},
        headers=ph.bearer(account.access_token),
        classify=_publishing_error,
    )
    return parse(body)


def parse(body: object) -> Figures:
    user = mapping(dig(body, "data"))
    metrics = mapping(user.get("public_metrics"))
    posts = metrics.get("post_count", metrics.get("tweet_count"))
    return Figures(
        followers=count(metrics.get("followers_count")),
        following=count(metrics.get("following_count")),
        posts_count=count(posts),
        raw=user,
    )
