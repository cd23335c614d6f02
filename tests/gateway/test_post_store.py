"""The one write path of an existing post: a writer that loses the race to append decides again
on the post as the winner left it, so no report is lost and the history stays gapless; and a new
post's, which inserts and never overwrites."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from crier.contracts.common import Mode
from crier.gateway.adapters import post_store
from crier.gateway.adapters.folded_posts import FoldedPosts
from crier.gateway.adapters.post_rows import json_text
from crier.gateway.adapters.tables import post_events, post_targets, posts
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import Post, replay
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from crier.kit.errors import NotFound
from crier.kit.uow import Transaction, UnitOfWork
from tests.gateway.conftest import Gateway, Org


class Paced:
    """A unit of work whose transactions start once `start` is set, and commit once `commit` is."""

    def __init__(self, uow: UnitOfWork, *, start: asyncio.Event, commit: asyncio.Event) -> None:
        self.uow, self.start, self.commit = uow, start, commit
        self.consumer = uow.consumer
        # How each try of the change was made.
        self.made: list[str] = []

    @asynccontextmanager
    async def begin(self, **options: Any) -> AsyncIterator[Transaction]:
        await asyncio.wait_for(self.start.wait(), timeout=10)
        self.made.append("in_a_transaction")
        async with self.uow.begin(**options) as tx:
            yield tx
            await asyncio.wait_for(self.commit.wait(), timeout=10)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Transaction]:
        """Its statements commit as they run: `commit` is held by a lock on the post's row instead."""
        await asyncio.wait_for(self.start.wait(), timeout=10)
        self.made.append("at_once")
        async with self.uow.autocommit() as tx:
            yield tx


async def _nothing_more(tx: Transaction, post: Post) -> None:
    """An effect that writes nothing: the change is made in a transaction."""


async def _append_by_hand(conn: Any, post_id: str, after_version: int, events: list[ev.AnyPostEvent]) -> None:
    """Events stored without the change that would write them (the store's writes go through
    `change` and `create` only)."""
    rows = []
    for version, event in enumerate(events, start=after_version + 1):
        kind, data = ev.encode(event)
        rows.append({"post_id": post_id, "version": version, "type": kind, "data": data, "occurred_at": event.at})
    await conn.execute(post_events.insert(), rows)


def publishing(post: Post, target: int) -> ev.TargetPublishing:
    return ev.TargetPublishing(at=datetime.now(UTC), target_id=post.targets[target].id, attempt=1)


@pytest.mark.parametrize("made", ["at_once", "in_a_transaction"])
async def test_the_writer_that_loses_the_race_decides_again(gateway: Gateway, sandbox: Org, made: str) -> None:
    """Both ways a change is made: in two statements that each commit (the first writer's write held
    by a lock on the post's row until the second has read), and in a transaction (the first's
    commit held until the second has read)."""
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "race", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=3)
    uow = UnitOfWork(engine, consumer="gateway-test")
    loaded = {"first": asyncio.Event(), "second": asyncio.Event()}
    decided: dict[str, int] = {"first": 0, "second": 0}
    at_once = asyncio.Event()
    at_once.set()

    def decide(name: str, target: int) -> Any:
        def on(post: Post) -> list[ev.AnyPostEvent]:
            decided[name] += 1
            loaded[name].set()
            return [publishing(post, target)]

        return on

    def change(name: str, target: int, through: Any, mode: Mode = "test") -> Any:
        return post_store.change(
            through,
            post_id=post_id,
            org_id=sandbox.id,
            mode=mode,
            decide=decide(name, target),
            announce=lambda *_: [],
            effect=_nothing_more if made == "in_a_transaction" else None,
        )

    async def released_once_read(lock: Any) -> None:
        await asyncio.wait_for(loaded["second"].wait(), timeout=10)
        await lock.rollback()

    try:
        # Both writers read the post before either commits: the first holds its appended event
        # uncommitted until the second has read, so the second appends the same version.
        async with engine.connect() as holder:
            lock = await holder.begin()
            if made == "at_once":
                await holder.execute(sa.text("SELECT 1 FROM posts WHERE id = :id FOR UPDATE"), {"id": post_id})
            else:
                await lock.rollback()
            paced = (
                Paced(uow, start=at_once, commit=loaded["second"]),
                Paced(uow, start=loaded["first"], commit=at_once),
            )
            first, second, _ = await asyncio.gather(
                change("first", 0, paced[0]),
                change("second", 1, paced[1]),
                released_once_read(lock) if made == "at_once" else asyncio.sleep(0),
            )
        async with engine.connect() as conn:
            versions = (
                await conn.scalars(
                    sa.select(post_events.c.version).where(post_events.c.post_id == post_id).order_by("version")
                )
            ).all()
        with pytest.raises(NotFound):
            # The same post seen from the live side of its organization does not exist.
            await change("first", 0, uow, mode="live")
    finally:
        await engine.dispose()
    assert sorted(decided.values()) == [1, 2], decided
    assert [p.made for p in paced] in ([[made], [made] * 2], [[made] * 2, [made]])
    assert versions == [1, 2, 3]
    assert first is not None and second is not None
    assert {t.status for t in (first if first.version == 3 else second).targets} == {"publishing"}


async def test_a_kept_post_folds_only_what_came_since_and_never_what_was_rolled_back(
    gateway: Gateway, sandbox: Org
) -> None:
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "folds", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    try:
        async with engine.connect() as conn:
            post = await post_store.load(conn, post_id)
        assert post is not None and post_store.FOLDED.get(post_id) is not None

        # An event appended in a transaction that then rolls back, loaded inside it: that state is
        # kept for a moment, but it folded an event that never was.
        async with engine.connect() as conn:
            tx = await conn.begin()
            await _append_by_hand(conn, post_id, post.version, [publishing(post, 0)])
            inside = await post_store.load(conn, post_id)
            assert inside is not None and inside.targets[0].status == "publishing"
            await tx.rollback()
        async with engine.begin() as conn:  # what really happened at that version
            await _append_by_hand(conn, post_id, post.version, [publishing(post, 1)])

        async with engine.connect() as conn:
            after = await post_store.load(conn, post_id)
            assert after is not None
            assert [t.status for t in after.targets[:2]] == [post.targets[0].status, "publishing"]
            # the kept state, brought up to date, is the whole history folded again
            assert after == replay(await post_store.history(conn, post_id))

        # A later event is folded onto the kept state: the same post as the whole history makes.
        async with engine.begin() as conn:
            await _append_by_hand(conn, post_id, after.version, [publishing(after, 0)])
        async with engine.connect() as conn:
            latest = await post_store.load(conn, post_id)
            assert latest is not None and latest.version == after.version + 1
            assert latest == replay(await post_store.history(conn, post_id))
        async with engine.begin() as conn:
            # The events were appended by hand: the projection follows, as every change keeps it
            # (the rebuild test compares every post's projection with its events).
            await post_store.project(conn, latest)
    finally:
        await engine.dispose()


def test_kept_posts_are_bounded_the_least_recently_loaded_going_first() -> None:
    kept = FoldedPosts(capacity=2)
    for post_id in ("a", "b"):
        kept.keep(SimpleNamespace(id=post_id), {})  # type: ignore[arg-type]  # the id is all it reads
    assert kept.get("a") is not None  # "a" loaded again: "b" is now the least recent
    kept.keep(SimpleNamespace(id="c"), {})  # type: ignore[arg-type]
    assert len(kept) == 2 and kept.get("b") is None and kept.get("a") is not None


async def test_reports_handled_together_append_once_each_and_announce_every_step(
    gateway: Gateway, sandbox: Org
) -> None:
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "together", "accounts": list(sandbox.accounts.values())}).json()[
            "id"
        ]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-together")
    steps: list[tuple[int, int, str]] = []

    def announce(before: Post, after: Post, events: Any) -> list[Any]:
        steps.append((before.version, after.version, type(events[0]).__name__))
        return []

    def together(facts: dict[str, ev.AnyPostEvent]) -> Any:
        return post_store.change(uow, post_id=post_id, org_id=sandbox.id, mode="test", facts=facts, announce=announce)

    try:
        async with engine.connect() as conn:
            post = await post_store.load(conn, post_id)
        assert post is not None
        at = datetime.now(UTC)
        first = {
            "m1": publishing(post, 0),
            "m2": ev.TargetPublished(at=at, target_id=post.targets[0].id, attempt=1, platform_post_id="p-1"),
            "m3": publishing(post, 1),
        }
        after = await together(first)
        assert after is not None and after.version == post.version + 3
        assert [t.status for t in after.targets[:2]] == ["published", "publishing"]
        # each fact announced as its own change, as one message at a time would have it
        v = post.version
        assert steps == [
            (v, v + 1, "TargetPublishing"),
            (v + 1, v + 2, "TargetPublished"),
            (v + 2, v + 3, "TargetPublishing"),
        ]

        # A redelivery of the same messages changes nothing; with one new message, only its fact goes in.
        assert await together(first) is None
        done = ev.TargetPublished(at=at, target_id=post.targets[1].id, attempt=1, platform_post_id="p-2")
        again = await together({"m2": first["m2"], "m4": done})
        assert again is not None and again.version == after.version + 1
        async with engine.connect() as conn:
            stored = await post_store.history(conn, post_id)
            assert replay(stored) == again
            # the projection rows are the post as its events make it
            statuses = (
                await conn.execute(sa.text("SELECT id, status FROM post_targets WHERE post_id = :p"), {"p": post_id})
            ).all()
        assert dict(statuses) == {t.id: t.status for t in again.targets}
    finally:
        await engine.dispose()


async def test_a_message_claimed_between_the_read_and_the_write_is_left_to_its_handler(
    gateway: Gateway, sandbox: Org
) -> None:
    """Another handler claims the message after the change read it as new: the change's one write
    fails on the claim and writes nothing, and the change, made again in a transaction, finds the
    message handled."""
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "claim", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=3)
    uow = UnitOfWork(engine, consumer="gateway-test")
    read, go = asyncio.Event(), asyncio.Event()
    go.set()
    paced = Paced(uow, start=go, commit=go)

    def decide(post: Post) -> list[ev.AnyPostEvent]:
        read.set()
        return [publishing(post, 0)]

    try:
        async with engine.connect() as other_handler:
            claim = await other_handler.begin()
            await other_handler.execute(
                sa.text("INSERT INTO inbox (consumer, event_id) VALUES ('gateway-test', 'msg-1')")
            )
            change = asyncio.create_task(
                post_store.change(
                    paced,
                    post_id=post_id,
                    org_id=sandbox.id,
                    mode="test",
                    decide=decide,
                    announce=lambda *_: [],
                    handling="msg-1",
                )
            )
            await asyncio.wait_for(read.wait(), timeout=10)
            await claim.commit()
            assert await asyncio.wait_for(change, timeout=10) is None
        async with engine.connect() as conn:
            versions = (
                await conn.scalars(sa.select(post_events.c.version).where(post_events.c.post_id == post_id))
            ).all()
    finally:
        await engine.dispose()
    assert paced.made == ["at_once", "in_a_transaction"]
    assert versions == [1], "nothing appended"


async def test_a_message_that_changes_nothing_is_still_claimed(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "noop", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-test")
    decided = 0

    def nothing(post: Post) -> list[ev.AnyPostEvent]:
        nonlocal decided
        decided += 1
        return []

    try:
        for _ in range(2):
            await post_store.change(
                uow,
                post_id=post_id,
                org_id=sandbox.id,
                mode="test",
                decide=nothing,
                announce=lambda *_: [],
                handling="msg-noop",
            )
    finally:
        await engine.dispose()
    assert decided == 2, "decided once at once and once in the transaction that claims it, then never again"


async def _projected_statuses(conn: Any, post_id: str) -> dict[str, str]:
    rows = await conn.execute(sa.text("SELECT id, status FROM post_targets WHERE post_id = :p"), {"p": post_id})
    return dict(rows.all())


def _report(uow: UnitOfWork, org: Org, post_id: str, message_id: str, event: ev.AnyPostEvent) -> Any:
    """A delivery report about the post, as the gateway's consumer hands it over: a fact with the
    id of a message of its own (a report redelivered keeps its id)."""
    return post_store.change(
        uow,
        post_id=post_id,
        org_id=org.id,
        mode="test",
        facts={f"{post_id}-{message_id}": event},
        announce=lambda *_: [],
    )


async def test_facts_about_a_post_kept_in_memory_are_written_without_reading_it(
    gateway: Gateway, sandbox: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first report of a post reads it; the next ones apply to the state kept from that write
    and go in one statement, which checks the post's last stored event is the one that state ended on."""
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "kept", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-kept")
    loads: list[str] = []
    load = post_store._load

    async def counted(conn: Any, post_id: str, *args: Any) -> Any:
        loads.append(post_id)
        return await load(conn, post_id, *args)

    monkeypatch.setattr(post_store, "_load", counted)

    def report(message_id: str, event: ev.AnyPostEvent) -> Any:
        return _report(uow, sandbox, post_id, message_id, event)

    try:
        post_store.FOLDED._states.pop(post_id, None)  # as in a process that never saw it
        async with engine.connect() as conn:
            post = replay(await post_store.history(conn, post_id))
        assert post is not None
        first = await report("r1", publishing(post, 0))
        assert first is not None and loads == [post_id]
        at = datetime.now(UTC)
        second = await report(
            "r2", ev.TargetPublished(at=at, target_id=post.targets[0].id, attempt=1, platform_post_id="p1")
        )
        third = await report("r3", publishing(post, 1))
        assert loads == [post_id], "read once, for the first report"
        assert second is not None and third is not None and third.version == post.version + 3
        assert await report("r3", publishing(post, 1)) is None  # a redelivery: claimed before
        async with engine.connect() as conn:
            stored = await post_store.history(conn, post_id)
            assert replay(stored) == third and len(stored) == third.version
            assert await _projected_statuses(conn, post_id) == {t.id: t.status for t in third.targets}
        assert post_store.FOLDED.get(post_id)[0] == third  # type: ignore[index]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("meanwhile", ["appended", "rewritten"])
async def test_facts_about_a_post_changed_since_it_was_kept_go_the_long_way(
    gateway: Gateway, sandbox: Org, meanwhile: str
) -> None:
    """Another writer appended since the state was kept (another replica), or the stored history
    is not the one the state was folded from (a database restored): the one statement writes
    nothing, and the change reads the post and is made on what is stored."""
    with sandbox.test() as c:
        post_id = c.post("/posts", json={"content": "stale", "accounts": list(sandbox.accounts.values())}).json()["id"]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-stale")

    def report(message_id: str, event: ev.AnyPostEvent) -> Any:
        return _report(uow, sandbox, post_id, message_id, event)

    try:
        async with engine.connect() as conn:
            post = await post_store.load(conn, post_id)
        assert post is not None
        kept = await report("s1", publishing(post, 0))
        assert kept is not None and post_store.FOLDED.get(post_id)[0] == kept  # type: ignore[index]
        async with engine.begin() as conn:
            if meanwhile == "appended":
                await _append_by_hand(conn, post_id, kept.version, [publishing(kept, 1)])
            else:
                # the kept state's last event, stored differently (its target 1 rather than 0)
                _, data = ev.encode(publishing(post, 1))
                await conn.execute(
                    sa.text("UPDATE post_events SET data = CAST(:d AS jsonb) WHERE post_id = :p AND version = :v"),
                    {"d": json_text(data), "p": post_id, "v": kept.version},
                )
        done = ev.TargetPublished(at=datetime.now(UTC), target_id=post.targets[0].id, attempt=1, platform_post_id="p-0")
        after = await report("s2", done)
        async with engine.connect() as conn:
            stored = await post_store.history(conn, post_id)
        assert after is not None and after == replay(stored) and len(stored) == after.version
        expected = ["published", "publishing"]  # target 1 publishing as stored, not as kept
        assert [t.status for t in after.targets[:2]] == expected
        async with engine.begin() as conn:
            # The history was changed by hand: the projection follows, as every change keeps it
            # (the rebuild test compares every post's projection with its events).
            await post_store.project(conn, after)
    finally:
        await engine.dispose()


async def test_a_create_never_takes_over_another_posts_rows(gateway: Gateway, sandbox: Org) -> None:
    """A create inserts its rows: one whose target id another post holds fails, and leaves that
    post's target where it was (an upsert would have moved it to the new post), as does one whose
    post id is taken."""
    with sandbox.test() as c:
        held = c.post("/posts", json={"content": "first", "accounts": list(sandbox.accounts.values())}).json()
    target = held["targets"][0]
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-test")

    def created(post_id: str, target_id: str) -> ev.PostCreated:
        planned = ev.PlannedTarget(id=target_id, account_id=target["social_account_id"], platform=target["platform"])
        return ev.PostCreated(
            at=datetime.now(UTC),
            post_id=post_id,
            org_id=sandbox.id,
            mode="test",
            containers=[ev.Container(content="second")],
            targets=[planned],
        )

    try:
        for post_id, target_id in ((str(uuid.uuid4()), target["id"]), (held["id"], str(uuid.uuid4()))):
            with pytest.raises(sa.exc.IntegrityError):
                async with uow.begin() as tx:
                    await post_store.create(tx, created(post_id, target_id))
        async with engine.connect() as conn:
            owner = await conn.scalar(sa.select(post_targets.c.post_id).where(post_targets.c.id == target["id"]))
            contents = (await conn.scalars(sa.select(posts.c.containers).where(posts.c.id == held["id"]))).all()
    finally:
        await engine.dispose()
    assert owner == held["id"]
    assert contents == [[{"content": "first", "media": []}]]


async def test_every_target_column_is_written_as_the_post_holds_it(gateway: Gateway, sandbox: Org) -> None:
    """The targets travel to the database as one JSON document: text that JSON escapes or that
    looks like an array, nulls, instants to the microsecond and the notes' text array each land in
    their column as the post holds them, when the post is created and when a change rewrites them."""
    tricky = 'quote " back\\slash {brace,comma} \n tab\t émoji 🦉 NULL'
    engine = create_engine(gateway.database_url, SCHEMA, pool_size=2)
    uow = UnitOfWork(engine, consumer="gateway-columns")
    accounts = list(sandbox.accounts.values())
    with sandbox.test() as c:
        platforms = {a["id"]: a["platform"] for a in c.get("/social-accounts").json()["data"]}
    created = ev.PostCreated(
        at=datetime(2026, 12, 1, 18, 30, 1, 123456, tzinfo=UTC),
        post_id=str(uuid.uuid4()),
        org_id=sandbox.id,
        mode="test",
        containers=[ev.Container(content="columns")],
        targets=[
            ev.PlannedTarget(
                id=str(uuid.uuid4()),
                account_id=a,
                platform=platforms[a],
                account_username=tricky if i == 0 else "plain",
                tenant_id=None if i == 0 else tricky,
                override_body=tricky if i == 0 else None,
            )
            for i, a in enumerate(accounts[:2])
        ],
    )

    async def stored_targets(post_id: str) -> dict[str, dict[str, Any]]:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(post_targets).where(post_targets.c.post_id == post_id))).mappings()
            return {r["id"]: {k: v for k, v in r.items() if k != "post_id"} for r in rows}

    def held(post: Post) -> dict[str, dict[str, Any]]:
        rows = (post_store._target_row(post, t) for t in post.targets)
        return {row["id"]: {c: v for c, v in row.items() if c != "post_id"} for row in rows}

    try:
        async with uow.begin() as tx:
            post, _ = await post_store.create(tx, created)
        assert await stored_targets(post.id) == held(post)

        published = ev.TargetPublished(
            at=datetime(2026, 12, 1, 18, 31, 2, 654321, tzinfo=UTC),
            target_id=post.targets[0].id,
            attempt=1,
            platform_post_id=tricky,
            platform_post_url='https://example.com/p?a=1&b="2"',
            notes=[tricky, "{a,b}", "", "NULL"],
        )
        after = await post_store.change(
            uow, post_id=post.id, org_id=sandbox.id, mode="test", facts={"m": published}, announce=lambda *a: []
        )
        assert after is not None and after.targets[0].notes == published.notes
        stored = await stored_targets(post.id)
        assert stored == held(after)
        assert stored[post.targets[0].id]["published_at"] == published.at
        # The events travel as one JSON document too: each lands as encoded, to the microsecond.
        async with engine.connect() as conn:
            events = (
                await conn.execute(
                    sa.select(post_events.c.version, post_events.c.type, post_events.c.data, post_events.c.occurred_at)
                    .where(post_events.c.post_id == post.id)
                    .order_by(post_events.c.version)
                )
            ).all()
        assert [tuple(e) for e in events] == [
            (1, *ev.encode(created), created.at),
            (2, *ev.encode(published), published.at),
        ]
    finally:
        await engine.dispose()
