"""A key's requests that arrive while a count of it is on its way are counted together by the next
statement, each with a count of its own; a failed count fails the requests it was for, and the next
ones are counted."""

from __future__ import annotations

import asyncio

import pytest

from crier.gateway.adapters.rate_limits import Counted
from crier.gateway.handlers.request_counts import RequestCounts


class Counter:
    """A key's counter as the store keeps it; each count waits until the test lets it through."""

    def __init__(self) -> None:
        self.total = 0
        self.statements: list[int] = []
        self.changed = asyncio.Condition()
        self.gate = asyncio.Event()
        self.fail_next = False

    async def count_many(self, key_id: str, n: int) -> Counted:
        async with self.changed:
            self.statements.append(n)
            self.changed.notify_all()
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        self.total += n
        return Counted(count=self.total, seconds_left=30.0, per_minute=None)


async def _settled(counter: Counter, statements: int) -> None:
    async with asyncio.timeout(5), counter.changed:
        await counter.changed.wait_for(lambda: len(counter.statements) >= statements)


async def test_requests_waiting_on_a_count_are_counted_by_one_statement() -> None:
    counts, counter = RequestCounts(), Counter()
    first = asyncio.create_task(counts.count("key", counter.count_many))
    await _settled(counter, 1)
    rest = [asyncio.create_task(counts.count("key", counter.count_many)) for _ in range(9)]
    other = Counter()
    other_key = asyncio.create_task(counts.count("other", other.count_many))
    await _settled(other, 1)
    assert other.statements == [1], "another key is counted at once, not behind this one"
    counter.gate.set()
    other.gate.set()
    answers = await asyncio.gather(first, *rest)
    assert [a.count for a in answers] == list(range(1, 11)), "a count each, in order of arrival"
    assert counter.statements == [1, 9], "the nine requests that waited, in one statement"
    assert (await other_key).count == 1


async def test_a_failed_count_fails_its_requests_and_the_next_are_counted() -> None:
    counts, counter = RequestCounts(), Counter()
    counter.fail_next = True
    failing = [asyncio.create_task(counts.count("key", counter.count_many)) for _ in range(3)]
    await _settled(counter, 1)
    later = asyncio.create_task(counts.count("key", counter.count_many))
    await asyncio.sleep(0)
    counter.gate.set()
    for task in failing:
        with pytest.raises(ConnectionError):
            await task
    assert (await later).count == 1
    assert counter.statements == [3, 1]


async def test_a_canceled_request_leaves_the_others_counted() -> None:
    counts, counter = RequestCounts(), Counter()
    first = asyncio.create_task(counts.count("key", counter.count_many))
    await _settled(counter, 1)
    gone, kept = (asyncio.create_task(counts.count("key", counter.count_many)) for _ in range(2))
    await asyncio.sleep(0)
    first.cancel()
    counter.gate.set()
    gone.cancel()
    assert (await kept).count == 3, "the canceled requests were made: they stay counted"
    assert counter.total == 3
