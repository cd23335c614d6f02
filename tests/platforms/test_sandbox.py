"""The sandbox platform: magic words, deterministic ids, native replies, validation, media read and
checked like an upload, simulated processing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import (
    ContentRejected,
    PlatformAdapter,
    PlatformError,
    PublishContext,
    RateLimited,
    StillProcessing,
    TransientError,
)
from crier.platforms.sandbox import Magic, SandboxAdapter, SandboxPost, post_id_for
from tests.platforms.publishing import SavedStage
from tests.support.media_files import media_ref, png


class MemoryLedger:
    def __init__(self) -> None:
        self.posts: list[SandboxPost] = []

    async def record(self, ctx: PublishContext, post: SandboxPost) -> None:
        self.posts.append(post)


class MemoryMedia:
    """A `MediaSource` over bytes in memory, counting reads."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads: list[str] = []

    async def chunks(self, media: MediaRef, size: int = 4 << 20) -> AsyncIterator[bytes]:
        self.reads.append(media.id)
        if media.key not in self.objects:
            raise PlatformError(f"media {media.id} is not in the media store", code="media_missing")
        data = self.objects[media.key]
        for start in range(0, len(data), 7):
            yield data[start : start + 7]

    async def read(self, media: MediaRef) -> bytes:
        raise AssertionError("the sandbox streams media like a video upload")

    def url(self, media: MediaRef) -> str:
        raise AssertionError("the sandbox uploads, it never hands out URLs")


def _ctx(content: str, attempt: int = 1, *more: str, **extra: object) -> PublishContext:
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
        **extra,  # type: ignore[arg-type]
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
    assert Magic.parse("[sandbox:processing=3]").processing_rounds == 3


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


async def test_media_is_read_whole_checked_and_recorded_with_the_post() -> None:
    one, two = png(), png(10, 10, color=(0, 0, 255))
    refs = [media_ref(one, alt_text="red"), media_ref(two)]
    source = MemoryMedia({refs[0].key: one, refs[1].key: two})
    ledger = MemoryLedger()
    ctx = _ctx("look", media=source, stage=SavedStage())
    container = Container(content="look", media=refs)
    await SandboxAdapter(ledger).publish_container(ctx, container, 0, None)
    assert ledger.posts[0].media == (refs[0].id, refs[1].id)
    assert source.reads == [refs[0].id, refs[1].id]


@pytest.mark.parametrize("problem", ["altered", "missing", "no source"])
async def test_media_not_as_inspected_fails_for_good(problem: str) -> None:
    data = png()
    ref = media_ref(data)
    objects = {"altered": {ref.key: data + b"x"}, "missing": {}, "no source": {}}[problem]
    source = None if problem == "no source" else MemoryMedia(objects)
    ledger = MemoryLedger()
    ctx = _ctx("look", media=source, stage=SavedStage())
    with pytest.raises(PlatformError) as raised:
        await SandboxAdapter(ledger).publish_container(ctx, Container(content="look", media=[ref]), 0, None)
    assert (raised.value.code, raised.value.retryable) == ("media_missing", False)
    assert ledger.posts == []
    if problem == "altered":
        assert hashlib.sha256(data + b"x").hexdigest()[:12] in raised.value.message


async def test_processing_waits_n_rounds_counted_in_the_stage_without_reading_again() -> None:
    data = png()
    ref = media_ref(data)
    source, stage, ledger = MemoryMedia({ref.key: data}), SavedStage(), MemoryLedger()
    adapter = SandboxAdapter(ledger)
    ctx = _ctx("[sandbox:processing=2] a video", 1, "a reply", media=source, stage=stage)
    root = Container(content=ctx.containers[0].content, media=[ref])
    for round_ in (1, 2):
        with pytest.raises(StillProcessing) as waiting:
            await adapter.publish_container(ctx, root, 0, None)
        assert waiting.value.retry_after_s == 0.2 and stage.saved[0]["processing_rounds"] == round_
    published = await adapter.publish_container(ctx, root, 0, None)
    assert published.platform_post_id == post_id_for("t_1", 0)
    assert source.reads == [ref.id] and ledger.posts[0].media == (ref.id,)
    # Only container 0 processes.
    await adapter.publish_container(ctx, ctx.containers[1], 1, published)
    assert len(ledger.posts) == 2
