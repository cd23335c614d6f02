"""Posts as this process last folded them, so that loading a post reads and folds only the events
appended since rather than its whole history.

A post gets a report per target and attempt (queued, publishing, published…), and each report loads
the post: folding every event every time made a post's reports cost the square of its targets (a
post to 50 accounts: ~150 reports of up to ~150 events each). With the folded state kept, a report
reads the events from the state's own version on and folds the new ones.

Events are never changed once appended, but a state folded inside a transaction that then rolled
back would hold events that never were. So a state is only reused when the event it ended on is
still the one stored at its version, compared in full: anything else (a rolled-back append, a
database restored or recreated under the same ids) falls back to folding the whole history.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from crier.gateway.domain.post import Post

# Posts kept per process: enough for every post in flight on a busy replica; the least recently
# loaded go first. A post is a few kilobytes.
CAPACITY = 10_000


class FoldedPosts:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._states: OrderedDict[str, tuple[Post, Any]] = OrderedDict()

    def get(self, post_id: str) -> tuple[Post, Any] | None:
        """The post as last folded, and the stored data of the last event folded into it."""
        known = self._states.get(post_id)
        if known is not None:
            self._states.move_to_end(post_id)
        return known

    def keep(self, post: Post, last_event: Any) -> None:
        self._states[post.id] = (post, last_event)
        self._states.move_to_end(post.id)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def __len__(self) -> int:
        return len(self._states)
