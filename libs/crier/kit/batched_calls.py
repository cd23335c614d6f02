"""Calls made while the previous batch of them is on its way, made together in the next batch.

A service with many deliveries or requests in flight runs the same small statement for each of
them; each statement costs a round trip, the driver's and the database's work per statement, and a
commit. Here the first call runs at once, alone, and those that arrive while it runs wait for it to
come back and then go together in one call of `run` (up to `limit` at a time): under load the
statements are a fraction of the calls, at rest every call is still made at once.

- `run` gets the items of a batch and answers one result per item, in their order;
- items with the same `key` never share a batch (a second one waits for the next): `run` may then
  treat each item of a batch as the only one of its key;
- a batch the database refuses is made again one item at a time, so a refused item fails alone
  and not its batch-mates; a batch that meets an outage (`kit.transient`) fails for each of its
  callers at once, who wait it out as they would alone, rather than one after the other;
- a caller canceled while it waits leaves the batch as it is: its item is still made;
- the batches run in a task of their own, outside every caller's context (log fields, trace): a
  statement made for several callers belongs to none of them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from crier.kit.transient import is_transient

T = TypeVar("T")
R = TypeVar("R")

# Items made together at most: a statement's arrays, and one batch's wait, stay bounded.
DEFAULT_LIMIT = 64


class BatchedCalls(Generic[T, R]):
    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        key: Callable[[T], Hashable],
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._run = run
        self._key = key
        self._limit = limit
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def call(self, item: T) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._task is None:
            # A task rather than the first caller: a caller canceled mid-batch must not leave the
            # others waiting.
            self._task = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await answer

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = self._next_batch()
                await self._make(batch)
        except BaseException:
            # Canceled (the service stops): nobody is left waiting for an answer that won't come.
            for _, answer in batch + self._waiting:
                answer.cancel()
            self._waiting = []
            raise
        finally:
            self._task = None

    def _next_batch(self) -> list[tuple[T, asyncio.Future[R]]]:
        taken: list[tuple[T, asyncio.Future[R]]] = []
        later: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        for entry in self._waiting:
            key = self._key(entry[0])
            if len(taken) < self._limit and key not in keys:
                taken.append(entry)
                keys.add(key)
            else:
                later.append(entry)
        self._waiting = later
        return taken

    async def _make(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} items got {len(results)} results")
        except Exception as error:
            if len(batch) > 1 and not is_transient(error):
                for entry in batch:
                    await self._make([entry])
                return
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        for (_, answer), result in zip(batch, results, strict=True):
            if not answer.done():  # its caller was canceled: the item was made all the same
                answer.set_result(result)
