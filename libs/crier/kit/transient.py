"""Telling an outage from a bug: what to wait out, and what to report.

A lost database connection, a server shutting down, a refused socket, a bus that is reconnecting
or a service that does not answer are outages: the work is retried until they pass. Anything else
a handler raises is a defect in the code or in the data, and retrying it forever helps nobody.
"""

from __future__ import annotations

import asyncio

import asyncpg
import nats.errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# SQLSTATE classes that mean "not now": 08 connection exception, 53 insufficient resources,
# 57 operator intervention (shutdown, cannot connect now), 40 transaction rollback (serialization
# failure, deadlock), 55P03 lock not available.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")
_TRANSIENT_SQLSTATES = ("55P03",)


class Unreachable(Exception):
    """Raised by our own code for a dependency that is away (a service that does not answer, or
    answers that its own database is away): an outage like a refused socket."""


def is_transient(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if _transient_itself(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, Unreachable | OSError | asyncio.TimeoutError | TimeoutError | nats.errors.Error):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError | asyncpg.exceptions.ConnectionDoesNotExistError):
        return True
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return isinstance(state, str) and (state[:2] in _TRANSIENT_SQLSTATE_CLASSES or state in _TRANSIENT_SQLSTATES)
