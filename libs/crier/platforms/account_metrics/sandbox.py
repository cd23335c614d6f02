"""Sandbox accounts' metrics: no platform is asked. The figures are a function of the account's
id and the day, so an integrator building against test mode sees the same numbers on every call
of a day and a small rise from one day to the next (followers grow by the account's own rate)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from crier.platforms.account_metrics import Figures

EPOCH_DAY = 20_000  # 2024-10-04: day 0 of the sandbox's growth


def figures(account_id: str, platform: str, at: datetime) -> Figures:
    seed = int.from_bytes(hashlib.sha256(f"{platform}:{account_id}".encode()).digest()[:8], "big")
    days = max(0, int(at.timestamp() // 86_400) - EPOCH_DAY)
    followers = 1_000 + seed % 9_000 + days * (1 + seed % 7)
    following = 50 + (seed >> 16) % 450
    posts = 100 + (seed >> 24) % 900 + days // 2
    impressions = followers * (8 + (seed >> 32) % 5)
    reach = impressions * 2 // 5
    views = followers // 10 + (seed >> 40) % 50
    return Figures(
        followers=followers,
        following=following,
        posts_count=posts,
        impressions=impressions,
        reach=reach,
        profile_views=views,
        raw={"sandbox": True, "account_id": account_id, "day": days},
    )
