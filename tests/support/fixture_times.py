"""Which fixtures make the suite slow: every fixture whose set-up or tear-down took longer than
`CRIER_TEST_SLOW_FIXTURE_S` (2 s) is listed at the end of the run, beside pytest's own slowest
tests (whose set-up and tear-down times do not say which fixture, or whether it was a session
fixture torn down after the last test)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

SLOW_S = float(os.environ.get("CRIER_TEST_SLOW_FIXTURE_S", "2"))
_slow: list[tuple[float, str, str]] = []
_teardown_began: dict[int, float] = {}


def _name(fixturedef: pytest.FixtureDef[Any]) -> str:
    return f"{fixturedef.argname} ({fixturedef.scope}, {fixturedef.baseid or '<root>'})"


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    began = time.monotonic()
    yield
    took = time.monotonic() - began
    if took >= SLOW_S:
        _slow.append((took, "setup", _name(fixturedef)))
    # Finalizers run last-in first-out: this one runs just before the fixture's own tear-down.
    fixturedef.addfinalizer(lambda: _teardown_began.__setitem__(id(fixturedef), time.monotonic()))


def pytest_fixture_post_finalizer(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    began = _teardown_began.pop(id(fixturedef), None)
    if began is not None and (took := time.monotonic() - began) >= SLOW_S:
        _slow.append((took, "teardown", _name(fixturedef)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A worker (pytest-xdist) passes its figures on; session fixtures are torn down by now.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["crier_slow_fixtures"] = [list(slow) for slow in _slow]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _slow.extend(tuple(slow) for slow in getattr(node, "workeroutput", {}).get("crier_slow_fixtures", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _slow:
        terminalreporter.section(f"fixtures slower than {SLOW_S:g} s")
        for took, phase, name in sorted(_slow, reverse=True)[:25]:
            terminalreporter.write_line(f"{took:6.2f}s {phase:8} {name}")
