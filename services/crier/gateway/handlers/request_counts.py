"""A key's requests counted together while the database counts the ones before them.

Every authenticated request adds one to its key's shared counter (`adapters.rate_limits`), and a
key's requests serialize on its counter's row. Under a burst from one key (a client with 32
connections) that was a statement per request, each waiting its turn on the row. Here the requests
of a key that arrive while a count of it is on its way wait for that count to come back and are
then counted by one statement that adds their number: every request still gets a count of its own
(the n requests of one statement get the n counts it went through, in their order of arrival), the
total stays exact, and replicas still share one counter. A key with one request at a time is
counted as before, one statement each, with no wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

from crier.gateway.adapters.rate_limits import Counted

# Counts `n` requests of the key in one statement; what the last of them made the count.
CountMany = Callable[[str, int], Awaitable[Counted]]


class RequestCounts:
    def __init__(self) -> None:
        # The requests of each key waiting for their count, in order of arrival.
        self._waiting: dict[str, list[asyncio.Future[Counted]]] = {}
        # The keys being counted now, and the task counting each.
        self._counting: dict[str, asyncio.Task[None]] = {}

    async def count(self, key_id: str, count_many: CountMany) -> Counted:
        answer: asyncio.Future[Counted] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key_id, []).append(answer)
        if key_id not in self._counting:
            # A task rather than the first request: a request canceled mid-count (its client went
            # away) must not leave the others waiting.
            self._counting[key_id] = asyncio.create_task(self._count_waiting(key_id, count_many))
        return await answer

    async def _count_waiting(self, key_id: str, count_many: CountMany) -> None:
        try:
            while waiting := self._waiting.pop(key_id, None):
                try:
                    counted = await count_many(key_id, len(waiting))
                except Exception as error:  # each request decides what an uncounted request does
                    for answer in waiting:
                        if not answer.done():
                            answer.set_exception(error)
                    continue
                first = counted.count - len(waiting) + 1
                for i, answer in enumerate(waiting):
                    if not answer.done():  # a canceled request was still made: it stays counted
                        answer.set_result(replace(counted, count=first + i))
        finally:
            del self._counting[key_id]
