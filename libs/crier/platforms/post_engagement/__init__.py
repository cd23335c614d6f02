"""Each platform's engagement on one published post, read from its documented endpoint as the
account that published it.

`read(platform, reach, account, post_id)` answers `Engagement`: likes, reposts, replies and
impressions where the platform offers them (None where it does not: each module's docstring says
which and from what), and `raw`, the platform's answer unmodified (each call's under its name when
there are several). Failures are the publishing adapters' `PlatformError`s, as for account metrics
(`crier.platforms.account_metrics`, whose `Reach` these calls share).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from crier.contracts.common import Platform
from crier.contracts.connect import AccountToken
from crier.platforms.account_metrics import Reach

ENGAGEMENT = ("likes", "reposts", "replies", "impressions")
# The platforms whose APIs report no engagement for a single post, and what to tell a client who
# asks why every count is null (each reader's docstring has the detail).
NO_POST_ENGAGEMENT: dict[str, str] = {
    "google_business": (
        "Google Business Profile reports no engagement for a single post: its Performance API reports per "
        "location (see the account's metrics)."
    ),
}


@dataclass(frozen=True)
class Engagement:
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    impressions: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


async def read(platform: Platform, reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    module = importlib.import_module(f"crier.platforms.post_engagement.{platform}")
    found: Engagement = await module.read(reach, account, post_id)
    return found
