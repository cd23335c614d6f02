"""Running a coroutine to completion from synchronous code: the CLI, and fixtures of async tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_sync(work: Callable[[], Awaitable[T]]) -> T:
    """`asyncio.run(work())`, also when the caller is itself inside a running event loop (where
    `asyncio.run` refuses): then on a thread with a loop of its own, which the caller waits for."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(work))
    result: list[T] = []
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            result.append(asyncio.run(_as_coroutine(work)))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_thread, name="run-sync")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _as_coroutine(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
