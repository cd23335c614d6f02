"""`adapters.token_cache`: an account's token asked for once per burst, kept no longer than it may
be, never served to another tenant, dropped when connect announces anything about the account
(over real NATS) or when the platform refused it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from crier.contracts.connect import AccountToken, TokenRequest
from crier.contracts.events import AccountDisconnected
from crier.kit.bus import Bus
from crier.kit.errors import Gone
from crier.publisher.adapters.token_cache import EXPIRY_MARGIN_S, CachedTokens, forget_on_account_events
from tests.publisher.scripted import token
from tests.support.bus import eventually
from tests.support.stack import Infra

ORG, OTHER_ORG = "org-1", "org-2"


def ask(account_id: str = "acc", org_id: str = ORG, rejected: AccountToken | None = None) -> TokenRequest:
    digest = None if rejected is None else hashlib.sha256(rejected.access_token.encode()).hexdigest()
    return TokenRequest(org_id=org_id, mode="live", account_id=account_id, rejected_sha256=digest)


@dataclass
class Connect:
    """Connect as the cache sees it: numbered tokens, each request counted; `gate` holds answers."""

    requests: list[TokenRequest] = field(default_factory=list)
    expires_in: timedelta | None = timedelta(hours=1)
    refuse: Exception | None = None
    gate: asyncio.Event | None = None

    async def token(self, request: TokenRequest) -> AccountToken:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.refuse is not None:
            raise self.refuse
        t = token(f"tok-{len(self.requests)}", request.account_id)
        expires = None if self.expires_in is None else datetime.now(UTC) + self.expires_in
        return msgspec.structs.replace(t, expires_at=expires)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_a_burst_for_one_account_asks_connect_once() -> None:
    connect = Connect(gate=asyncio.Event())
    cache = CachedTokens(connect, ttl_s=30)
    asks = [asyncio.ensure_future(cache.token(ask())) for _ in range(50)]
    await eventually(lambda: asyncio.sleep(0, len(connect.requests) == 1), what="the one request")
    connect.gate.set()  # type: ignore[union-attr]
    tokens = await asyncio.gather(*asks)
    assert {t.access_token for t in tokens} == {"tok-1"}
    assert (await cache.token(ask())).access_token == "tok-1"
    assert len(connect.requests) == 1
    assert (await cache.token(ask("other"))).access_token == "tok-2"


async def test_kept_no_longer_than_its_time() -> None:
    clock = Clock()
    connect = Connect()
    cache = CachedTokens(connect, ttl_s=30, monotonic=clock)
    assert (await cache.token(ask())).access_token == "tok-1"
    clock.t += 29.9
    assert (await cache.token(ask())).access_token == "tok-1"
    clock.t += 0.2
    assert (await cache.token(ask())).access_token == "tok-2"


async def test_a_token_near_its_expiry_is_asked_for_again() -> None:
    clock = Clock()
    connect = Connect(expires_in=timedelta(seconds=EXPIRY_MARGIN_S + 10))
    cache = CachedTokens(connect, ttl_s=30, monotonic=clock)
    await cache.token(ask())
    clock.t += 11  # within the margin of its expiry, though well within the cache's time
    assert (await cache.token(ask())).access_token == "tok-2"
    # Already within the margin when connect gave it: never kept.
    connect.expires_in = timedelta(seconds=EXPIRY_MARGIN_S - 1)
    await cache.token(ask("soon"))
    await cache.token(ask("soon"))
    assert [r.account_id for r in connect.requests] == ["acc", "acc", "soon", "soon"]
    # A token that never expires is kept for the cache's time.
    connect.expires_in = None
    await cache.token(ask("forever"))
    assert (await cache.token(ask("forever"))).access_token == "tok-5"


async def test_another_tenant_naming_the_account_is_asked_for_at_connect() -> None:
    connect = Connect()
    cache = CachedTokens(connect, ttl_s=30)
    await cache.token(ask())
    connect.refuse = Gone("account_not_found", "no such account")
    with pytest.raises(Gone):
        await cache.token(ask(org_id=OTHER_ORG))
    assert [r.org_id for r in connect.requests] == [ORG, OTHER_ORG]
    # The refusal was not kept, and the owner's token still is.
    assert (await cache.token(ask())).access_token == "tok-1"
    with pytest.raises(Gone):
        await cache.token(ask(org_id=OTHER_ORG))
    assert len(connect.requests) == 3


async def test_a_refused_token_goes_to_connect_and_its_answer_replaces_it() -> None:
    connect = Connect()
    cache = CachedTokens(connect, ttl_s=30)
    first = await cache.token(ask())
    renewed = await cache.token(ask(rejected=first))
    assert renewed.access_token == "tok-2"
    assert connect.requests[1].rejected_sha256 == hashlib.sha256(b"tok-1").hexdigest()
    assert (await cache.token(ask())).access_token == "tok-2"
    assert len(connect.requests) == 2


async def test_refusals_are_shared_by_the_waiting_deliveries_and_never_kept() -> None:
    connect = Connect(gate=asyncio.Event(), refuse=Gone("account_disconnected", "the account was disconnected"))
    cache = CachedTokens(connect, ttl_s=30)
    asks = [asyncio.ensure_future(cache.token(ask())) for _ in range(5)]
    await eventually(lambda: asyncio.sleep(0, len(connect.requests) == 1), what="the one request")
    connect.gate.set()  # type: ignore[union-attr]
    results = await asyncio.gather(*asks, return_exceptions=True)
    assert all(isinstance(r, Gone) and r.code == "account_disconnected" for r in results)
    with pytest.raises(Gone):
        await cache.token(ask())
    assert len(connect.requests) == 2
    assert len(cache) == 0


async def test_a_delivery_canceled_while_waiting_leaves_the_others_their_answer() -> None:
    connect = Connect(gate=asyncio.Event())
    cache = CachedTokens(connect, ttl_s=30)
    first, second = (asyncio.ensure_future(cache.token(ask())) for _ in range(2))
    await eventually(lambda: asyncio.sleep(0, len(connect.requests) == 1), what="the one request")
    first.cancel()
    connect.gate.set()  # type: ignore[union-attr]
    assert (await second).access_token == "tok-1"
    assert first.cancelled()


async def test_an_answer_under_way_when_the_account_is_forgotten_is_not_kept() -> None:
    connect = Connect(gate=asyncio.Event())
    cache = CachedTokens(connect, ttl_s=30)
    under_way = asyncio.ensure_future(cache.token(ask()))
    await eventually(lambda: asyncio.sleep(0, len(connect.requests) == 1), what="the request")
    cache.forget("acc")  # e.g. connect announced the account disconnected meanwhile
    connect.gate.set()  # type: ignore[union-attr]
    assert (await under_way).access_token == "tok-1"  # it asked before: as without a cache
    assert len(cache) == 0
    assert (await cache.token(ask())).access_token == "tok-2"


async def test_the_least_recently_used_account_goes_first() -> None:
    connect = Connect()
    cache = CachedTokens(connect, ttl_s=30, max_accounts=2)
    for account in ("a", "b", "a", "c"):
        await cache.token(ask(account))
    assert len(cache) == 2
    await cache.token(ask("a"))
    await cache.token(ask("b"))  # gone: asked again
    assert [r.account_id for r in connect.requests] == ["a", "b", "c", "b"]


async def test_zero_seconds_asks_every_time() -> None:
    connect = Connect()
    cache = CachedTokens(connect, ttl_s=0)
    await cache.token(ask())
    await cache.token(ask())
    assert len(connect.requests) == 2 and len(cache) == 0


async def test_an_account_event_on_the_bus_drops_the_accounts_token(infra: Infra) -> None:
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    try:
        await bus.ensure_streams()
        connect = Connect()
        cache = CachedTokens(connect, ttl_s=30)
        sub = await forget_on_account_events(bus, cache)
        await cache.token(ask("acc"))
        await cache.token(ask("kept"))
        assert len(cache) == 2
        now = datetime.now(UTC)
        event = AccountDisconnected(
            id="e1", occurred_at=now, org_id=ORG, mode="live", account_id="acc", platform="x", updated_at=now
        )
        await bus.js.publish(bus.subject("evt.account.disconnected"), msgspec.json.encode(event))
        await bus.nc.publish(bus.subject("evt.account.refreshed"), b"not json")  # logged, ignored
        await eventually(lambda: asyncio.sleep(0, len(cache) == 1), what="the account's token dropped")
        assert (await cache.token(ask("acc"))).access_token == "tok-3"
        assert (await cache.token(ask("kept"))).access_token == "tok-2"
        await sub.unsubscribe()
    finally:
        await bus.close()
