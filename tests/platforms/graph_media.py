"""Helpers for the media tests of Meta's platforms (Facebook Pages, Instagram, Threads): the calls
one account made, and publishing a post through its platform's processing the way the publisher
does (a `StillProcessing` re-queues the delivery; here the simulator's clock is moved on instead)."""

from __future__ import annotations

from typing import Any

from crier.platforms.base import PublishContext, PublishedContainer, StillProcessing

from .publishing import Publishing


def requests_of(acct: Publishing, endpoint: str | None = None) -> list[dict[str, Any]]:
    """The calls made with this account's token (the simulator's log is shared by the session)."""
    token = f"Bearer {acct.account.access_token}"
    return [r for r in acct.sim.requests(acct.platform, endpoint) if r["authorization"] == token]


async def publish_waiting(acct: Publishing, ctx: PublishContext, *, rounds: int = 5) -> list[PublishedContainer]:
    """Every container in order; a container still processing is delivered again (with the same
    stage) once the simulator's clock has moved past the wait the platform asked for."""
    done: list[PublishedContainer] = []
    for index, container in enumerate(ctx.containers):
        for _ in range(rounds):
            try:
                done.append(await acct.adapter.publish_container(ctx, container, index, done[-1] if done else None))
                break
            except StillProcessing as waiting:
                assert waiting.retry_after_s is not None
                acct.sim.advance_clock(waiting.retry_after_s + 1)
        else:
            raise AssertionError(f"container {index} still processing after {rounds} deliveries")
    return done
