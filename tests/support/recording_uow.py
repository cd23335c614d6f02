"""A unit of work that notes how each piece of work was made: in a transaction (`begin`) or as
statements that each commit (`autocommit`), for tests of which way a use case goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.uow import Transaction, UnitOfWork


class RecordingUnitOfWork(UnitOfWork):
    def __init__(self, engine: AsyncEngine, *, consumer: str) -> None:
        super().__init__(engine, consumer=consumer)
        self.made: list[str] = []

    @asynccontextmanager
    async def begin(self, **options: Any) -> AsyncIterator[Transaction]:
        self.made.append("transaction")
        async with super().begin(**options) as tx:
            yield tx

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Transaction]:
        self.made.append("autocommit")
        async with super().autocommit() as tx:
            yield tx
