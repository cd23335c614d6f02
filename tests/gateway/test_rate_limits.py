"""Per-key API rate limits: two gateway processes on one database share each key's count, every
authenticated answer carries the RateLimit-* headers, and the store counts atomically."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from crier.gateway.domain.rate_limit import quota
from crier.gateway.entrypoints import admin
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.rate_limits import count_request, set_key_limit
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from crier.kit.embedded import free_port
from crier.kit.errors import Invalid, NotFound
from crier.kit.uow import UnitOfWork
from tests.gateway.conftest import _ready, start_gateway
from tests.support.stack import Infra, Services, wait_for

LIMIT = 20


@dataclass
class Pair:
    services: Services
    a: str
    b: str

    def key(self) -> tuple[str, str]:
        """A new organization's test key: its id and its secret."""
        org = admin.create_org(self.services.database_url, f"rl-{secrets.token_hex(3)}")
        key = admin.create_api_key(self.services.database_url, org=org["id"], name="k", mode="test", scopes=None)
        return key["id"], key["key"]


@pytest.fixture(scope="module")
def pair(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two gateway replicas: the second is another process on the same database and namespace."""
    services, a = start_gateway(infra, tmp_path_factory.mktemp("ratelimits"), env={"CRIER_API_RATE_LIMIT": str(LIMIT)})
    port = free_port()
    b = f"http://127.0.0.1:{port}"
    services.supervisor.add("gateway-b", ["gateway"], {"CRIER_GATEWAY_PORT": str(port)}).start()
    try:
        wait_for(lambda: _ready(b), timeout=30, what="second gateway")
        yield Pair(services, a, b)
    finally:
        services.supervisor.stop_all()


def _get(base: str, secret: str, path: str = "/api/v1/posts") -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {secret}"}, timeout=15)


def test_two_replicas_share_one_count(pair: Pair) -> None:
    _, secret = pair.key()
    bases = [pair.a, pair.b] * 15  # 30 requests, half to each replica, all at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda base: _get(base, secret), bases))
    ok = [r for r in answers if r.status_code == 200]
    limited = [r for r in answers if r.status_code == 429]
    assert (len(ok), len(limited)) == (LIMIT, 30 - LIMIT), [r.status_code for r in answers]
    # Every admitted request saw its own count: no two replicas counted the same request twice or lost one.
    assert sorted(int(r.headers["ratelimit-remaining"]) for r in ok) == list(range(LIMIT))
    for r in limited:
        assert r.json()["error"]["code"] == "rate_limited" and r.json()["error"]["request_id"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["ratelimit-remaining"] == "0" and r.headers["ratelimit-limit"] == str(LIMIT)
    # Each replica alone would have admitted all 15 of its own: only a shared count refuses 10.
    assert {str(r.url).startswith(pair.b) for r in ok} == {True, False}


def test_every_authenticated_answer_carries_the_headers(pair: Pair) -> None:
    _, secret = pair.key()
    first = _get(pair.a, secret)
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == str(LIMIT) and first.headers["ratelimit-remaining"] == str(LIMIT - 1)
    assert 1 <= int(first.headers["ratelimit-reset"]) <= 60
    missing = _get(pair.b, secret, "/api/v1/posts/nope")  # an error answer, on the other replica
    assert missing.status_code == 404 and missing.headers["ratelimit-remaining"] == str(LIMIT - 2)
    refused = _get(pair.a, secret, "/api/v1/posts?color=red")
    assert refused.status_code == 400 and refused.headers["ratelimit-remaining"] == str(LIMIT - 3)
    # No key, no count: the 401, the probes and the API description carry none.
    assert "ratelimit-limit" not in httpx.get(f"{pair.a}/api/v1/posts").headers
    assert "ratelimit-limit" not in httpx.get(f"{pair.a}/healthz").headers
    assert "ratelimit-limit" not in _get(pair.a, secret, "/api/v1/openapi.json").headers


def test_an_operator_sets_a_keys_own_limit(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    from crier.cli.main import main

    key_id, secret = pair.key()
    monkeypatch.setenv("CRIER_DATABASE_URL", pair.services.database_url)
    main(["keys", "rate-limit", key_id, "3"])
    answers = [_get(base, secret) for base in (pair.a, pair.b, pair.a, pair.b)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    main(["keys", "rate-limit", key_id, "default"])
    back = _get(pair.a, secret)
    assert back.status_code == 200 and back.headers["ratelimit-limit"] == str(LIMIT)
    assert back.headers["ratelimit-remaining"] == str(LIMIT - 5)


def test_the_store_counts_concurrent_requests_exactly(pair: Pair) -> None:
    """Two replicas' worth of contexts, each counting its own requests together, on one counter."""
    key_id, _ = pair.key()

    async def run() -> list[int]:
        engine = create_engine(pair.services.database_url, SCHEMA, pool_size=16)
        ctx = Context(uow=UnitOfWork(engine, consumer="gateway"))
        other = Context(uow=UnitOfWork(engine, consumer="gateway"))
        try:
            quotas = await asyncio.gather(*(count_request(c, key_id, 1000) for _ in range(100) for c in (ctx, other)))
            with pytest.raises(Invalid):
                await set_key_limit(ctx, key_id, 0)
            with pytest.raises(NotFound):
                await set_key_limit(ctx, "no-such-key", 5)
        finally:
            await engine.dispose()
        return sorted(q.remaining for q in quotas)

    assert asyncio.run(run()) == list(range(800, 1000))


def test_quota_arithmetic() -> None:
    assert quota(1, 10, 59.2) == quota(1, 10, 59.9)  # whole seconds, rounded up
    q = quota(11, 10, 0.01)
    assert (q.remaining, q.reset_s, q.exceeded) == (0, 1, True)
    assert not quota(10, 10, 30).exceeded
