"""Fixtures for the console's browser test: a stack whose platforms are the platform simulator, so
a target can be made to fail five times and then, redriven, go through (the sandbox cannot: its
scripted failures count attempts, which a redrive starts again)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import off_loop
from tests.support.live import Live, start_live, stop_live
from tests.support.stack import Infra, Stack


@pytest.fixture(scope="module")
def console_live(infra: Infra, shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Asks for the shared stack (which the browser fixture starts) first, so both start before
    Playwright's loop holds the thread; off_loop in case it already does."""
    live = off_loop(start_live, infra, tmp_path_factory.mktemp("console"))
    yield live
    off_loop(stop_live, live)
