"""The sandbox's timeline: every sandbox account has the same kind of deterministic history, so
integrators can build against imports in test mode without a network.

An account's history is `HISTORY_SIZE` posts, newest first, one every six hours back from
2026-01-01T00:00Z; post i (0 = newest) has id `sbx_h_` + the first 16 hex digits of
sha256("<account_id>:<i>"), the text "Sandbox post <i+1> of <username>", and the URL the sandbox
gives its posts. Pages hold `PAGE_SIZE` posts; the cursor is the offset of the next one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms.sandbox import post_url
from crier.platforms.timelines import PAGE_SIZE, TimelinePage

HISTORY_SIZE = 120
_NEWEST = datetime(2026, 1, 1, tzinfo=UTC)
_SPACING = timedelta(hours=6)


def history_post(account_id: str, platform: str, username: str, index: int) -> ImportedPost:
    post_id = "sbx_h_" + hashlib.sha256(f"{account_id}:{index}".encode()).hexdigest()[:16]
    return ImportedPost(
        platform_post_id=post_id,
        platform_post_url=post_url(platform, username, post_id),
        content=f"Sandbox post {index + 1} of {username}",
        published_at=_NEWEST - index * _SPACING,
    )


class SandboxTimeline:
    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        start = int(cursor or 0)
        end = min(start + PAGE_SIZE, HISTORY_SIZE)
        posts = [history_post(account.account_id, account.platform, account.username, i) for i in range(start, end)]
        return TimelinePage(posts, str(end) if end < HISTORY_SIZE else None)
