"""The publisher's `MediaSource`: a post's media as the adapters read it, from the media store by
each `MediaRef`'s key, and the signed URLs pull-from-URL platforms are handed.

What the publisher cannot deliver is a permanent failure of the target, not a retry: an object gone
from the store (`media_missing`: deleted, or never stored) will not come back, and a reference
without the facts the gateway records at create (`media_unknown`: a command made before media
existed) cannot be checked against any platform's rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from crier.contracts.common import MediaRef
from crier.kit.media.signing import MediaUrlSigner
from crier.kit.media.store import MediaMissing, MediaStore
from crier.platforms.base import PlatformError

# `read` is for images, which platforms take in one request; nothing this large is one. Anything
# bigger is streamed with `chunks`, so a video never sits whole in the publisher's memory.
READ_MAX_BYTES = 100 * 1024 * 1024


def media_missing(ref: MediaRef, why: str = "is not in the media store") -> PlatformError:
    return PlatformError(f"media {ref.id} {why}", code="media_missing", retryable=False)


class StoredMedia:
    def __init__(self, store: MediaStore, signer: MediaUrlSigner, *, read_max_bytes: int = READ_MAX_BYTES) -> None:
        self._store = store
        self._signer = signer
        self._read_max_bytes = read_max_bytes

    async def chunks(self, media: MediaRef, size: int = 4 << 20) -> AsyncIterator[bytes]:
        _known(media)
        try:
            async for piece in self._store.chunks(media.key, size):
                yield piece
        except MediaMissing:
            raise media_missing(media) from None

    async def read(self, media: MediaRef) -> bytes:
        if media.size_bytes > self._read_max_bytes:
            raise _too_large(media, self._read_max_bytes)
        pieces: list[bytes] = []
        held = 0
        async for piece in self.chunks(media):
            held += len(piece)
            # The ref's size is what the gateway saw; the store's object is what counts.
            if held > self._read_max_bytes:
                raise _too_large(media, self._read_max_bytes)
            pieces.append(piece)
        return b"".join(pieces)

    def url(self, media: MediaRef) -> str:
        _known(media)
        return self._signer.url(media.id)


def _known(media: MediaRef) -> None:
    if media.type is None or not media.key:
        raise PlatformError(
            f"media {media.id} was never inspected (a post made before media support?)",
            code="media_unknown",
            retryable=False,
        )


def _too_large(media: MediaRef, limit: int) -> PlatformError:
    return PlatformError(
        f"media {media.id} is too large to read at once (over {limit} bytes)",
        code="media_too_large",
        retryable=False,
    )
