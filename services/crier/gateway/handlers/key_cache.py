"""API keys verified recently, kept in the process so a request does not look its key up again.

A key found in the database is trusted for `ttl` from then on. Revoking a key drops it from the
revoking replica's cache at once; every other replica drops it when its entry's `ttl` runs out,
which bounds how long a revoked key keeps working anywhere (`CRIER_API_KEY_CACHE_S`, 5 s by
default; 0 looks every key up on every request). Only keys that were found are kept: an unknown
secret is looked up each time, and never fills the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from crier.gateway.domain.api_key import Principal

# More distinct keys than this within one ttl starts the cache afresh rather than growing it.
MAX_KEYS = 10_000


class KeyCache:
    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._by_digest: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        found = self._by_digest.get(digest)
        if found is None:
            return None
        until, principal = found
        if self._clock() >= until:
            del self._by_digest[digest]
            return None
        return principal

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._by_digest) >= MAX_KEYS:
            self._by_digest.clear()
        self._by_digest[digest] = (self._clock() + self.ttl_s, principal)

    def forget(self, key_id: str) -> None:
        """The key was revoked: its holder is a stranger from now on."""
        for digest in [d for d, (_, p) in self._by_digest.items() if p.key_id == key_id]:
            del self._by_digest[digest]
