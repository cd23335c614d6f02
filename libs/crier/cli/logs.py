"""The logs `crier up` keeps of its children, rotated by size.

A child writes to a pipe; a thread per child (re)start copies each line through the standard
library's `RotatingFileHandler`. The child itself never holds the file, so renaming it at a
rotation loses nothing, and a crash traceback written on the way out still arrives: the thread
reads until the pipe's end, which comes only once the child has exited.
"""

from __future__ import annotations

import logging
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

# A longer line is cut into pieces of this size rather than held whole in memory.
MAX_LINE_BYTES = 64 * 1024


class RotatingLog:
    """One child's log file: `max_bytes` at most (0: no limit), then `backups` older files
    (`name.log.1` the newest of them)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self._handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._readers: list[threading.Thread] = []

    def follow(self, stream: IO[bytes]) -> None:
        """Copy `stream` into the log until it ends, in a thread of its own."""
        reader = threading.Thread(target=self._copy, args=(stream,), name=f"log {self.path.name}", daemon=True)
        self._readers = [r for r in self._readers if r.is_alive()] + [reader]
        reader.start()

    def _copy(self, stream: IO[bytes]) -> None:
        with stream:
            for line in iter(lambda: stream.readline(MAX_LINE_BYTES), b""):
                text = line.decode("utf-8", "replace").rstrip("\n")
                # handle(), not emit(): it takes the handler's lock, which the thread of a child's
                # previous run may still be using while it drains the last lines.
                self._handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))

    def close(self, timeout_s: float = 5) -> None:
        """Once the children have exited: the last lines written, the file closed."""
        for reader in self._readers:
            reader.join(timeout_s)
        self._handler.close()
