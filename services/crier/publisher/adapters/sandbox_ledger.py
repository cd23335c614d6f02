"""The sandbox platform's "network": simulated posts kept in the publisher's `sandbox_posts` table.

A simulated post is not written by itself: `record` queues it on the context
(`PublishContext.commit_with_progress`), and the statement that records its container's progress
writes it too (`LEDGER_ROW` in `containers.record_progress`, `INSERT_ARRAYS` in
`targets.record_successes`). The post and its
progress row commit together or not at all, in one round trip where a transaction took four (BEGIN,
the post, the progress, COMMIT): about a fifth of a sandbox delivery's CPU in the publisher.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from crier.platforms.base import PublishContext
from crier.platforms.sandbox import SandboxPost
from crier.publisher.adapters.tables import sandbox_posts

_COLUMNS = ("id", "target_id", "container_index", "parent_id", "content", "media")
# No ON CONFLICT: a second post of the same container fails its whole statement, progress included.
LEDGER_ROW = sa.insert(sandbox_posts).values(
    {c: sa.bindparam(f"p_sandbox_{c}", type_=sandbox_posts.c[c].type) for c in _COLUMNS}
)


# The same rows, any number, from one array per column (the media as JSON text): in the statement
# that records many targets' successes (`targets.record_successes`).
INSERT_ARRAYS = (
    "INSERT INTO sandbox_posts (id, target_id, container_index, parent_id, content, media)"
    " SELECT l.id, l.target_id, l.container_index, l.parent_id, l.content,"
    " ARRAY(SELECT jsonb_array_elements_text(CAST(l.media AS jsonb)))"
    " FROM unnest(CAST(:l_id AS text[]), CAST(:l_target_id AS text[]), CAST(:l_container_index AS integer[]),"
    " CAST(:l_parent_id AS text[]), CAST(:l_content AS text[]), CAST(:l_media AS text[]))"
    " AS l(id, target_id, container_index, parent_id, content, media)"
)


class PostgresSandboxLedger:
    async def record(self, ctx: PublishContext, post: SandboxPost) -> None:
        queued = ctx.commit_with_progress
        if queued is None:
            raise RuntimeError("the sandbox's posts are written with the publisher's progress rows")
        if queued:
            raise RuntimeError("one sandbox post per container")
        queued.append(post)


def _row(post: Any) -> dict[str, Any]:
    """A queued post as its `sandbox_posts` row, by `_COLUMNS`."""
    assert isinstance(post, SandboxPost)
    row = {"id": post.id, "target_id": post.target_id, "container_index": post.container_index}
    return row | {"parent_id": post.parent_id, "content": post.content, "media": list(post.media)}


def params(queued: Sequence[Any]) -> dict[str, Any]:
    """`LEDGER_ROW`'s parameters, for the one post its container queued."""
    (post,) = queued
    return {f"p_sandbox_{c}": value for c, value in _row(post).items()}


def array_params(queued: Sequence[Any]) -> dict[str, list[Any]]:
    """`INSERT_ARRAYS`' parameters for the posts `queued`: their rows, the media as JSON text."""
    rows = [_row(post) | {"media": msgspec.json.encode(post.media).decode()} for post in queued]
    return {f"l_{c}": [row[c] for row in rows] for c in _COLUMNS}
