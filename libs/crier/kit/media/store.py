"""Where media bytes live: a `MediaStore` is a flat namespace of immutable objects by key.

Two stores: the JetStream object store (the default: nothing new to run, replicated with the
streams on a NATS cluster) and an S3-compatible bucket (`CRIER_MEDIA_STORE=s3://bucket/prefix`).
Both stream: `put` reads from a file on disk and `chunks` yields pieces, so an object never sits
whole in memory — a 500 MB video passes through the gateway and the publisher in a few megabytes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, BinaryIO, Protocol

from crier.kit.settings import CommonSettings, SettingsError

if TYPE_CHECKING:
    from crier.kit.bus import Bus


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


class SourceTooShort(ValueError):
    """The file handed to `put` ended before the size it was said to have."""


async def open_store(settings: CommonSettings, bus: Bus) -> MediaStore:
    """The store `CRIER_MEDIA_STORE` names: "nats" (default) or "s3://bucket[/prefix]"."""
    spec = settings.media_store.strip()
    if spec in ("", "nats"):
        from crier.kit.media.nats_store import NatsMediaStore

        return await NatsMediaStore.open(bus)
    if spec.startswith("s3://"):
        bucket, _, prefix = spec.removeprefix("s3://").partition("/")
        if not bucket:
            raise SettingsError(f"CRIER_MEDIA_STORE={spec!r} names no bucket: use s3://bucket[/prefix]")
        # Imported here: botocore takes a noticeable time to load, and a NATS-backed Crier never needs it.
        from crier.kit.media.s3_store import S3MediaStore

        return await S3MediaStore.open(
            bucket,
            prefix=prefix,
            endpoint_url=settings.media_s3_endpoint or None,
            region=settings.media_s3_region,
        )
    raise SettingsError(f'CRIER_MEDIA_STORE must be "nats" or "s3://bucket[/prefix]", got {spec!r}')


async def rechunk(pieces: AsyncGenerator[bytes, None], size: int) -> AsyncIterator[bytes]:
    """`pieces` regrouped so that every piece but the last holds exactly `size` bytes: the stores'
    own chunking (128 KiB NATS messages, network reads) is not what the caller asked for. A reader
    that stops early (a client gone) closes `pieces` at once, which hands an S3 connection back."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    buffer = bytearray()
    async with aclosing(pieces):
        async for piece in pieces:
            buffer += piece
            while len(buffer) >= size:
                yield bytes(buffer[:size])
                del buffer[:size]
    if buffer:
        yield bytes(buffer)


class BoundedReader:
    """Exactly `size` bytes of `source`, through `readinto` (what nats-py's put reads with) and
    `read`; a file shorter than announced raises `SourceTooShort` instead of storing a truncated
    object under a size the caller will record."""

    def __init__(self, source: BinaryIO, size: int) -> None:
        self._source = source
        self.remaining = size
        self._size = size

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)[: self.remaining]
        if not len(view):
            return 0
        n = self._source.readinto(view)  # type: ignore[attr-defined]
        self._count(n or 0, want=len(view))
        return n or 0

    def read(self, n: int) -> bytes:
        """Exactly `min(n, remaining)` bytes (a short read of a regular file means its end)."""
        want = min(n, self.remaining)
        data = self._source.read(want)
        if len(data) < want:
            self._count(0, want=want)
        self._count(len(data), want=want)
        return data

    def _count(self, n: int, *, want: int) -> None:
        if n == 0 and want > 0:
            raise SourceTooShort(f"the file ended after {self._size - self.remaining} of {self._size} bytes")
        self.remaining -= n
