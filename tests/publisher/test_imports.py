"""The import use case in-process against PostgreSQL, with scripted timelines: where a page ends an
import (since, limit, the end), what a re-run adds, a 429, and a reader's bug or a permanent refusal
failing the import for good."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.connect import AccountToken, TokenRequest
from crier.contracts.imports import ImportedPost, ImportPosts
from crier.kit.uow import UnitOfWork
from crier.platforms.base import PlatformError, RateLimited
from crier.platforms.timelines import TimelinePage
from crier.publisher.handlers.importing import MAX_FAILURES, Importing, Later, run_import

NEWEST = datetime(2026, 5, 1, tzinfo=UTC)


class Timeline:
    """`total` posts, newest first, `size` a page; `fail` maps a cursor to what reading it raises."""

    def __init__(self, total: int, size: int = 10, fail: dict[str | None, Exception] | None = None) -> None:
        self.total, self.size, self.fail, self.reads = total, size, dict(fail or {}), 0

    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
        self.reads += 1
        if cursor in self.fail:
            raise self.fail.pop(cursor)
        start = int(cursor or 0)
        end = min(start + self.size, self.total)
        posts = [
            ImportedPost(
                platform_post_id=f"p{self.total - i}", content=f"post {i}", published_at=NEWEST - timedelta(hours=i)
            )
            for i in range(start, end)
        ]
        return TimelinePage(posts, str(end) if end < self.total else None)


class Tokens:
    async def token(self, request: TokenRequest) -> AccountToken:
        return AccountToken(
            account_id=request.account_id,
            platform="x",
            access_token="t",
            expires_at=None,
            network_unique_id="42",
            username="jane",
            account_type="account",
        )


def command(account_id: str, **more: object) -> ImportPosts:
    import_id = f"imp_{uuid.uuid4().hex}"
    return ImportPosts(
        id=import_id,
        occurred_at=NEWEST,
        org_id="org",
        mode="live",
        import_id=import_id,
        account_id=account_id,
        platform="x",
        **more,  # type: ignore[arg-type]
    )


def importing(engine: AsyncEngine, timeline: Timeline) -> Importing:
    return Importing(uow=UnitOfWork(engine, consumer="publisher"), tokens=Tokens(), readers={"x": timeline})


async def outbox(engine: AsyncEngine, import_id: str) -> list[tuple[str, dict]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT subject, payload FROM outbox WHERE msg_id LIKE :id ORDER BY seq"), {"id": f"{import_id}:%"}
        )
        return [(r.subject, msgspec.json.decode(r.payload)) for r in rows]


async def test_a_whole_timeline_then_a_rerun_that_adds_only_the_new(engine: AsyncEngine) -> None:
    account = f"acc_{uuid.uuid4().hex}"
    first = command(account)
    await run_import(importing(engine, Timeline(25)), first)
    sent = await outbox(engine, first.import_id)
    assert [s for s, _ in sent] == ["evt.import.started", *["evt.import.page"] * 3, "evt.import.read"]
    assert sum(len(p["posts"]) for s, p in sent if s == "evt.import.page") == 25
    assert {k: sent[-1][1][k] for k in ("pages", "fetched", "imported", "skipped")} == {
        "pages": 3,
        "fetched": 25,
        "imported": 25,
        "skipped": 0,
    }

    again = command(account)
    await run_import(importing(engine, Timeline(28)), again)
    sent = await outbox(engine, again.import_id)
    assert [p["platform_post_id"] for s, b in sent if s == "evt.import.page" for p in b["posts"]] == [
        "p28",
        "p27",
        "p26",
    ]
    assert sent[-1][1]["imported"] == 3 and sent[-1][1]["skipped"] == 25


async def test_since_and_limit_end_the_import_on_the_page_that_reaches_them(engine: AsyncEngine) -> None:
    limited = command(f"acc_{uuid.uuid4().hex}", limit=12)
    timeline = Timeline(100)
    await run_import(importing(engine, timeline), limited)
    assert (await outbox(engine, limited.import_id))[-1][1]["fetched"] == 12 and timeline.reads == 2

    since = command(f"acc_{uuid.uuid4().hex}", since=NEWEST - timedelta(hours=4, minutes=30))
    await run_import(importing(engine, Timeline(100)), since)
    assert (await outbox(engine, since.import_id))[-1][1]["fetched"] == 5


async def test_a_429_hands_the_command_back_and_the_next_delivery_goes_on_from_the_cursor(engine: AsyncEngine) -> None:
    cmd = command(f"acc_{uuid.uuid4().hex}")
    timeline = Timeline(30, fail={"10": RateLimited("slow down", retry_after_s=7)})
    with pytest.raises(Later) as later:
        await run_import(importing(engine, timeline), cmd)
    assert later.value.delay_s == 7
    await run_import(importing(engine, timeline), cmd)
    sent = await outbox(engine, cmd.import_id)
    pages = [b for s, b in sent if s == "evt.import.page"]
    assert [p["pages"] for p in pages] == [1, 2, 3] and sent[-1][1]["imported"] == 30


@pytest.mark.parametrize(
    ("failure", "tries", "code"),
    [(PlatformError("gone", code="not_found"), 1, "not_found"), (KeyError("id"), MAX_FAILURES, "reader_error")],
)
async def test_a_refusal_or_a_reader_bug_fails_the_import(
    engine: AsyncEngine, failure: Exception, tries: int, code: str
) -> None:
    cmd = command(f"acc_{uuid.uuid4().hex}")

    class Again(Timeline):
        async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage:
            if cursor == "10":
                raise failure
            return await super().page(account, cursor)

    flaky = Again(30)
    for _ in range(tries - 1):
        with pytest.raises(Later):
            await run_import(importing(engine, flaky), cmd)
    await run_import(importing(engine, flaky), cmd)
    sent = await outbox(engine, cmd.import_id)
    assert sent[-1][0] == "evt.import.failed" and sent[-1][1]["error_code"] == code
    assert sent[-1][1]["fetched"] == 10
