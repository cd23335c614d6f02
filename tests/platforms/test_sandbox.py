"""The sandbox platform: magic words, deterministic ids, native replies, validation."""

from __future__ import annotations

import pytest

from crier.contracts.common import Container
from crier.platforms.base import ContentRejected, PlatformAdapter, PublishContext, RateLimited, TransientError
from crier.platforms.sandbox import Magic, SandboxAdapter, SandboxPost, post_id_for


class MemoryLedger:
    def __init__(self) -> None:
        self.posts: list[SandboxPost] = []

    async def record(self, ctx: PublishContext, post: SandboxPost) -> None:
        self.posts.append(post)


def _ctx(content: str, attempt: int = 1, *more: str) -> PublishContext:
    containers = (Container(content=content), *(Container(content=c) for c in more))
    return PublishContext(
        target_id="t_1",
        post_id="p_1",
        org_id="o",
        mode="test",
        platform="x",
        account_id="a",
        account_username="alice",
        attempt=attempt,
        containers=containers,
    )


def test_magic_parsing() -> None:
    assert Magic.parse("hello") == Magic()
    assert Magic.parse("x [sandbox:fail] y").fail_always
    assert Magic.parse("[sandbox:reject]").reject
    assert Magic.parse("[sandbox:fail-times=3]").fail_times == 3
    assert Magic.parse("[sandbox:rate-limit]").rate_limit
    both = Magic.parse("[sandbox:slow=1500] and [sandbox:fail-times=2]")
    assert both.slow_ms == 1500 and both.fail_times == 2
    assert Magic.parse("[sandbox:fail-times=x] [sandbox:explode]") == Magic()


@pytest.mark.parametrize(
    ("content", "attempt", "error"),
    [
        ("[sandbox:fail]", 1, TransientError),
        ("[sandbox:fail]", 5, TransientError),
        ("[sandbox:reject]", 1, ContentRejected),
        ("[sandbox:fail-times=2]", 2, TransientError),
        ("[sandbox:rate-limit]", 1, RateLimited),
    ],
)
async def test_scripted_failures(content: str, attempt: int, error: type) -> None:
    ledger = MemoryLedger()
    ctx = _ctx(content, attempt)
    with pytest.raises(error) as raised:
        await SandboxAdapter(ledger).publish_container(ctx, ctx.containers[0], 0, None)
    assert ledger.posts == []
    assert raised.value.retryable == (error is not ContentRejected)
    if error is RateLimited:
        assert raised.value.retry_after_s == 0.1


@pytest.mark.parametrize(("content", "attempt"), [("[sandbox:fail-times=2]", 3), ("[sandbox:rate-limit]", 2)])
async def test_scripted_recoveries(content: str, attempt: int) -> None:
    ledger = MemoryLedger()
    ctx = _ctx(content, attempt)
    await SandboxAdapter(ledger).publish_container(ctx, ctx.containers[0], 0, None)
    assert len(ledger.posts) == 1


async def test_thread_posts_reply_to_the_previous_container_with_stable_ids() -> None:
    ledger = MemoryLedger()
    adapter = SandboxAdapter(ledger)
    assert isinstance(adapter, PlatformAdapter)
    ctx = _ctx("root", 1, "reply one", "reply two")
    parent = None
    for i, c in enumerate(ctx.containers):
        parent = await adapter.publish_container(ctx, c, i, parent)
    assert [p.parent_id for p in ledger.posts] == [None, post_id_for("t_1", 0), post_id_for("t_1", 1)]
    assert ledger.posts[0].id == post_id_for("t_1", 0) == "sbx_" + post_id_for("t_1", 0)[4:]
    assert len(ledger.posts[0].id) == 4 + 16 and post_id_for("t_1", 0) != post_id_for("t_2", 0)
    assert parent is not None and parent.url == f"https://sandbox.crier.local/x/alice/{post_id_for('t_1', 2)}"


async def test_magic_in_a_reply_does_not_fail_the_root() -> None:
    ledger = MemoryLedger()
    ctx = _ctx("root", 1, "[sandbox:reject]")
    await SandboxAdapter(ledger).publish_container(ctx, ctx.containers[1], 1, None)
    assert len(ledger.posts) == 1
