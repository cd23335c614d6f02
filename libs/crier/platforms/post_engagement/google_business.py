"""Google Business Profile: a local post's views and clicks were reported by the retired v4
`reportInsights`; the local posts API Crier publishes through documents no engagement for a post,
and the Business Profile Performance API reports per location, not per post. Nothing is asked:
every figure is None."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms.account_metrics import Reach
from crier.platforms.post_engagement import Engagement


async def read(reach: Reach, account: AccountToken, post_id: str) -> Engagement:
    return Engagement()
