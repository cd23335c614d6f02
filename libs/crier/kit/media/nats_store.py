"""Media in the JetStream object store: the default, because it needs nothing beyond the NATS
server Crier already runs, and it is replicated like the streams (`CRIER_NATS_REPLICAS`).

One bucket per namespace (`<namespace>_MEDIA`, stream `OBJ_<namespace>_MEDIA`), so several stacks
sharing a NATS server never see each other's media. An object is a meta message on
`$O.<bucket>.M.<base64(key)>` (size, chunk count, SHA-256, a NUID) and its bytes as 128 KiB messages
on `$O.<bucket>.C.<nuid>`.

How we stay within a few chunks of memory, whatever the object's size:
- `put` goes through nats-py's `ObjectStore.put`, which reads the file with `readinto` into one
  reused 128 KiB buffer (in an executor thread) and publishes chunk by chunk, awaiting each ack.
- `chunks` does not use nats-py's `get`: without `writeinto` it concatenates the whole object into
  one bytes value, and with it we would need a temporary file as large as the object. Instead each
  chunk is fetched by a direct get of the next message on the chunk subject after the last sequence
  read (the bucket's stream allows direct gets, so any replica may answer). One request per chunk
  holds exactly one chunk in memory and needs no consumer to create or clean up; the digest in the
  meta message is checked as the bytes go by.
- `delete` purges the chunks, then the meta subject: no tombstone is left behind for every media
  object ever deleted, and a delete interrupted between the two purges is finished by the next one
  (a reader meanwhile finds the chunks gone and gets `MediaMissing`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import BinaryIO

from nats.js import api
from nats.js.api import RawStreamMsg
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.object_store import ObjectStore

from crier.kit.bus import Bus
from crier.kit.media.store import BoundedReader, MediaMissing, rechunk

BUCKET = "MEDIA"


class MediaCorrupt(OSError):
    """The bytes read do not match the size and digest recorded when the object was stored."""


class NatsMediaStore:
    def __init__(self, bus: Bus, store: ObjectStore, bucket: str) -> None:
        self._bus = bus
        self._store = store
        self._bucket = bucket
        self._stream = f"OBJ_{bucket}"

    @classmethod
    async def open(cls, bus: Bus) -> NatsMediaStore:
        """The namespace's bucket, created with the streams' replicas if it does not exist yet."""
        bucket = f"{bus.namespace}_{BUCKET}" if bus.namespace else BUCKET
        config = api.ObjectStoreConfig(description="Crier media", storage=api.StorageType.FILE, replicas=bus.replicas)
        for attempt in range(20):
            try:
                try:
                    store = await bus.js.create_object_store(bucket, config=config)
                except BadRequestError:
                    # The bucket exists with another configuration (replicas changed since it was made).
                    info = await bus.js.stream_info(f"OBJ_{bucket}")
                    info.config.num_replicas = bus.replicas
                    await bus.js.update_stream(info.config)
                    store = await bus.js.object_store(bucket)
                return cls(bus, store, bucket)
            except Exception:
                # JetStream may still be recovering right after a server (re)start.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
        raise AssertionError("unreachable")

    async def put(self, key: str, source: BinaryIO, *, size: int, mime: str) -> None:
        meta = api.ObjectMeta(name=key, headers={"Content-Type": mime})
        # nats-py's put reads through `readinto` in an executor (see the module docstring); on a
        # failure it purges the chunks it had sent, so no half object is left.
        await self._store.put(key, BoundedReader(source, size), meta=meta)  # type: ignore[arg-type]

    async def chunks(self, key: str, size: int = 4 << 20) -> AsyncIterator[bytes]:
        async for piece in rechunk(self._stored_chunks(key), size):
            yield piece

    async def _stored_chunks(self, key: str) -> AsyncGenerator[bytes, None]:
        try:
            info = await self._store.get_info(key)
        except NotFoundError:
            raise MediaMissing(key) from None
        total, count = info.size or 0, info.chunks or 0
        subject = f"$O.{self._bucket}.C.{info.nuid}"
        digest = hashlib.sha256()
        seq, read = 0, 0
        for _ in range(count):
            try:
                msg = await self._chunk_after(seq, subject)
            except NotFoundError:
                # Deleted (or replaced) while we were reading it.
                raise MediaMissing(key) from None
            data = msg.data or b""
            seq = msg.seq or seq + 1
            read += len(data)
            digest.update(data)
            yield data
        expected = (info.digest or "").partition("=")[2]
        if read != total or base64.urlsafe_b64decode(expected) != digest.digest():
            raise MediaCorrupt(f"{key}: read {read} of {total} bytes, digest mismatch")

    async def _chunk_after(self, seq: int, subject: str) -> RawStreamMsg:
        """The first message on `subject` after `seq`. Any replica answers a direct get, and one
        lagging behind the stream leader may not hold an object's newest chunks yet: only the
        leader's "none" is believed."""
        js = self._bus.js
        try:
            return await js.get_msg(self._stream, seq=seq + 1, subject=subject, next=True, direct=True)
        except NotFoundError:
            return await js.get_msg(self._stream, seq=seq + 1, subject=subject, next=True, direct=False)

    async def delete(self, key: str) -> None:
        try:
            info = await self._store.get_info(key, show_deleted=True)
        except NotFoundError:
            return
        await self._bus.js.purge_stream(self._stream, subject=f"$O.{self._bucket}.C.{info.nuid}")
        meta_subject = f"$O.{self._bucket}.M.{base64.urlsafe_b64encode(key.encode()).decode()}"
        await self._bus.js.purge_stream(self._stream, subject=meta_subject)

    async def close(self) -> None:
        """Nothing of its own to close: the bus belongs to the service."""
