"""Where media bytes wait while they arrive: a file on disk, hashed and counted as it is written,
so an upload or a fetch never sits whole in memory and is refused as soon as it passes the limit."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Received:
    """Bytes that arrived whole: where they are, how many, their SHA-256."""

    path: Path
    size: int
    sha256: str


class Spool:
    """A temporary file for one upload; removed when the `with` block ends, whatever happened."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        fd, name = tempfile.mkstemp(prefix="crier-media-")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLarge(self.max_bytes)
        self._hash.update(chunk)
        self._file.write(chunk)

    def received(self) -> Received:
        """The bytes written so far, flushed to the file."""
        self._file.flush()
        return Received(self.path, self.size, self._hash.hexdigest())

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def rehashed(path: Path, chunk: int = 1 << 20) -> Received:
    """Size and SHA-256 of a file changed in place (an image cleaned of its location)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
            size += len(block)
    return Received(path, size, digest.hexdigest())
