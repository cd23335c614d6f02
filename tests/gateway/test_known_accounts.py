"""The accounts a gateway process keeps from its creates' reads: all or nothing, bounded."""

from __future__ import annotations

from types import SimpleNamespace

from crier.gateway.handlers.known_accounts import KnownAccounts


def _row(account_id: str) -> SimpleNamespace:
    return SimpleNamespace(id=account_id, platform="x")


def test_accounts_are_known_only_all_together_and_per_organization_and_mode() -> None:
    known = KnownAccounts()
    known.keep("org-1", "test", {"a": _row("a"), "b": _row("b")})
    assert set(known.of("org-1", "test", ["a", "b"]) or {}) == {"a", "b"}
    assert known.of("org-1", "test", ["a", "c"]) is None, "one unknown account: none"
    assert known.of("org-1", "live", ["a"]) is None
    assert known.of("org-2", "test", ["a"]) is None
    known.forget("org-1", "test", ["b"])
    assert known.of("org-1", "test", ["a", "b"]) is None
    assert known.of("org-1", "test", ["a"]) == {"a": _row("a")}


def test_the_least_recently_used_go_first_beyond_the_capacity() -> None:
    known = KnownAccounts(capacity=2)
    known.keep("org", "test", {"a": _row("a"), "b": _row("b")})
    assert known.of("org", "test", ["a"]) is not None  # a is now the more recently used
    known.keep("org", "test", {"c": _row("c")})
    assert len(known) == 2
    assert known.of("org", "test", ["b"]) is None
    assert known.of("org", "test", ["a", "c"]) is not None
