"""A uvicorn server run inside a service's runtime, which owns SIGTERM and SIGINT: the server
installs no signal handlers of its own and stops when the runtime sets `should_exit`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class RuntimeServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:
        pass
