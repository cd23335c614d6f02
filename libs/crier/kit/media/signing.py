"""Signed, expiring URLs for media, so a platform can pull a post's media from the gateway without
an API key: `<CRIER_PUBLIC_URL>/api/v1/media/<id>/content?expires=<unix>&signature=<hex>`.

The signature is an HMAC-SHA256 of the media id and expiry under a key derived (HKDF) from each
configured encryption key: the first key signs, every key verifies, so URLs handed out before a key
rotation keep working until they expire. Gateway and publisher share the keys already
(`CRIER_ENCRYPTION_KEYS`); nothing new to configure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"crier media url signing v1"


class MediaUrlSigner:
    def __init__(self, encryption_keys: str, public_url: str, ttl_s: int) -> None:
        self._keys = [_derive(part) for part in (p.strip() for p in encryption_keys.split(",")) if part]
        self._public_url = public_url.rstrip("/")
        self._ttl_s = ttl_s

    def url(self, media_id: str, *, now: float | None = None) -> str:
        """A URL serving `media_id`'s bytes until the TTL has passed."""
        if not self._keys:
            raise ValueError("no encryption key configured (CRIER_ENCRYPTION_KEYS) to sign media URLs")
        expires = int((time.time() if now is None else now) + self._ttl_s)
        query = urlencode({"expires": expires, "signature": _sign(self._keys[0], media_id, expires)})
        return f"{self._public_url}/api/v1/media/{media_id}/content?{query}"

    def verify(self, media_id: str, expires: int, signature: str, *, now: float | None = None) -> bool:
        """Whether `signature` was made by one of the keys for this id and expiry, and has not expired."""
        if expires < (time.time() if now is None else now):
            return False
        return any(hmac.compare_digest(_sign(key, media_id, expires), signature) for key in self._keys)


def _derive(spec: str) -> bytes:
    _, _, b64 = spec.partition(":")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(base64.b64decode(b64))


def _sign(key: bytes, media_id: str, expires: int) -> str:
    return hmac.new(key, f"{media_id}\n{expires}".encode(), hashlib.sha256).hexdigest()
