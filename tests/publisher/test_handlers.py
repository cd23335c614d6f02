"""The delivery use case in-process, against real Postgres and scripted fake platforms (no bus)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.cli.services import migrations_dir
from crier.contracts.common import Container
from crier.kit.db import create_engine
from crier.kit.migrations import upgrade
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PlatformError, PublishContext, PublishedContainer, TransientError
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.handlers.context import Context
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import command
from tests.support.stack import Infra


class ScriptedPlatform:
    """A live platform whose calls fail as scripted, keyed by (attempt, container index)."""

    name = "x"
    transactional = False
    needs_account = False

    def __init__(self, failures: dict[tuple[int, int], Exception]) -> None:
        self.failures = failures
        self.calls: list[tuple[int, int, str | None]] = []

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        return None

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        assert ctx.conn is None, "a network adapter must not run inside a transaction"
        self.calls.append((ctx.attempt, index, parent.platform_post_id if parent else None))
        if (ctx.attempt, index) in self.failures:
            raise self.failures[(ctx.attempt, index)]
        return PublishedContainer(f"x_{index}", f"https://x.example/{index}")


@pytest.fixture(scope="module")
def database_url(infra: Infra) -> str:
    url = infra.create_database()
    upgrade(migrations_dir("publisher"), url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, "publisher", pool_size=2)
    yield engine
    await engine.dispose()


def _context(engine: AsyncEngine, platform: ScriptedPlatform) -> Context:
    return Context(
        uow=UnitOfWork(engine, consumer="publisher"),
        adapters={"x": platform},
        retry=RetryPolicy(max_attempts=5, base_s=2.0, max_s=300.0),
        jitter=lambda: 0.5,
    )


async def _outbox(engine: AsyncEngine, target_id: str) -> list[tuple[str, dict]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT subject, payload FROM outbox ORDER BY seq"))
        found = [(r.subject, msgspec.json.decode(bytes(r.payload))) for r in rows]
    return [(s, p) for s, p in found if p.get("target_id") == target_id]


async def _forget_backoff(engine: AsyncEngine, target_id: str) -> None:
    # Stands in for the wait JetStream would do before redelivering.
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE targets SET retry_at = NULL WHERE target_id = :t"), {"t": target_id})


async def test_retry_resumes_after_the_last_container_that_reached_the_platform(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 1): TransientError("503 on the reply")})
    ctx = _context(engine, platform)
    cmd = command("root", "reply", "another", mode="live")
    # Base 2 s · 2^0, half of it by the fixed jitter.
    assert await deliver(ctx, cmd) == RetryIn(1.0)
    await _forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.calls == [(1, 0, None), (1, 1, "x_0"), (2, 1, "x_0"), (2, 2, "x_1")]
    subjects = [s for s, _ in await _outbox(engine, cmd.target_id)]
    assert subjects == [
        "evt.target.publishing",
        "evt.target.attempt_failed",
        "evt.target.publishing",
        "evt.target.published",
    ]
    published = (await _outbox(engine, cmd.target_id))[-1][1]
    assert published["attempt"] == 2 and published["container_ids"] == ["x_0", "x_1", "x_2"]


async def test_redelivery_during_backoff_is_not_an_attempt(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): TransientError("timeout")})
    ctx = _context(engine, platform)
    cmd = command("root", mode="live")
    assert isinstance(await deliver(ctx, cmd), RetryIn)
    early = await deliver(ctx, cmd)
    assert isinstance(early, RetryIn) and 0 < early.delay_s <= 1.0
    assert len(platform.calls) == 1
    assert [s for s, _ in await _outbox(engine, cmd.target_id)] == [
        "evt.target.publishing",
        "evt.target.attempt_failed",
    ]


async def test_an_adapter_bug_dead_letters_instead_of_looping(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(n, 0): KeyError("boom") for n in range(1, 6)})
    ctx = _context(engine, platform)
    cmd = command("root", mode="live")
    for _ in range(4):
        assert isinstance(await deliver(ctx, cmd), RetryIn)
        await _forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert await deliver(ctx, cmd) is None  # finished: a later delivery is settled without the platform
    assert len(platform.calls) == 5
    events = await _outbox(engine, cmd.target_id)
    assert [s for s, _ in events][-2:] == ["dead.publish.x", "evt.target.dead_lettered"]
    assert events[-1][1]["error_code"] == "adapter_error" and events[-1][1]["attempt"] == 5
    async with engine.connect() as conn:
        copies = await conn.scalar(
            sa.text("SELECT count(*) FROM outbox WHERE subject = 'dead.publish.x' AND msg_id = :m"),
            {"m": f"{cmd.target_id}:dead"},
        )
    assert copies == 1


async def test_permanent_error_fails_at_once(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): PlatformError("token revoked", code="auth_expired")})
    cmd = command("root", mode="live")
    assert await deliver(_context(engine, platform), cmd) is None
    assert [s for s, _ in await _outbox(engine, cmd.target_id)] == ["evt.target.publishing", "evt.target.failed"]
