"""The sandbox platform: a simulated social network for test-mode keys. No network, deterministic.

Each simulated post is written to a ledger (the publisher's `sandbox_posts` table) with the
publisher's progress row for that container, in one commit, so a crash can never leave a root
post without its progress record, and a retry can never post the root twice.

Magic content — put one of these anywhere in container 0's content to exercise an error path:

| magic                   | effect                                                                       |
|-------------------------|------------------------------------------------------------------------------|
| `[sandbox:fail]`        | every attempt fails with a retryable error; the target dead-letters after the fifth |
| `[sandbox:reject]`      | the first attempt fails permanently (`content_rejected`); no retry              |
| `[sandbox:fail-times=N]`| attempts 1..N fail with a retryable error, attempt N+1 publishes                |
| `[sandbox:rate-limit]`  | attempt 1 is rate limited (`rate_limited`, retry after 0.1 s), attempt 2 publishes |
| `[sandbox:slow=MS]`     | waits MS milliseconds before each container (to watch or interrupt a delivery)  |
| `[sandbox:processing=N]`| container 0 is "still processing" N times (0.2 s each) before it is posted      |

A rate limit is waited out like a live platform's: it is not one of the five failed attempts.

Media is taken like a live platform's upload: before a container is posted, every media object it
carries is read from the publisher's `MediaSource` (the media store) in full and its sha256 checked
against the one the gateway recorded; a missing or altered object fails the target for good with
`media_missing`. The ledger keeps the ids of the media each post carries. The processing waits of
`[sandbox:processing=N]` are counted in the container's stage, with what was read, so the delivery
that resumes does not read it again, as a live platform's upload is never repeated.

Post ids are `sbx_` + the first 16 hex digits of sha256("<target_id>:<container_index>"), and URLs
`https://sandbox.crier.local/<platform>/<username>/<id>`; the same target always gets the same ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import (
    ContentRejected,
    PlatformError,
    PublishContext,
    PublishedContainer,
    RateLimited,
    StillProcessing,
    TransientError,
)

RATE_LIMIT_RETRY_AFTER_S = 0.1
PROCESSING_RETRY_AFTER_S = 0.2
_MAGIC = re.compile(r"\[sandbox:(fail|reject|rate-limit|fail-times=(\d+)|slow=(\d+)|processing=(\d+))\]")


@dataclass(frozen=True)
class Magic:
    fail_always: bool = False
    reject: bool = False
    fail_times: int = 0
    rate_limit: bool = False
    slow_ms: int = 0
    processing_rounds: int = 0

    @classmethod
    def parse(cls, content: str) -> Magic:
        found: dict[str, Any] = {}
        for m in _MAGIC.finditer(content):
            word = m.group(1)
            if word == "fail":
                found["fail_always"] = True
            elif word == "reject":
                found["reject"] = True
            elif word == "rate-limit":
                found["rate_limit"] = True
            elif m.group(2) is not None:
                found["fail_times"] = int(m.group(2))
            elif m.group(3) is not None:
                found["slow_ms"] = int(m.group(3))
            elif m.group(4) is not None:
                found["processing_rounds"] = int(m.group(4))
        return cls(**found)

    def check(self, attempt: int) -> None:
        """Raise the failure this attempt is scripted to have, if any."""
        if self.reject:
            raise ContentRejected("the sandbox rejected this content ([sandbox:reject])")
        if self.fail_always:
            raise TransientError("simulated platform outage ([sandbox:fail])")
        if attempt <= self.fail_times:
            raise TransientError(f"simulated failure {attempt} of {self.fail_times} ([sandbox:fail-times])")
        if self.rate_limit and attempt == 1:
            raise RateLimited("simulated rate limit ([sandbox:rate-limit])", retry_after_s=RATE_LIMIT_RETRY_AFTER_S)


@dataclass(frozen=True)
class SandboxPost:
    id: str
    target_id: str
    container_index: int
    parent_id: str | None
    content: str
    # The ids of the media the post carries, in order.
    media: tuple[str, ...] = ()


class SandboxLedger(Protocol):
    """Where simulated posts are kept; they commit with the container's progress
    (`ctx.commit_with_progress`)."""

    async def record(self, ctx: PublishContext, post: SandboxPost) -> None: ...


def post_id_for(target_id: str, index: int) -> str:
    return "sbx_" + hashlib.sha256(f"{target_id}:{index}".encode()).hexdigest()[:16]


def post_url(platform: str, username: str, post_id: str) -> str:
    return f"https://sandbox.crier.local/{platform}/{username or 'sandbox'}/{post_id}"


class SandboxAdapter:
    """Publishes into the ledger. What a post may hold is checked by its platform's rules, as for a
    live account of that platform, before the sandbox sees it."""

    name = "sandbox"
    transactional = True
    needs_account = False

    def __init__(self, ledger: SandboxLedger) -> None:
        self._ledger = ledger

    async def publish_container(
        self,
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> PublishedContainer:
        root = ctx.containers[0] if ctx.containers else container
        magic = Magic.parse(root.content)
        if magic.slow_ms:
            await asyncio.sleep(magic.slow_ms / 1000)
        if index == 0:
            magic.check(ctx.attempt)
        state = ctx.stage.get(index) if ctx.stage is not None else {}
        if container.media and "media" not in state:
            # Kept in the stage with the processing round that follows, if one does: a post that
            # does not wait needs no stage.
            state["media"] = [await _upload(ctx, ref) for ref in container.media]
        if index == 0 and magic.processing_rounds:
            await _process(ctx, state, magic.processing_rounds)
        post = SandboxPost(
            id=post_id_for(ctx.target_id, index),
            target_id=ctx.target_id,
            container_index=index,
            parent_id=parent.platform_post_id if parent else None,
            content=container.content,
            media=tuple(state.get("media", ())),
        )
        await self._ledger.record(ctx, post)
        return PublishedContainer(post.id, post_url(ctx.platform, ctx.account_username, post.id))

    async def find_published(
        self,
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> PublishedContainer | None:
        # The ledger row commits with the progress row: an outcome is never unknown.
        return None


async def _upload(ctx: PublishContext, ref: MediaRef) -> str:
    """Reads the whole object, as an upload would, and checks it is the one the gateway inspected."""
    if ctx.media is None:
        raise PlatformError(f"media {ref.id}: no media source to read it from", code="media_missing", retryable=False)
    digest = hashlib.sha256()
    async for piece in ctx.media.chunks(ref):
        digest.update(piece)
    if digest.hexdigest() != ref.sha256:
        raise PlatformError(
            f"media {ref.id}: the stored bytes are not the ones inspected (sha256 {digest.hexdigest()[:12]}…)",
            code="media_missing",
            retryable=False,
        )
    return ref.id


async def _process(ctx: PublishContext, state: dict[str, Any], rounds: int) -> None:
    """One more round of simulated processing, counted in the stage, until `rounds` have passed.
    Without a stage (an adapter outside the publisher) nothing can be counted, and nothing waits."""
    done = int(state.get("processing_rounds", 0))
    if ctx.stage is None or done >= rounds:
        return
    state["processing_rounds"] = done + 1
    await ctx.stage.save(0, state)
    raise StillProcessing(
        f"the sandbox is processing the media, round {done + 1} of {rounds} ([sandbox:processing])",
        retry_after_s=PROCESSING_RETRY_AFTER_S,
    )
