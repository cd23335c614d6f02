"""An outage is two log lines, one when it begins and one when it ends, and a retry that slows down.

A loop that depends on the database or the bus keeps one `Outage` per dependency. Its first failure
logs `<what>.outage_began` with the error (no traceback: it is the dependency's state, not our
bug); the failures after it are only counted; the first success logs `<what>.outage_ended` with
that count and how long it lasted. Meanwhile the loop waits `delay_s` before each new try: 0.5 s,
doubling to 30 s, back to nothing on success — a long outage is probed ever less often, and a
dependency coming back is not met by every replica's backlog at once.

A failure that is no outage (`kit.transient` says it is a bug or bad data) keeps its traceback,
since someone must read it, but at most one per `traceback_every_s`; it backs off the same way, so
a loop that hits a bug on every round neither spins nor floods the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from crier.kit.log import get
from crier.kit.transient import is_transient

BASE_S, MAX_S = 0.5, 30.0


def backoff_s(failures: int, *, base_s: float = BASE_S, max_s: float = MAX_S) -> float:
    """The wait after the n-th failure in a row: base·2^(n−1), capped; nothing before the first."""
    if failures <= 0:
        return 0.0
    return float(min(max_s, base_s * 2 ** min(failures - 1, 32)))


class Outage:
    """The state of one dependency as one loop sees it: up, or down since when and how often."""

    def __init__(
        self,
        what: str,
        *,
        base_s: float = BASE_S,
        max_s: float = MAX_S,
        traceback_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        logger: Any = None,
    ) -> None:
        self.what = what
        self._base_s, self._max_s = base_s, max_s
        self._traceback_every_s = traceback_every_s
        self._clock = clock
        self._log = logger if logger is not None else get("crier.outage")
        # Failures in a row, of either kind: what the backoff grows with.
        self._in_a_row = 0
        # Outage failures since it began, and when; None while the dependency answers.
        self._began_at: float | None = None
        self.failures = 0
        self._last_traceback_at: float | None = None
        self._tracebacks_skipped = 0

    @property
    def down(self) -> bool:
        return self._began_at is not None

    @property
    def lasted_s(self) -> float:
        """How long the outage has lasted so far; 0 while the dependency answers."""
        return 0.0 if self._began_at is None else self._clock() - self._began_at

    @property
    def delay_s(self) -> float:
        """How long to wait before the next try."""
        return backoff_s(self._in_a_row, base_s=self._base_s, max_s=self._max_s)

    def failed(self, exc: BaseException, **fields: Any) -> float:
        """Count a failed try; returns how long to wait before the next one."""
        self._in_a_row += 1
        if is_transient(exc):
            self._outage_failure(exc, fields)
        else:
            self._defect(exc, fields)
        return self.delay_s

    def succeeded(self, **fields: Any) -> None:
        """A try worked: ends the outage (one line) and the backoff."""
        self._in_a_row = 0
        if self._began_at is None:
            return
        duration = self._clock() - self._began_at
        self._log.info(f"{self.what}.outage_ended", failures=self.failures, duration_s=round(duration, 3), **fields)
        self._began_at = None
        self.failures = 0

    def _outage_failure(self, exc: BaseException, fields: dict[str, Any]) -> None:
        self.failures += 1
        if self._began_at is None:
            self._began_at = self._clock()
            self._log.warning(f"{self.what}.outage_began", error=repr(exc), **fields)
        else:
            self._log.debug(f"{self.what}.outage_continues", failures=self.failures, error=repr(exc), **fields)

    def _defect(self, exc: BaseException, fields: dict[str, Any]) -> None:
        now = self._clock()
        if self._last_traceback_at is not None and now - self._last_traceback_at < self._traceback_every_s:
            self._tracebacks_skipped += 1
            self._log.debug(f"{self.what}.failed_again", error=repr(exc), **fields)
            return
        self._last_traceback_at = now
        skipped, self._tracebacks_skipped = self._tracebacks_skipped, 0
        # `similar` counts the failures since the last traceback whose own traceback was skipped.
        self._log.error(f"{self.what}.failed", error=repr(exc), similar=skipped, exc_info=exc, **fields)
