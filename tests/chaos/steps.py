"""The run's steps: a warm-up, then one SIGKILL each, timed from the kill until `crier up` runs a new
process in its place and /readyz answers 200, then load on the recovered system before the next."""

from __future__ import annotations

import os
import signal
import sys
import time

from tests.chaos.load import Load
from tests.chaos.report import Step
from tests.chaos.system import Crier, alive
from tests.support.stack import wait_for

RECOVERY_S = 60
LABELS = {"nats": "NATS server", "postgres": "PostgreSQL postmaster"}


def warm_up(load: Load, posts: int) -> Step:
    hold(load, 0, posts)
    return Step("warm-up", "-", None)


def hold(load: Load, step: int, posts: int) -> None:
    """Load on a working system until `posts` more were accepted (or a minute passed: the table tells)."""
    before = load.accepted_in(step)
    try:
        wait_for(lambda: load.accepted_in(step) >= before + posts, timeout=60, interval=0.1)
    except AssertionError:
        pass


def kill(crier: Crier, load: Load, number: int, name: str, posts_after: int) -> Step:
    """SIGKILL `name` (a service, `nats` or `postgres`), wait for its successor, then `posts_after`
    accepted posts."""
    load.step = number
    if not crier.ready():
        return Step(str(number), f"{LABELS.get(name, name)}: skipped, the stack was not ready", None, skipped=True)
    old = crier.pids()[name]
    if old is None or not alive(old):
        return Step(str(number), f"{name} (not running)", None)
    os.kill(old, signal.SIGKILL)
    killed_at = time.monotonic()

    def back() -> bool:
        now = crier.pids()[name]
        return now is not None and now != old and alive(now) and crier.ready()

    try:
        wait_for(back, timeout=RECOVERY_S, interval=0.1, what=f"{name} back")
        downtime: float | None = time.monotonic() - killed_at
    except AssertionError:
        downtime = None
    back_in = "not back" if downtime is None else f"back in {downtime:.1f} s"
    print(f"chaos step {number}: SIGKILL {name} (pid {old}), {back_in}", file=sys.stderr, flush=True)
    if downtime is not None:
        hold(load, number, posts_after)
    return Step(str(number), f"{LABELS.get(name, name)} (pid {old})", downtime)
