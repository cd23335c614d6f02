"""What `crier up` does when a child dies: one line saying how, a restart after a delay that
doubles while the child keeps dying (to 30 s) and starts afresh once it stayed up a minute."""

from __future__ import annotations

import subprocess
import sys

from crier.cli.restarts import Restarts


class Child:
    """A process that exits at once with `code`, as a crashing service would."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({self.code})"])
        self.proc.wait()


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_child_that_keeps_dying_is_restarted_ever_later_then_afresh_once_it_stayed_up() -> None:
    clock, said, recorded = Clock(), list[str](), list[int]()
    child = Child(3)
    restarts = Restarts(say=said.append, after_restart=lambda: recorded.append(1), clock=clock)
    child.start()
    assert child.proc is not None
    first_pid = child.proc.pid
    restarts.watch("publisher", child)
    delays = []
    for _ in range(8):
        restarts.tick()  # notices the death
        due = restarts.watched["publisher"].due_at
        assert due is not None
        delays.append(due - clock.now)
        clock.now = due
        restarts.tick()  # restarts it (and the new process exits at once)
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert restarts.watched["publisher"].restarts == 8 and len(recorded) == 8
    assert said[0] == f"publisher (pid {first_pid}) exited with code 3 after 0s up; restarting it in 0.5s"
    clock.now += 61
    restarts.tick()
    assert restarts.watched["publisher"].due_at == clock.now + 0.5, "a minute up starts the backoff afresh"


def test_a_child_that_fails_to_start_is_tried_again_later() -> None:
    class Failing(Child):
        def start(self) -> None:
            raise RuntimeError("postgres exited with code 1")

    clock, said = Clock(), list[str]()
    child = Failing(0)
    Child.start(child)
    restarts = Restarts(say=said.append, after_restart=lambda: None, clock=clock)
    restarts.watch("postgres", child)
    restarts.tick()
    clock.now += 0.5
    restarts.tick()
    assert said[-1] == "postgres failed to start (postgres exited with code 1) after 0s up; restarting it in 1s"
    assert restarts.watched["postgres"].due_at == clock.now + 1
