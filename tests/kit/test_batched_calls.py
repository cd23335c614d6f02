"""Calls made while a batch is on its way go together in the next one; each caller gets its own
answer, a failing item fails alone, and nobody waits forever."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from crier.kit.batched_calls import BatchedCalls

_SEEN_BY_RUN: contextvars.ContextVar[str] = contextvars.ContextVar("seen_by_run", default="none")


class Recorder:
    """A `run` that answers each item doubled, records its batches, and waits for `release` (when
    set) before answering, so a test decides when a batch comes back."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release: asyncio.Event | None = None
        self.refused: set[int] = set()
        self.outage = False
        self.contexts: list[str] = []
        self.started = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.contexts.append(_SEEN_BY_RUN.get())
        self.started.set()
        if self.release is not None:
            await self.release.wait()
        if self.outage:
            raise ConnectionRefusedError("the database is away")
        if self.refused & set(items):
            raise ValueError(f"refused {sorted(self.refused & set(items))}")
        return [i * 2 for i in items]


def _batched(run: Recorder, limit: int = 64) -> BatchedCalls[int, int]:
    return BatchedCalls(run, key=lambda item: item % 100, limit=limit)


async def test_a_lone_call_is_made_at_once_alone() -> None:
    run = Recorder()
    assert await _batched(run).call(3) == 6
    assert run.batches == [[3]]


async def test_calls_made_while_a_batch_runs_go_together_in_the_next_in_their_order() -> None:
    run = Recorder()
    run.release = asyncio.Event()
    calls = _batched(run)
    first = asyncio.create_task(calls.call(1))
    await run.started.wait()  # the first batch is on its way
    rest = [asyncio.create_task(calls.call(i)) for i in (5, 2, 9)]
    await asyncio.sleep(0)
    run.release.set()
    assert await first == 2
    assert [await t for t in rest] == [10, 4, 18]
    assert run.batches == [[1], [5, 2, 9]]


async def test_items_of_one_key_never_share_a_batch_and_a_batch_keeps_to_its_limit() -> None:
    run = Recorder()
    calls = _batched(run, limit=3)
    answers = await asyncio.gather(*(calls.call(i) for i in (1, 101, 2, 3, 4, 201)))
    assert answers == [2, 202, 4, 6, 8, 402]
    # 1, 101 and 201 share a key: one per batch; at most three items a batch
    assert run.batches == [[1, 2, 3], [101, 4], [201]]


async def test_a_failing_batch_is_made_again_item_by_item_and_only_the_refused_item_fails() -> None:
    run = Recorder()
    run.refused = {7}
    calls = _batched(run)
    results = await asyncio.gather(*(calls.call(i) for i in (6, 7, 8)), return_exceptions=True)
    assert results[0] == 12 and results[2] == 16
    assert isinstance(results[1], ValueError) and "refused [7]" in str(results[1])
    assert run.batches == [[6, 7, 8], [6], [7], [8]]


async def test_a_batch_that_meets_an_outage_fails_for_every_caller_at_once() -> None:
    run = Recorder()
    run.outage = True
    calls = _batched(run)
    results = await asyncio.gather(*(calls.call(i) for i in (6, 7, 8)), return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert run.batches == [[6, 7, 8]]  # not made again item by item against a database that is away


async def test_a_canceled_caller_leaves_its_batch_made_and_the_others_answered() -> None:
    run = Recorder()
    run.release = asyncio.Event()
    calls = _batched(run)
    gone, kept = asyncio.create_task(calls.call(1)), asyncio.create_task(calls.call(2))
    await run.started.wait()
    gone.cancel()
    run.release.set()
    assert await kept == 4
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert run.batches == [[1, 2]]


async def test_batches_run_outside_the_callers_context() -> None:
    run = Recorder()
    _SEEN_BY_RUN.set("the caller's")
    assert await _batched(run).call(1) == 2
    assert run.contexts == ["none"]


async def test_when_the_batches_stop_every_caller_still_waiting_is_canceled() -> None:
    run = Recorder()
    run.release = asyncio.Event()  # never set: the batch hangs until it is canceled
    calls = _batched(run)
    waiting = [asyncio.create_task(calls.call(i)) for i in (1, 2)]
    await run.started.wait()
    later = asyncio.create_task(calls.call(3))
    await asyncio.sleep(0)
    assert calls._task is not None
    calls._task.cancel()
    for task in (*waiting, later):
        with pytest.raises(asyncio.CancelledError):
            await task
    # the next call starts batches again
    run.release.set()
    assert await calls.call(4) == 8
