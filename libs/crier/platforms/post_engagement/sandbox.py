"""Sandbox posts' engagement: no platform is asked. The counts are a function of the post's id and
the hours since it was published, so they are the same on every call within an hour and grow
for its first days, as a real post's would."""

from __future__ import annotations

import hashlib
from datetime import datetime

from crier.platforms.post_engagement import Engagement


def engagement(platform_post_id: str, published_at: datetime | None, at: datetime) -> Engagement:
    seed = int.from_bytes(hashlib.sha256(platform_post_id.encode()).digest()[:8], "big")
    hours = 0 if published_at is None else max(0, int((at - published_at).total_seconds() // 3600))
    # Most engagement arrives in a post's first three days.
    grown = min(hours, 72)
    impressions = 50 + seed % 500 + grown * (5 + seed % 20)
    return Engagement(
        likes=impressions // 20,
        reposts=impressions // 100,
        replies=impressions // 60,
        impressions=impressions,
        raw={"sandbox": True, "platform_post_id": platform_post_id, "hours": hours},
    )
