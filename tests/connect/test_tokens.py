"""Token lifecycle: refresh before expiry, token_expired when the grant is gone, nothing changes on a
transient failure, and replicas of the refresher never refresh one account twice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import msgspec

from crier.connect.adapters.providers import Providers
from crier.connect.domain.accounts import due_for_refresh
from crier.connect.domain.seals import token_context
from crier.connect.handlers import accounts
from crier.connect.handlers.tokens import RETRY_AFTER_UNAVAILABLE_S, Refresh, refresh, refresh_due
from crier.contracts import connect as api
from crier.contracts.events import AccountRefreshed, AccountTokenExpired
from crier.platforms.base import PlatformSettings

from .conftest import Harness, Org


async def _connected(h: Harness, platform: str = "x", **user: object) -> tuple[Org, str]:
    org = await h.org()
    await h.byok(org, platform)
    h.sim.add_user(platform, **user)
    return org, (await h.connect(org, platform))["account_id"]


def _refresh_calls(h: Harness) -> int:
    """Calls to the platforms' token-renewing endpoints (Threads has its own, Bluesky its XRPC)."""
    return sum(len(h.sim.requests(endpoint=e)) for e in ("token", "refresh", "refreshSession"))


async def _row(h: Harness, account_id: str):  # type: ignore[no-untyped-def]
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    return row


def _access(h: Harness, row) -> str | None:  # type: ignore[no-untyped-def]
    return h.ctx.vault.open(
        row.access_token_enc, token_context(row.org_id, row.mode, row.platform, row.network_unique_id, "access")
    )


def _near_expiry(h: Harness, row) -> None:  # type: ignore[no-untyped-def]
    """Move Crier's clock to five minutes before the token expires."""
    h.clock.offset = row.token_expires_at - timedelta(minutes=5) - h.clock()


async def test_health_refreshes_a_token_near_expiry(harness: Harness) -> None:
    h = harness
    org, account_id = await _connected(h)
    before = await _row(h, account_id)
    _near_expiry(h, before)
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert report.healthy and report.checked_live and report.status == "active" and report.error_code is None
    after = await _row(h, account_id)
    assert _access(h, after) != _access(h, before) and after.token_expires_at > before.token_expires_at
    assert report.token_expires_at == after.token_expires_at
    refreshed = [msgspec.json.decode(p, type=AccountRefreshed) for p in await h.outbox("evt.account.refreshed")]
    assert any(e.account_id == account_id for e in refreshed)


async def test_revoked_grant_flips_the_account_to_token_expired(harness: Harness) -> None:
    h = harness
    org, account_id = await _connected(h, "youtube")
    h.sim.revoke_grants("youtube")
    _near_expiry(h, await _row(h, account_id))
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert not report.healthy and report.status == "token_expired" and report.error_code == "token_expired"
    assert (await _row(h, account_id)).status == "token_expired"
    expired = [msgspec.json.decode(p, type=AccountTokenExpired) for p in await h.outbox("evt.account.token_expired")]
    assert any(e.account_id == account_id for e in expired)
    again = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert not again.checked_live and again.error_code == "token_expired"


async def test_a_transient_failure_changes_nothing(harness: Harness) -> None:
    h = harness
    org, account_id = await _connected(h, "pinterest")
    before = await _row(h, account_id)
    _near_expiry(h, before)
    h.sim.fault("pinterest", "token", "unavailable")
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert not report.healthy and report.error_code == "platform_unavailable" and report.status == "active"
    after = await _row(h, account_id)
    assert after.status == "active" and _access(h, after) == _access(h, before)
    h.sim.fault("pinterest", "user_account", "timeout", hang_s=0.1)
    h.clock.offset = timedelta()
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert report.error_code == "platform_unavailable" and (await _row(h, account_id)).status == "active"


async def test_a_refused_access_token_is_refreshed_and_probed_again(harness: Harness) -> None:
    h = harness
    org, account_id = await _connected(h, "x")
    h.sim.expire_tokens("x")
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert report.healthy and report.checked_live


async def test_a_dead_page_token_with_nothing_to_refresh_expires_the_account(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "facebook")
    h.sim.add_user("facebook", pages=1)
    account_id = (await h.connect(org, "facebook"))["account_id"]
    h.sim.revoke_grants("facebook")
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert report.status == "token_expired" and report.error_code == "token_expired"


async def test_refresher_replicas_share_the_work_without_overlap(harness: Harness) -> None:
    h = harness
    due = [(await _connected(h, "x"))[1] for _ in range(4)]
    rows = [await _row(h, a) for a in due]
    # One instant for the count and both sweeps: with the clock running, an account of another test
    # whose expiry or failed-refresh hold ends in between is due to the sweeps and not to the count.
    # The first instant at which all four tokens are due: a token renewed since expires later than
    # they all do, so it is not due then, and a sweep that claims an account only after the other
    # sweep renewed it (its claim waited for a connection meanwhile) leaves it alone.
    h.clock.frozen = max(r.token_expires_at for r in rows) - timedelta(seconds=h.ctx.settings.refresh_before_s)
    # Other tests' accounts are held off, as another replica's lease holds them: the session of a
    # simulated Bluesky account is renewed on the simulator's own clock, hours before this frozen
    # instant, so it is due again at once, and one sweep could take it after the other renewed it.
    others = await h.rows(
        "WITH old AS (SELECT id, refresh_claimed_until FROM social_accounts WHERE NOT (id = ANY(:ours)) FOR UPDATE)"
        " UPDATE social_accounts s SET refresh_claimed_until = :held FROM old WHERE s.id = old.id"
        " RETURNING s.id, old.refresh_claimed_until",
        ours=due,
        held=h.clock() + timedelta(days=1),
    )
    try:
        await _share_without_overlap(h, due, rows)
    finally:
        h.clock.frozen = None
        for account_id, until in others:
            await h.rows(
                "UPDATE social_accounts SET refresh_claimed_until = :until WHERE id = :i RETURNING id",
                i=account_id,
                until=until,
            )


async def _share_without_overlap(h: Harness, due: list[str], rows: list[Any]) -> None:
    [(owed, simulated)] = await h.rows(
        "SELECT count(*), count(*) FILTER (WHERE sandbox) FROM social_accounts WHERE status = 'active' "
        "AND refresh_token_enc IS NOT NULL AND token_expires_at <= :t "
        "AND (refresh_claimed_until IS NULL OR refresh_claimed_until < :now)",  # not held back after a failure
        t=h.clock() + timedelta(seconds=h.ctx.settings.refresh_before_s),
        now=h.clock(),
    )
    asked_before = _refresh_calls(h)
    other = replace(h.ctx, settings=replace(h.ctx.settings, refresh_concurrency=2))
    first, second = await asyncio.gather(refresh_due(h.ctx), refresh_due(other))
    # Every due account was refreshed exactly once between the two.
    outcomes = [o for sweep in (first, second) for o, n in sweep.items() for _ in range(n)]
    assert len(outcomes) == owed == len(due) and set(outcomes) <= {Refresh.REFRESHED, Refresh.REVOKED}
    assert _refresh_calls(h) - asked_before == owed - simulated  # test-mode accounts need no platform
    for account_id, before in zip(due, rows, strict=True):
        after = await _row(h, account_id)
        assert after.status == "active" and after.token_expires_at > before.token_expires_at
        assert after.refresh_claimed_until is None
        # what lets a late sweep leave it alone (see the test)
        assert not due_for_refresh(after.token_expires_at, h.clock(), h.ctx.settings.refresh_before_s)


async def test_an_unreachable_platform_is_unavailable_and_asked_again_later(harness: Harness) -> None:
    h = harness
    org, account_id = await _connected(h, "x")
    before = await _row(h, account_id)
    async with httpx.AsyncClient(timeout=2) as http:
        # Nothing listens on the discard port: every call fails to connect.
        nowhere = Providers(
            http,
            public_url=h.ctx.settings.public_url,
            platforms=PlatformSettings(base_url_override="http://127.0.0.1:9"),
        )
        cut_off = replace(h.ctx, providers=nowhere)
        assert await refresh(cut_off, account_id, only_if_due=False) is Refresh.UNAVAILABLE
        after = await _row(h, account_id)
        assert after.status == "active" and _access(h, after) == _access(h, before)
        retry_in = after.refresh_claimed_until - h.clock()
        assert (
            timedelta(seconds=RETRY_AFTER_UNAVAILABLE_S - 5) < retry_in <= timedelta(seconds=RETRY_AFTER_UNAVAILABLE_S)
        )
        report = await accounts.health(cut_off, api.AccountRef(**org.scoped(), id=account_id))
    assert report.checked_live and not report.healthy and report.error_code == "platform_unavailable"
