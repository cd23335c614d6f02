"""A unit of work that notes how each piece of work was made: in a transaction (`begin`) or as
statements that each commit (`autocommit`), and the statements each sent to the database (the
driver's query log), for tests of which way a use case goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.direct_sql import live_adapter
from crier.kit.uow import Transaction, UnitOfWork


class RecordingUnitOfWork(UnitOfWork):
    def __init__(self, engine: AsyncEngine, *, consumer: str) -> None:
        super().__init__(engine, consumer=consumer)
        self.made: list[str] = []
        self._statements: list[str] = []

    @asynccontextmanager
    async def begin(self, **options: Any) -> AsyncIterator[Transaction]:
        self.made.append("transaction")
        async with super().begin(**options) as tx:
            with self._noting(tx):
                yield tx

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Transaction]:
        self.made.append("autocommit")
        async with super().autocommit() as tx:
            with self._noting(tx):
                yield tx

    async def statements(self) -> list[str]:
        """The statements sent so far, in order (BEGIN and COMMIT of a transaction included)."""
        # The driver hands each query's record to its loggers with `call_soon`: one turn of the
        # loop delivers those of every statement that has answered.
        await asyncio.sleep(0)
        return list(self._statements)

    @contextmanager
    def _noting(self, tx: Transaction) -> Iterator[None]:
        adapter = live_adapter(tx.conn)
        assert adapter is not None
        driver = adapter.driver_connection

        def note(record: Any) -> None:
            self._statements.append(record.query)

        driver.add_query_logger(note)
        try:
            yield
        finally:
            driver.remove_query_logger(note)
