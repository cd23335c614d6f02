"""Restarting what died, with a backoff: the services and the embedded servers alike.

A child that dies is started again after 0.5 s, then 1, 2, 4 … up to 30 s while it keeps dying;
one that stayed up a minute starts the count afresh. Each death is one line: who died, how, and
when it comes back. Restarts happen on the thread that calls `tick` (the main loop of `crier up`),
the thread whose end the children's parent-death signal is tied to.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0


class Child(Protocol):
    @property
    def proc(self) -> subprocess.Popen[bytes] | None: ...

    def start(self) -> object: ...


@dataclass
class Watched:
    name: str
    child: Child
    restarts: int = 0
    started_at: float = 0.0
    delay_s: float = FIRST_DELAY_S
    # When the restart of a child that died is due; None while it runs.
    due_at: float | None = None


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


class Restarts:
    def __init__(
        self,
        say: Callable[[str], None],
        after_restart: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.watched: dict[str, Watched] = {}
        self._say = say
        self._after_restart = after_restart
        self._clock = clock

    def watch(self, name: str, child: Child) -> None:
        self.watched[name] = Watched(name, child, started_at=self._clock())

    def tick(self) -> None:
        """Notice the children that died, and restart those whose delay is over."""
        for w in self.watched.values():
            proc = w.child.proc
            if w.due_at is None:
                # poll() also reaps the child: no zombie stays behind.
                if proc is not None and proc.poll() is not None:
                    self._schedule(w, f"(pid {proc.pid}) {how_it_ended(proc.returncode)}")
            elif self._clock() >= w.due_at:
                self._restart(w)

    def _schedule(self, w: Watched, what_happened: str) -> None:
        now = self._clock()
        if now - w.started_at >= STABLE_AFTER_S:
            w.delay_s = FIRST_DELAY_S
        w.due_at = now + w.delay_s
        self._say(f"{w.name} {what_happened} after {now - w.started_at:.0f}s up; restarting it in {w.delay_s:g}s")
        w.delay_s = min(w.delay_s * 2, MAX_DELAY_S)

    def _restart(self, w: Watched) -> None:
        w.due_at, w.started_at = None, self._clock()
        w.restarts += 1
        try:
            w.child.start()
        except Exception as exc:
            proc = w.child.proc
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            self._schedule(w, f"failed to start ({exc})")
        self._after_restart()
