"""Pinterest: `GET /v5/user_account` (scope `user_accounts:read`) and
`GET /v5/user_account/analytics` (the last full UTC day, scope `user_accounts:read`).

followers ← `follower_count`, following ← `following_count`, posts_count ← `pin_count`;
impressions ← the day's `IMPRESSION` summary metric. Pinterest's user account offers no reach, and
`PROFILE_VISIT` is not among the metric types the analytics endpoint documents: None.
`raw` is `{"user_account": …, "analytics": …}`, each answer unmodified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, dig, mapping
from crier.platforms.pinterest_pins import API_BASE


async def read(reach: Reach, account: AccountToken, *, today: datetime | None = None) -> Figures:
    base = reach.settings.base("pinterest", API_BASE)
    headers = ph.bearer(account.access_token)
    user = await reach.get("pinterest", f"{base}/v5/user_account", headers=headers)
    day = ((today or datetime.now(UTC)) - timedelta(days=1)).date().isoformat()
    analytics = await reach.get(
        "pinterest",
        f"{base}/v5/user_account/analytics",
        params={"start_date": day, "end_date": day, "metric_types": "IMPRESSION"},
        headers=headers,
    )
    return parse(user, analytics)


def parse(user_account: Any, analytics: Any) -> Figures:
    user = mapping(user_account)
    # Unsplit analytics come under the one key "all".
    summary = mapping(dig(analytics, "all", "summary_metrics"))
    return Figures(
        followers=count(user.get("follower_count")),
        following=count(user.get("following_count")),
        posts_count=count(user.get("pin_count")),
        impressions=count(summary.get("IMPRESSION")),
        raw={"user_account": user, "analytics": mapping(analytics)},
    )
