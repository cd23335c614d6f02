"""The common create (no Idempotency-Key or a new one, nothing to look up) is a read and one write
that claims the key with the post, each committed on its own; a key another request takes between
the two is left to the transactional create, which answers for that request, as is a repeat of an
external_ref."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.validation import PostRequest
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.post_create import IdempotencyKey, create_post
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from crier.kit.errors import Conflict
from tests.gateway.conftest import Gateway, Org
from tests.support.bus import eventually
from tests.support.recording_uow import RecordingUnitOfWork


@pytest.fixture
async def engine(gateway: Gateway) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=3)
    yield engine
    await engine.dispose()


def _who(org: Org) -> Principal:
    return Principal(org_id=org.id, mode="test", key_id="k", scopes=frozenset({"admin"}))


async def _posts_with(engine: AsyncEngine, content_like: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.text("SELECT count(*) FROM posts WHERE containers::text LIKE :c"), {"c": f"%{content_like}%"}
            )
            or 0
        )


@pytest.mark.parametrize(
    ("content", "key", "external_ref", "repeat_held_by"),
    [
        ("at once", IdempotencyKey("key-at-once", "hash-1"), None, "key"),
        ("keyless", None, "keyless-ref", "external_ref"),
    ],
    ids=["a new key, claimed with its post", "no key, an external_ref"],
)
async def test_a_create_is_a_read_and_a_write_and_its_repeat_is_answered_by_the_transactional_create(
    engine: AsyncEngine,
    sandbox: Org,
    content: str,
    key: IdempotencyKey | None,
    external_ref: str | None,
    repeat_held_by: str,
) -> None:
    uow = RecordingUnitOfWork(engine, consumer="gateway")
    ctx = Context(uow=uow)
    request = PostRequest(
        accounts=list(sandbox.accounts.values()), content=content, is_draft=True, external_ref=external_ref
    )
    first = await create_post(ctx, _who(sandbox), request, key)
    assert first.is_new and uow.made == ["autocommit"], "a read and a write, no transaction"
    again = await create_post(ctx, _who(sandbox), request, key)
    assert not again.is_new and again.record.post.id == first.record.post.id
    assert uow.made[1:] == ["autocommit", "transaction"], (
        f"the held {repeat_held_by}: answered by the transactional create"
    )
    assert await _posts_with(engine, content) == 1


async def test_a_key_taken_between_the_read_and_the_write_writes_nothing(engine: AsyncEngine, sandbox: Org) -> None:
    uow = RecordingUnitOfWork(engine, consumer="gateway")
    ctx = Context(uow=uow)
    request = PostRequest(accounts=list(sandbox.accounts.values()), content="raced key", is_draft=True)
    async with engine.connect() as other_request:
        # Another request's claim of the key, not committed yet: the create's read does not see it,
        # and its write waits on it.
        claim = await other_request.begin()
        await other_request.execute(
            sa.text(
                "INSERT INTO idempotency_keys (org_id, mode, key, request_hash, status, created_at, holder,"
                " lease_expires_at) VALUES (:org, 'test', 'key-raced', 'hash-2', 'in_progress', now(), 'other',"
                " now() + interval '1 minute')"
            ),
            {"org": sandbox.id},
        )
        create = asyncio.create_task(create_post(ctx, _who(sandbox), request, IdempotencyKey("key-raced", "hash-2")))
        async with engine.connect() as watcher:
            # Each look in a transaction of its own: one transaction sees one snapshot of the activity.
            await watcher.execution_options(isolation_level="AUTOCOMMIT")

            async def waiting_on_the_claim() -> Any:
                return await watcher.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE '%idempotency_keys%' AND pid <> pg_backend_pid()"
                    )
                )

            await eventually(waiting_on_the_claim, timeout=10, what="the create's write waiting on the claim")
        await claim.commit()
        with pytest.raises(Conflict) as in_progress:
            await asyncio.wait_for(create, timeout=10)
    assert in_progress.value.code == "idempotency_in_progress"
    assert uow.made == ["autocommit", "transaction"]
    assert await _posts_with(engine, "raced key") == 0, "the post was not written with a key it did not hold"
