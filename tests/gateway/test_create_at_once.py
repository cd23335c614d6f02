"""The common create (no Idempotency-Key or a new one, nothing to look up) is a read and one write
that claims the key with the post, each committed on its own; a key another request takes between
the two is left to the transactional create, which answers for that request, as is a repeat of an
external_ref."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
from crier.kit.errors import Conflict, Invalid
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


async def _reads_and_writes(uow: RecordingUnitOfWork) -> tuple[int, int]:
    """The creates' statements so far: those that read the accounts alone, and those that write a
    post (which insert into post_events), leaving out the driver's own (type introspection)."""
    statements = await uow.statements()
    writes = [s for s in statements if "INSERT INTO post_events" in s]
    reads = [s for s in statements if "FROM accounts" in s and "INSERT" not in s]
    return len(reads), len(writes)


async def test_a_create_naming_accounts_read_lately_is_one_statement(engine: AsyncEngine, sandbox: Org) -> None:
    uow = RecordingUnitOfWork(engine, consumer="gateway")
    ctx = Context(uow=uow)
    accounts = list(sandbox.accounts.values())
    request = PostRequest(accounts=accounts, content="known accounts 1", is_draft=True)
    await create_post(ctx, _who(sandbox), request, IdempotencyKey("known-1", "hash-1"))
    assert await _reads_and_writes(uow) == (1, 1), "the first create reads its accounts, then writes"
    request = PostRequest(accounts=accounts, content="known accounts 2", is_draft=True, external_ref="known-ref")
    second = await create_post(ctx, _who(sandbox), request, IdempotencyKey("known-2", "hash-2"))
    assert await _reads_and_writes(uow) == (1, 2), "the second only writes"
    assert uow.made == ["autocommit", "autocommit"]
    assert second.is_new and [t.account_id for t in second.record.targets] == accounts
    async with engine.connect() as conn:
        key = (await conn.execute(sa.text("SELECT status, post_id FROM idempotency_keys WHERE key = 'known-2'"))).one()
        targets = await conn.scalar(
            sa.text("SELECT count(*) FROM post_targets WHERE post_id = :p"), {"p": second.record.post.id}
        )
    assert tuple(key) == ("done", second.record.post.id), "the key is claimed with the post it answers with"
    assert targets == len(accounts)
    again = await create_post(ctx, _who(sandbox), request, IdempotencyKey("known-3", "hash-3"))
    assert not again.is_new and again.record.post.id == second.record.post.id, "its external_ref is held"
    assert uow.made[2:] == ["autocommit", "transaction"], "the write found the external_ref held"
    assert await _posts_with(engine, "known accounts 2") == 1


async def test_a_create_is_checked_against_its_accounts_as_they_are_now(engine: AsyncEngine, sandbox: Org) -> None:
    """Accounts kept from an earlier read are checked again by the write: a row changed since, or
    an account no longer usable, writes nothing, and the create reads the accounts as they are."""
    uow = RecordingUnitOfWork(engine, consumer="gateway")
    ctx = Context(uow=uow)
    x, linkedin = sandbox.accounts["x"], sandbox.accounts["linkedin"]
    await create_post(ctx, _who(sandbox), PostRequest(accounts=[x, linkedin], content="kept 1", is_draft=True), None)
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE accounts SET username = 'renamed' WHERE id = :id"), {"id": x})
    renamed = await create_post(
        ctx, _who(sandbox), PostRequest(accounts=[x, linkedin], content="kept 2", is_draft=True), None
    )
    assert {t.account_id: t.account_username for t in renamed.record.targets}[x] == "renamed"
    assert await _reads_and_writes(uow) == (2, 3), "a write found the row changed and wrote nothing; a read"
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE accounts SET status = 'disabled' WHERE id = :id"), {"id": linkedin})
    with pytest.raises(Invalid) as refused:
        await create_post(
            ctx, _who(sandbox), PostRequest(accounts=[x, linkedin], content="kept 3", is_draft=True), None
        )
    assert refused.value.code == "unknown_account" and refused.value.details["accounts"] == [linkedin]
    assert await _posts_with(engine, "kept 3") == 0


async def test_a_repeat_the_checks_now_refuse_is_answered_as_it_was(engine: AsyncEngine, sandbox: Org) -> None:
    """A repeat is answered with its post even when its request would no longer pass the checks
    (its scheduled time has passed): the create from kept accounts leaves a refused request to the
    read, which finds the key held."""
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    now = [start]
    uow = RecordingUnitOfWork(engine, consumer="gateway")
    ctx = Context(uow=uow, clock=lambda: now[0])
    at = (start + timedelta(hours=1)).isoformat()
    request = PostRequest(accounts=list(sandbox.accounts.values()), content="scheduled once", scheduled_at=at)
    key = IdempotencyKey("scheduled-once", "hash-s")
    first = await create_post(ctx, _who(sandbox), request, key)
    now[0] = start + timedelta(hours=2)
    again = await create_post(ctx, _who(sandbox), request, key)
    assert not again.is_new and again.record.post.id == first.record.post.id
    assert uow.made[1:] == ["autocommit", "transaction"], "the read found the key held: the transaction replays"
    with pytest.raises(Invalid):
        fresh = PostRequest(accounts=list(sandbox.accounts.values()), content="scheduled late", scheduled_at=at)
        await create_post(ctx, _who(sandbox), fresh, IdempotencyKey("scheduled-late", "hash-l"))
