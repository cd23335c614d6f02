"""The unit of work every use case writes through.

One Postgres transaction that
- records the inbox entry of the message being handled, so a redelivery has no second effect;
- collects the messages the change announces, written to the outbox in the same commit;
- wakes the outbox relay once they are committed, so they leave now rather than at its next poll.

    async with ctx.uow.begin(handling=event.id) as tx:
        if tx.seen_before:
            return
        await timetable.add(tx.conn, entries)
        tx.emit("evt.target.queued", queued)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crier.kit.bus import inbox, outbox
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.kept_connections import KeptConnections


def _nothing() -> None:
    return None


class Transaction:
    """What a use case sees of its unit of work: the connection, and where its messages go."""

    def __init__(self, conn: AsyncConnection, *, seen_before: bool = False) -> None:
        self.conn = conn
        # True when the message being handled was handled before: do nothing, commit nothing.
        self.seen_before = seen_before
        self.outgoing: list[OutboxMessage] = []
        # Messages a statement of the use case queued itself (`wrote`).
        self.written = 0

    def emit(
        self, subject: str, message: Any, *, msg_id: str | None = None, trace: dict[str, str] | None = None
    ) -> None:
        self.outgoing.append(OutboxMessage(subject=subject, message=message, msg_id=msg_id, trace=trace))

    def emit_all(self, messages: Iterable[OutboxMessage]) -> None:
        self.outgoing.extend(messages)

    def wrote(self, messages: Sequence[OutboxMessage]) -> None:
        """`messages` went into the outbox by a statement of the caller's own (with
        `outbox.INSERT_ARRAYS` or `outbox.insert_arrays_cte`): the relay is woken for them once they
        commit, as for emitted ones."""
        self.written += len(messages)

    async def claim(self, event_ids: Sequence[str], consumer: str) -> set[str]:
        """For a batch of incoming messages: the ids not handled before, claimed in this transaction."""
        return await inbox.claim(self.conn, consumer, event_ids)


class UnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        consumer: str,
        wake: Callable[[], None] = _nothing,
        kept_connections: int = 0,
    ) -> None:
        """`kept_connections`: how many of the engine's connections the blocks keep between them
        (`KeptConnections`; `close` ends them); 0 takes one from the engine's pool for each block."""
        self.engine = engine
        # The name this service's inbox entries carry.
        self.consumer = consumer
        self._wake = wake
        self._kept = KeptConnections(engine, kept_connections) if kept_connections > 0 else None

    async def close(self) -> None:
        """Hands the kept connections back; due before the engine is disposed of."""
        if self._kept is not None:
            await self._kept.close()

    @asynccontextmanager
    async def begin(self, *, handling: str | None = None, consumer: str | None = None) -> AsyncIterator[Transaction]:
        """A transaction; with `handling`, for one incoming message whose id it claims in the inbox
        (of `consumer`, by default this service's): `tx.seen_before` then says it was handled."""
        async with self._transaction() as conn:
            seen_before = False
            if handling is not None:
                seen_before = not await inbox.claim(conn, consumer or self.consumer, [handling])
            tx = Transaction(conn, seen_before=seen_before)
            yield tx
            await outbox.write(conn, tx.outgoing)
        # Only after the commit: woken earlier, the relay could look before the rows are visible.
        if tx.outgoing or tx.written:
            self._wake()

    def autocommit(self) -> AbstractAsyncContextManager[Transaction]:
        """Statements that each commit on their own, for a use case whose writes all go in one
        statement: no BEGIN and COMMIT round trips. Messages a statement queued itself (`wrote`)
        wake the relay once the block ends; `emit` has no transaction to go with and is refused."""
        return _Autocommit(self, self._autocommit_connection())

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads. Autocommit: under READ COMMITTED every statement sees its own
        snapshot anyway, and it spares the BEGIN and ROLLBACK round trips."""
        return self._autocommit_connection()

    def _transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.engine.begin() if self._kept is None else self._kept.transaction()

    def _autocommit_connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._engine_autocommit() if self._kept is None else self._kept.autocommit()

    @asynccontextmanager
    async def _engine_autocommit(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn


class _Autocommit:
    """`UnitOfWork.autocommit`'s block; a class for the reason `kept_connections.Autocommit` is one."""

    __slots__ = ("_connection", "_tx", "_uow")

    def __init__(self, uow: UnitOfWork, connection: AbstractAsyncContextManager[AsyncConnection]) -> None:
        self._uow, self._connection = uow, connection

    async def __aenter__(self) -> Transaction:
        self._tx = Transaction(await self._connection.__aenter__())
        return self._tx

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None and self._tx.outgoing:
            refused = RuntimeError("emitted messages need a transaction: queue them in the statement (`wrote`)")
            await self._connection.__aexit__(RuntimeError, refused, None)
            raise refused
        await self._connection.__aexit__(kind, error, traceback)
        if kind is None and self._tx.written:
            self._uow._wake()
