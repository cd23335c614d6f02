"""The small shared idioms: failures, keyset cursors, limits, the sync runner, first_of, outages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy.exc
from hypothesis import given
from hypothesis import strategies as st

from crier.kit import pages
from crier.kit.errors import Conflict, Invalid, NotFound, Problem, collect
from crier.kit.sync import run_sync
from crier.kit.transient import is_transient
from crier.kit.waiting import first_of


def test_invalid_lists_every_problem_by_field() -> None:
    problems: list[Problem] = []
    assert collect(problems, lambda: 1) == 1

    def bad(field: str) -> int:
        raise Problem(field, "empty", "must not be empty")

    assert collect(problems, lambda: bad("content")) is None
    collect(problems, lambda: bad("accounts"))
    failure = Invalid.of(problems)
    assert (failure.kind, failure.code, failure.message) == ("invalid", "validation_error", "the request is invalid")
    assert [f["field"] for f in failure.details["fields"]] == ["content", "accounts"]
    one = Invalid.one("limit", "out_of_range", "must be between 1 and 100")
    assert one.message == "must be between 1 and 100" and one.details["fields"][0]["code"] == "out_of_range"
    assert (NotFound.of("post", "p1").code, NotFound.of("post", "p1").message) == ("not_found", "no post p1")
    assert Conflict("post_not_cancelable", "too late").kind == "conflict"


@given(st.datetimes(timezones=st.just(UTC)), st.text(min_size=1, max_size=80))
def test_a_cursor_names_the_row_it_was_made_from(created_at: datetime, row_id: str) -> None:
    assert pages.decode_cursor(pages.encode_cursor(created_at, row_id)) == (created_at, row_id)


@pytest.mark.parametrize("cursor", ["garbage!", "", "e30", "eyJjIjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImkiOiJ4In0"])
def test_a_cursor_we_did_not_issue_is_refused(cursor: str) -> None:
    with pytest.raises(pages.BadCursor) as refused:
        pages.decode_cursor(cursor)
    assert (refused.value.kind, refused.value.code) == ("invalid", "invalid_cursor")


def test_limits() -> None:
    assert pages.checked_limit(None) == pages.DEFAULT_LIMIT == 25
    assert pages.checked_limit(100) == 100
    for bad in (0, 101, -1):
        with pytest.raises(Invalid):
            pages.checked_limit(bad)


def test_a_page_says_whether_another_follows() -> None:
    class Row:
        def __init__(self, n: int) -> None:
            self.id, self.created_at = f"r{n}", datetime(2026, 1, 1, tzinfo=UTC)

    rows = [Row(n) for n in range(3)]
    assert pages.page_of(rows[:2], 2).next_cursor is None
    page = pages.page_of(rows, 2)
    assert [r.id for r in page.rows] == ["r0", "r1"]
    assert page.next_cursor is not None and pages.decode_cursor(page.next_cursor)[1] == "r1"


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_sync_outside_a_loop() -> None:
    assert run_sync(_answer) == 42


async def test_run_sync_inside_a_running_loop_and_its_errors() -> None:
    assert run_sync(_answer) == 42

    async def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        run_sync(fails)


async def test_first_of_returns_on_the_first_event_or_the_timeout() -> None:
    a, b = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_soon(b.set)
    await asyncio.wait_for(first_of(a, b, timeout=30), timeout=5)
    started = asyncio.get_running_loop().time()
    await first_of(a, timeout=0.05)
    assert asyncio.get_running_loop().time() - started >= 0.04
    waiters = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "Event.wait"]  # type: ignore[union-attr]
    assert waiters == []  # none left behind


def _wrapped(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("while handling") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        _wrapped(OSError("network is unreachable")),
    ],
)
def test_outages_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad data"),
        KeyError("x"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate")),
    ],
)
def test_bugs_and_bad_data_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_an_account_token_never_shows_its_secrets_in_a_repr() -> None:
    from crier.contracts.connect import AccountToken

    token = AccountToken(
        account_id="acc_1",
        platform="x",
        access_token="sekret-token",
        expires_at=None,
        network_unique_id="1",
        username="u",
        account_type="profile",
        extra={"dpop_key": "sekret-key"},
    )
    assert "sekret" not in repr(token) and "sekret" not in str(token) and "acc_1" in repr(token)
