"""The in-process cache of verified API keys: trusted for its ttl, forgotten at once on revocation."""

from __future__ import annotations

from crier.gateway.domain.api_key import Principal
from crier.gateway.handlers.key_cache import MAX_KEYS, KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def principal(key_id: str) -> Principal:
    return Principal(org_id="org", mode="test", key_id=key_id, scopes=frozenset({"view"}))


def test_a_key_is_trusted_for_its_ttl_and_then_looked_up_again() -> None:
    clock = Clock()
    cache = KeyCache(5.0, clock)
    cache.put("d1", principal("k1"))
    clock.now = 4.9
    assert cache.get("d1") == principal("k1")
    clock.now = 5.0
    assert cache.get("d1") is None


def test_revoking_forgets_every_entry_of_the_key_and_no_other() -> None:
    cache = KeyCache(5.0, Clock())
    cache.put("d1", principal("k1"))
    cache.put("d2", principal("k2"))
    cache.forget("k1")
    assert cache.get("d1") is None and cache.get("d2") == principal("k2")


def test_ttl_zero_keeps_nothing_and_the_cache_never_outgrows_its_bound() -> None:
    off = KeyCache(0, Clock())
    off.put("d1", principal("k1"))
    assert off.get("d1") is None
    cache = KeyCache(5.0, Clock())
    for i in range(MAX_KEYS + 1):
        cache.put(f"d{i}", principal(f"k{i}"))
    assert len(cache._by_digest) <= MAX_KEYS and cache.get(f"d{MAX_KEYS}") == principal(f"k{MAX_KEYS}")
