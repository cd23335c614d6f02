"""Where media bytes live: a `MediaStore` is a flat namespace of immutable objects by key.

Two stores: the JetStream object store (the default: nothing new to run, replicated with the
streams on a NATS cluster) and an S3-compatible bucket (`CRIER_MEDIA_STORE=s3://bucket/prefix`).
Both stream: `put` reads from a file on disk and `chunks` yields pieces, so an object never sits
whole in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO, Protocol


class MediaStore(Protocol):
    async def put(self, key: str, source: BinaryIO, *, size: int, mime: str) -> None:
        """Stores the `size` bytes readable from `source` (a file opened for reading) under `key`."""
        ...

    def chunks(self, key: str, size: int = 4 << 20) -> AsyncIterator[bytes]:
        """The object's bytes in order, in pieces of at most `size` bytes; `MediaMissing` if absent."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the object; no error if it is already gone."""
        ...

    async def close(self) -> None: ...


class MediaMissing(LookupError):
    """No object under that key."""
