"""What was posted on the simulated platforms, shared by every platform's publishing routes.

A platform's publishing route (`simulator/mastodon.py`'s `create_status` is the model):
1. reads the body with `payload(request)` (JSON or form, kept in the request log);
2. authenticates with `authz.bearer` and checks the scope the platform wants;
3. validates what the platform validates, raising `SimError` with the platform's own answer;
4. `world.posts.add(Post(...))` with the payload as it arrived, the user (and page) it speaks
   for and the post it replies to (the thread's root follows), then stores the entity it answers
   as `post.response`, so the platform's read endpoints and tests see the same thing.

Tests read the posts back through `GET /_sim/<platform>/posts`
(`tests.support.simulator.Simulator.posts`). Faults, including `accept_then_timeout` (the post is
made, the answer never comes), are played in front of every route by `simulator.app`.

Idempotency keys (Mastodon's `Idempotency-Key`) are remembered per platform and account here, so a
repeat within the platform's window answers the post the first request made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar import Request


@dataclass
class Post:
    """One published post, comment or reply, as the platform keeps it."""

    platform: str
    id: str
    # The user whose token made the post, and the page / organization / location it was posted
    # as, if any: `author` is whichever speaks.
    user_id: str
    text: str
    created_at: float
    page_id: str | None = None
    # The post this one answers, and the first post of its thread (None for a thread's root).
    reply_to: str | None = None
    root: str | None = None
    # The request body as the platform received it, and what the platform answered (the entity
    # its read endpoints return again).
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    @property
    def author(self) -> str:
        return self.page_id or self.user_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "id": self.id,
            "author": self.author,
            "user_id": self.user_id,
            "page_id": self.page_id,
            "text": self.text,
            "created_at": self.created_at,
            "reply_to": self.reply_to,
            "root": self.root,
            "request": self.request,
            "response": self.response,
            "idempotency_key": self.idempotency_key,
        }


class Posts:
    """Every platform's posts in the order they were made."""

    def __init__(self) -> None:
        self._posts: dict[tuple[str, str], Post] = {}
        # (platform, account, key) -> (post id, when the key was first used)
        self._keys: dict[tuple[str, str, str], tuple[str, float]] = {}

    def add(self, post: Post) -> Post:
        """Keep `post`; its thread root follows from the post it replies to."""
        if post.reply_to is not None and post.root is None:
            parent = self.get(post.platform, post.reply_to)
            post.root = (parent.root or parent.id) if parent is not None else post.reply_to
        self._posts[(post.platform, post.id)] = post
        if post.idempotency_key is not None:
            self._keys[(post.platform, post.author, post.idempotency_key)] = (post.id, post.created_at)
        return post

    def get(self, platform: str, post_id: str) -> Post | None:
        return self._posts.get((platform, post_id))

    def of(self, platform: str, author: str | None = None) -> list[Post]:
        """Oldest first; `author` is a user or page id."""
        return [
            p
            for (p_platform, _), p in self._posts.items()
            if p_platform == platform and (author is None or author in (p.author, p.user_id))
        ]

    def replay(self, platform: str, author: str, key: str, now: float, window_s: float) -> Post | None:
        """The post an earlier request with this idempotency key made, if within the window."""
        found = self._keys.get((platform, author, key))
        if found is None or now - found[1] > window_s:
            return None
        return self.get(platform, found[0])


async def payload(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A publishing request's body, JSON or form, as the platform received it (types kept for
    JSON; form values are strings), recorded in the request log as `json`."""
    if "json" in request.headers.get("content-type", ""):
        raw = await request.body()
        try:
            data: Any = json.loads(raw) if raw else {}
        except ValueError:
            data = None
    else:
        form = await request.form()
        data = {k: form.getall(k) if len(form.getall(k)) > 1 else form.get(k) for k in form}
    entry = request.scope.get("state", {}).get("sim_entry")
    if isinstance(entry, dict):
        entry["json"] = data
    return data if isinstance(data, dict) else {}
