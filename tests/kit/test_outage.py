"""The outage tracker: two lines per outage, a counted middle, a growing pause, rare tracebacks."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from crier.kit.outage import Outage, backoff_s


class Lines:
    """A logger that keeps what it was asked to log."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append((level, event, fields))

    def events(self, *levels: str) -> list[str]:
        return [e for lvl, e, _ in self.lines if not levels or lvl in levels]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tracked() -> tuple[Outage, Lines, Clock]:
    lines, clock = Lines(), Clock()
    return Outage("relay", logger=lines, clock=clock), lines, clock


def test_an_outage_is_one_line_when_it_begins_and_one_when_it_ends(tracked: tuple[Outage, Lines, Clock]) -> None:
    outage, lines, clock = tracked
    outage.succeeded()
    assert lines.lines == []
    for _ in range(50):
        outage.failed(ConnectionRefusedError(111, "refused"))
        clock.now += 1
    outage.succeeded()
    outage.succeeded()
    assert lines.events("warning", "info", "error") == ["relay.outage_began", "relay.outage_ended"]
    began, ended = lines.lines[0], lines.lines[-1]
    assert "ConnectionRefusedError" in began[2]["error"] and "exc_info" not in began[2]
    assert ended[2]["failures"] == 50 and ended[2]["duration_s"] == 50.0
    assert not outage.down


def test_a_second_outage_is_logged_again(tracked: tuple[Outage, Lines, Clock]) -> None:
    outage, lines, _ = tracked
    for _ in range(2):
        outage.failed(asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"))
        outage.failed(OSError("refused"))
        outage.succeeded()
    assert lines.events("warning", "info") == ["relay.outage_began", "relay.outage_ended"] * 2
    assert [f["failures"] for lvl, _, f in lines.lines if lvl == "info"] == [2, 2]


def test_the_pause_doubles_from_half_a_second_to_thirty_and_resets_on_success(
    tracked: tuple[Outage, Lines, Clock],
) -> None:
    outage, _, _ = tracked
    assert outage.delay_s == 0
    pauses = [outage.failed(TimeoutError()) for _ in range(9)]
    assert pauses == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    outage.succeeded()
    assert outage.delay_s == 0 and outage.failed(TimeoutError()) == 0.5
    assert backoff_s(10_000) == 30


def test_a_failure_that_is_no_outage_keeps_its_traceback_once_a_minute(tracked: tuple[Outage, Lines, Clock]) -> None:
    outage, lines, clock = tracked
    pauses = []
    for _ in range(30):
        try:
            raise KeyError("a bug")
        except KeyError as exc:
            pauses.append(outage.failed(exc))
        clock.now += 4
    errors = [(e, f) for lvl, e, f in lines.lines if lvl == "error"]
    # 30 failures 4 s apart: a traceback at 0 s and at 60 s; the others only counted.
    assert [e for e, _ in errors] == ["relay.failed"] * 2
    assert all(isinstance(f["exc_info"], KeyError) for _, f in errors)
    assert errors[1][1]["similar"] == 14
    assert lines.events("warning") == [] and not outage.down
    assert pauses[:3] == [0.5, 1, 2] and pauses[-1] == 30
