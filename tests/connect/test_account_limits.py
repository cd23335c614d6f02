"""What a platform lets each account post, where accounts of one platform differ: a Mastodon
instance's own status limit. Connect reads it when the account connects (and reconnects), and again
when the account's health is checked live (Mastodon tokens are never refreshed, so no refresh ever
brings it); it keeps it with the account and hands it on in `account.connected`, in
`account.refreshed` when it changed, and with the publisher's token. The instance is the
simulator, whose limit `POST /_sim/mastodon/settings` sets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec
import pytest
import sqlalchemy as sa

from crier.connect.handlers import accounts, credentials
from crier.contracts import connect as api
from crier.contracts.common import AccountLimits
from crier.contracts.events import AccountConnected, AccountRefreshed

from .conftest import Harness, Org

E = TypeVar("E", AccountConnected, AccountRefreshed)


@pytest.fixture
async def h(harness: Harness) -> AsyncIterator[Harness]:
    yield harness
    harness.sim.clear_settings()


async def _connected(h: Harness, platform: str = "mastodon") -> tuple[Org, str, dict[str, Any]]:
    org = await h.org()
    await h.byok(org, platform)
    user = h.sim.add_user(platform)
    return org, (await h.connect(org, platform))["account_id"], user


async def _stored(h: Harness, account_id: str) -> int | None:
    [row] = await h.rows("SELECT max_characters FROM social_accounts WHERE id = :i", i=account_id)
    value: int | None = row.max_characters
    return value


async def _announced(h: Harness, subject: str, kind: type[E], account_id: str) -> list[E]:
    events = [msgspec.json.decode(p, type=kind) for p in await h.outbox(subject)]
    return [e for e in events if e.account_id == account_id]


async def _token(h: Harness, org: Org, account_id: str) -> api.AccountToken:
    return await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))


async def _health(h: Harness, org: Org, account_id: str) -> api.AccountHealth:
    return await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))


async def test_a_mastodon_account_is_kept_and_announced_with_its_instances_limit(h: Harness) -> None:
    h.sim.configure("mastodon", max_characters=1000)
    org, account_id, user = await _connected(h)
    roomy = AccountLimits(max_characters=1000)
    assert await _stored(h, account_id) == 1000
    [event] = await _announced(h, "evt.account.connected", AccountConnected, account_id)
    assert event.limits == roomy
    assert (await _token(h, org, account_id)).limits == roomy
    [listed] = (await accounts.list_accounts(h.ctx, api.AccountList(**org.scoped(), id=account_id))).data
    assert listed.limits == roomy

    # The operator lowers the limit; the account reconnects: it is read again.
    h.sim.configure("mastodon", max_characters=640)
    h.sim.sign_in("mastodon", user["id"])
    assert (await h.connect(org, "mastodon"))["account_id"] == account_id
    assert await _stored(h, account_id) == 640
    announced = await _announced(h, "evt.account.connected", AccountConnected, account_id)
    assert [e.limits.max_characters for e in announced] == [1000, 640]
    assert (await _token(h, org, account_id)).limits == AccountLimits(max_characters=640)


async def test_a_live_health_check_reads_the_limit_again_and_announces_a_change(h: Harness) -> None:
    org, account_id, _ = await _connected(h)
    assert await _stored(h, account_id) == 500
    # Nothing changed: nothing to announce.
    assert (await _health(h, org, account_id)).healthy
    assert await _announced(h, "evt.account.refreshed", AccountRefreshed, account_id) == []

    h.sim.configure("mastodon", max_characters=5000)
    assert (await _health(h, org, account_id)).healthy
    assert await _stored(h, account_id) == 5000
    [refreshed] = await _announced(h, "evt.account.refreshed", AccountRefreshed, account_id)
    assert refreshed.limits == AccountLimits(max_characters=5000) and refreshed.platform == "mastodon"
    [row] = await h.rows("SELECT updated_at FROM social_accounts WHERE id = :i", i=account_id)
    assert refreshed.updated_at == row.updated_at
    assert (await _token(h, org, account_id)).limits == AccountLimits(max_characters=5000)

    # An instance that will not say now leaves what was read before, and says nothing.
    h.sim.fault("mastodon", "instance", "server_error")
    assert (await _health(h, org, account_id)).healthy
    assert await _stored(h, account_id) == 5000
    assert len(await _announced(h, "evt.account.refreshed", AccountRefreshed, account_id)) == 1


async def test_accounts_without_limits_keep_their_platforms_defaults(h: Harness) -> None:
    # Another platform has no limits of this kind.
    org, account_id, _ = await _connected(h, "x")
    assert await _stored(h, account_id) is None
    assert (await _token(h, org, account_id)).limits == AccountLimits()
    [event] = await _announced(h, "evt.account.connected", AccountConnected, account_id)
    assert event.limits == AccountLimits()
    # A Mastodon account connected before Crier read the limit holds none until it is read.
    org, account_id, _ = await _connected(h)
    async with h.ctx.uow.begin() as tx:
        await tx.conn.execute(
            sa.text("UPDATE social_accounts SET max_characters = NULL WHERE id = :i"), {"i": account_id}
        )
    assert (await _token(h, org, account_id)).limits == AccountLimits()
    # When the instance cannot say at connect, the account connects all the same, without a limit.
    h.sim.fault("mastodon", "instance", "server_error")
    org, account_id, _ = await _connected(h)
    assert await _stored(h, account_id) is None
    assert (await _token(h, org, account_id)).limits == AccountLimits()
