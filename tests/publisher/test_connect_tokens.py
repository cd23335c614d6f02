"""The publisher's consumer asks connect for the account's token over the real bus.

The publisher runs in-process (its real consumer, use case and token adapter, against real NATS
and Postgres) with a scripted platform; connect is a stand-in served with `kit.bus.rpc.serve` on
`rpc.connect.accounts.token`, answering as the contract says.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.connect import ACCOUNTS_TOKEN, AccountToken, TokenRequest
from crier.kit.bus import Bus, rpc
from crier.kit.errors import Gone
from crier.kit.uow import UnitOfWork
from crier.platforms.base import TokenRejected
from crier.publisher.adapters.tokens import ConnectTokens
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.entrypoints import consumers
from crier.publisher.handlers.context import Context
from crier.publisher.settings import PublisherSettings
from tests.publisher.factories import attempts, command, send, target_row
from tests.publisher.scripted import ScriptedPlatform, subjects, token
from tests.support.bus import eventually
from tests.support.stack import Infra


@dataclass
class StandInConnect:
    """Connect's token RPC: `issue` answers each request (a token, or a kit failure to raise)."""

    issue: Callable[[TokenRequest], AccountToken]
    requests: list[TokenRequest] = field(default_factory=list)

    async def answer(self, request: TokenRequest | None) -> AccountToken:
        assert request is not None
        self.requests.append(request)
        return self.issue(request)


@asynccontextmanager
async def publisher(infra: Infra, engine: AsyncEngine, platform: ScriptedPlatform) -> AsyncIterator[Bus]:
    """The publisher's x queue, consumed in-process, in a namespace of its own."""
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    await bus.ensure_streams()
    settings = PublisherSettings(publisher_ack_wait_s=3)
    ctx = Context(
        uow=UnitOfWork(engine, consumer="publisher"),
        adapters={"x": platform},
        retry=RetryPolicy(max_attempts=5, base_s=0.05, max_s=0.4),
        tokens=ConnectTokens(bus, timeout_s=5),
    )
    stop = asyncio.Event()
    queue = asyncio.ensure_future(await consumers.publish_queue(bus, ctx, "x", settings, stop))
    try:
        yield bus
    finally:
        stop.set()
        await asyncio.wait_for(queue, timeout=10)
        await bus.close()


async def _settled(engine: AsyncEngine, target_id: str, status: str) -> object:
    row = await target_row(engine, target_id)
    return row if row is not None and row.status == status else None


async def test_the_token_comes_from_connect_over_the_bus(infra: Infra, engine: AsyncEngine) -> None:
    platform = ScriptedPlatform(needs_account=True)
    connect = StandInConnect(lambda r: token("tok-from-connect", r.account_id))
    cmd = command("root", "reply", mode="live")
    async with publisher(infra, engine, platform) as bus:
        await rpc.serve(bus, ACCOUNTS_TOKEN, TokenRequest, connect.answer, queue="connect")
        await send(bus, cmd)
        await eventually(lambda: _settled(engine, cmd.target_id, "published"), what="publication")
    assert [(r.org_id, r.mode, r.account_id, r.rejected_sha256) for r in connect.requests] == [
        (cmd.org_id, "live", cmd.account_id, None)
    ]
    assert platform.tokens == ["tok-from-connect", "tok-from-connect"]


async def test_a_refused_token_is_renewed_by_connect_over_the_bus(infra: Infra, engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): TokenRejected("401")}, needs_account=True)

    def issue(request: TokenRequest) -> AccountToken:
        if request.rejected_sha256 == hashlib.sha256(b"tok-old").hexdigest():
            return token("tok-new", request.account_id)
        return token("tok-old", request.account_id)

    connect = StandInConnect(issue)
    cmd = command("root", mode="live")
    async with publisher(infra, engine, platform) as bus:
        await rpc.serve(bus, ACCOUNTS_TOKEN, TokenRequest, connect.answer, queue="connect")
        await send(bus, cmd)
        await eventually(lambda: _settled(engine, cmd.target_id, "published"), what="publication")
    assert platform.tokens == ["tok-old", "tok-new"]
    assert len(connect.requests) == 2


async def test_a_grant_gone_at_connect_fails_the_target(infra: Infra, engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): TokenRejected("401")}, needs_account=True)

    def issue(request: TokenRequest) -> AccountToken:
        if request.rejected_sha256 is not None:
            raise Gone("account_token_expired", "the grant was revoked")
        return token("tok-old", request.account_id)

    cmd = command("root", mode="live")
    async with publisher(infra, engine, platform) as bus:
        await rpc.serve(bus, ACCOUNTS_TOKEN, TokenRequest, StandInConnect(issue).answer, queue="connect")
        await send(bus, cmd)
        row = await eventually(lambda: _settled(engine, cmd.target_id, "failed"), what="failure")
    assert (row.error_code, row.failed_attempts) == ("account_token_expired", 1)  # type: ignore[attr-defined]
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    assert len(platform.calls) == 1


async def test_connect_not_answering_is_waited_out_without_spending_an_attempt(
    infra: Infra, engine: AsyncEngine
) -> None:
    platform = ScriptedPlatform(needs_account=True)
    connect = StandInConnect(lambda r: token("tok", r.account_id))
    cmd = command("root", mode="live")
    async with publisher(infra, engine, platform) as bus:
        await send(bus, cmd)

        async def tried_twice() -> bool:
            return any(a.deliveries >= 2 for a in await attempts(engine, cmd.target_id))

        # Nobody serves the token RPC yet: the delivery stops, and comes back as the same attempt.
        await eventually(tried_twice, what="the delivery to come back after finding no connect")
        assert platform.calls == []
        await rpc.serve(bus, ACCOUNTS_TOKEN, TokenRequest, connect.answer, queue="connect")
        row = await eventually(lambda: _settled(engine, cmd.target_id, "published"), what="publication")
    assert row.failed_attempts == 0  # type: ignore[attr-defined]
    assert [(a.number, a.outcome) for a in await attempts(engine, cmd.target_id)] == [(1, "published")]
    assert "attempt_failed" not in await subjects(engine, cmd.target_id)
