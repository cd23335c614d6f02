"""A dependency away while requests keep coming: two log lines, not one per failed request.

The first request that fails on an outage (`kit.transient`: the database or the bus away) logs
`http.outage_began`; the others are only counted. The outage ends at the first request answered
without a server error on a route that failed during it, logged as `http.outage_ended` with the
count and the duration. Only such a route proves the dependency back: `/healthz` and unknown paths
answer during a database outage too, and ending on them would log a new outage at every probe.
"""

from __future__ import annotations

from typing import Any

from crier.kit.outage import Outage
from crier.kit.transient import Unreachable


class _Failure(Unreachable):
    """What the log line shows of the failure: its type. A database error's message carries the
    statement and its parameters (a key's hash, a post's text)."""

    def __repr__(self) -> str:
        return str(self.args[0])


class RequestOutage:
    def __init__(self, logger: Any = None) -> None:
        self._outage = Outage("http", logger=logger)
        # Route templates (None: no route) that failed on the outage; empty while there is none.
        self._failed_routes: set[str | None] = set()

    @property
    def down(self) -> bool:
        return self._outage.down

    def failed(self, route: str | None, exc: BaseException) -> None:
        """A request on `route` failed because a dependency is away (`is_transient(exc)`)."""
        self._outage.failed(_Failure(type(exc).__name__), route=route)
        self._failed_routes.add(route)

    def answered(self, route: str | None, status: int) -> None:
        """Every request ends here: cheap while nothing fails (one empty set)."""
        if self._failed_routes and status < 500 and route in self._failed_routes:
            self._failed_routes.clear()
            self._outage.succeeded(route=route)
