"""The publisher's token requests (`rpc.connect.accounts.token`): a good token is served as it is,
one near expiry is renewed first, a refused one is renewed exactly once however many deliveries
present it at the same moment, and an account whose grant is dead, or that was disconnected, is
gone. The platforms are the simulator, which counts every call to their token endpoints."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.connect.adapters.providers import Providers
from crier.connect.domain.seals import token_context
from crier.connect.handlers import accounts, credentials
from crier.contracts import connect as api
from crier.contracts.events import AccountRefreshed, AccountTokenExpired
from crier.kit.db import create_engine
from crier.kit.errors import Failure
from crier.platforms.base import PlatformSettings
from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked
from tests.support.bus import eventually

from .conftest import Harness, Org


async def _connected(h: Harness, platform: str = "x", **user: Any) -> tuple[Org, str, dict[str, Any]]:
    org = await h.org()
    await h.byok(org, platform)
    person = h.sim.add_user(platform, **user)
    return org, (await h.connect(org, platform))["account_id"], person


async def _token(h: Harness, org: Org, account_id: str, rejected: str | None = None) -> api.AccountToken:
    sha = None if rejected is None else hashlib.sha256(rejected.encode()).hexdigest()
    request = api.TokenRequest(**org.scoped(), account_id=account_id, rejected_sha256=sha)
    return await credentials.account_token(h.ctx, request)


async def _refused(h: Harness, org: Org, account_id: str, rejected: str | None = None) -> Failure:
    with pytest.raises(Failure) as refused:
        await _token(h, org, account_id, rejected)
    return refused.value


def _move_clock(h: Harness, to: datetime) -> None:
    """Crier's clock reads `to` now (the platform's clock does not move)."""
    h.clock.offset += to - h.clock()


def _token_calls(h: Harness, platform: str) -> int:
    return len(h.sim.requests(platform=platform, endpoint="token"))


async def _row(h: Harness, account_id: str) -> Any:
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    return row


def _stored_access(h: Harness, row: Any) -> str | None:
    context = token_context(row.org_id, row.mode, row.platform, row.network_unique_id, "access")
    return h.ctx.vault.open(row.access_token_enc, context)


async def _works(h: Harness, platform: str, access_token: str) -> bool:
    """Whether the platform accepts the token (its identity call)."""
    try:
        await h.ctx.providers.for_mode(platform, "live").identity(access_token)
    except (AccessTokenInvalid, GrantRevoked):
        return False
    return True


async def _events(h: Harness, subject: str, kind: type[Any], account_id: str) -> list[Any]:
    return [e for p in await h.outbox(subject) if (e := msgspec.json.decode(p, type=kind)).account_id == account_id]


async def test_a_good_token_is_served_as_it_is(harness: Harness) -> None:
    h = harness
    org, account_id, user = await _connected(h, "x", username="fresh")
    asked = _token_calls(h, "x")
    token = await _token(h, org, account_id)
    row = await _row(h, account_id)
    assert token.access_token == _stored_access(h, row) and await _works(h, "x", token.access_token)
    assert (token.account_id, token.platform, token.network_unique_id) == (account_id, "x", user["id"])
    assert (token.username, token.account_type, token.expires_at) == ("fresh", "profile", row.token_expires_at)
    assert token.instance_url is None and token.extra == {}
    assert _token_calls(h, "x") == asked  # nothing was renewed
    # A refusal of a token that is no longer the current one renews nothing either.
    assert (await _token(h, org, account_id, rejected="an-older-token")).access_token == token.access_token
    assert _token_calls(h, "x") == asked


async def test_a_token_near_expiry_is_renewed_first(harness: Harness) -> None:
    h = harness
    org, account_id, _ = await _connected(h, "x")
    before = await _row(h, account_id)
    old = _stored_access(h, before)
    _move_clock(h, before.token_expires_at - timedelta(minutes=5))
    asked = _token_calls(h, "x")
    token = await _token(h, org, account_id)
    assert token.access_token != old and await _works(h, "x", token.access_token)
    assert token.expires_at is not None and token.expires_at > before.token_expires_at
    assert _token_calls(h, "x") == asked + 1
    assert (await _row(h, account_id)).status == "active"
    assert await _events(h, "evt.account.refreshed", AccountRefreshed, account_id)
    h.clock.offset = timedelta()  # the platform's clock never moved: the new token has hours left
    again = await _token(h, org, account_id)
    assert again.access_token == token.access_token and _token_calls(h, "x") == asked + 1


@pytest.fixture
async def side_engine(connect_db: str) -> AsyncIterator[AsyncEngine]:
    """Connections of another replica: to hold an account's row lock, and to watch who waits for it."""
    engine = create_engine(connect_db, "connect", pool_size=2)
    yield engine
    await engine.dispose()


async def test_a_refused_token_is_renewed_once_for_every_delivery_that_presents_it(
    harness: Harness, side_engine: AsyncEngine
) -> None:
    h = harness
    org, account_id, user = await _connected(h, "x")  # X rotates refresh tokens: a second use kills the grant
    refused_token = (await _token(h, org, account_id)).access_token
    h.sim.expire_tokens("x", user["id"])
    assert not await _works(h, "x", refused_token)
    asked = _token_calls(h, "x")
    callers = 3
    async with side_engine.connect() as holder, side_engine.connect() as watcher:
        # Outside a transaction: inside one, pg_stat_activity would show its first snapshot forever.
        await watcher.execution_options(isolation_level="AUTOCOMMIT")
        # Another replica holds the account: every caller reads the refused token, then queues on the lock.
        await holder.execute(sa.text("SELECT 1 FROM social_accounts WHERE id = :i FOR UPDATE"), {"i": account_id})
        deliveries = [asyncio.ensure_future(_token(h, org, account_id, rejected=refused_token)) for _ in range(callers)]

        async def queued() -> bool:
            waiting = await watcher.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return waiting.scalar_one() == callers

        await eventually(queued, what="every delivery to wait for the account's lock")
        await holder.commit()
        tokens = await asyncio.gather(*deliveries)
    assert len({t.access_token for t in tokens}) == 1
    renewed = tokens[0].access_token
    assert renewed != refused_token and await _works(h, "x", renewed)
    assert _token_calls(h, "x") == asked + 1
    assert (await _row(h, account_id)).status == "active"
    # A late delivery refused the same old token: it gets the new one, and nothing is renewed.
    assert (await _token(h, org, account_id, rejected=refused_token)).access_token == renewed
    assert _token_calls(h, "x") == asked + 1


async def test_a_dead_grant_is_gone_and_announced(harness: Harness) -> None:
    h = harness
    org, account_id, user = await _connected(h, "x")
    refused_token = (await _token(h, org, account_id)).access_token
    h.sim.revoke_grants("x", user["id"])
    gone = await _refused(h, org, account_id, rejected=refused_token)
    assert (gone.kind, gone.code) == ("gone", "account_token_expired")
    assert (await _row(h, account_id)).status == "token_expired"
    assert len(await _events(h, "evt.account.token_expired", AccountTokenExpired, account_id)) == 1
    asked = _token_calls(h, "x")
    again = await _refused(h, org, account_id)
    assert again.code == "account_token_expired" and _token_calls(h, "x") == asked  # the platform is not asked again

    # Found dead while renewing a token on demand (near expiry) it is the same.
    org, account_id, user = await _connected(h, "youtube")
    h.sim.revoke_grants("youtube", user["id"])
    _move_clock(h, (await _row(h, account_id)).token_expires_at - timedelta(minutes=1))
    assert (await _refused(h, org, account_id)).code == "account_token_expired"
    assert await _events(h, "evt.account.token_expired", AccountTokenExpired, account_id)


async def test_a_refused_token_that_nothing_renews_means_the_grant_is_gone(harness: Harness) -> None:
    h = harness
    org, account_id, user = await _connected(h, "mastodon", username="toot")  # Mastodon tokens never expire
    token = await _token(h, org, account_id)
    row = await _row(h, account_id)
    assert token.expires_at is None and row.refresh_token_enc is None
    assert token.instance_url == row.instance_url and token.instance_url
    assert token.extra == {"account_id": user["id"]} and token.network_unique_id.startswith(f"{user['id']}@")
    h.sim.revoke_grants("mastodon", user["id"])
    asked = _token_calls(h, "mastodon")
    gone = await _refused(h, org, account_id, rejected=token.access_token)
    assert (gone.kind, gone.code) == ("gone", "account_token_expired") and _token_calls(h, "mastodon") == asked
    assert (await _row(h, account_id)).status == "token_expired"
    assert await _events(h, "evt.account.token_expired", AccountTokenExpired, account_id)
    # A reconnect brings a new grant: it is served again.
    h.sim.sign_in("mastodon", user["id"])
    assert (await h.connect(org, "mastodon"))["account_id"] == account_id
    renewed = await _token(h, org, account_id, rejected=token.access_token)
    assert renewed.access_token != token.access_token and await _works(h, "mastodon", renewed.access_token)


async def test_disconnected_unknown_and_sandbox_accounts(harness: Harness) -> None:
    h = harness
    org, account_id, _ = await _connected(h, "tiktok")
    await accounts.delete(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    gone = await _refused(h, org, account_id)
    assert (gone.kind, gone.code) == ("gone", "account_disconnected")
    other = await h.org()
    assert (await _refused(h, other, account_id)).kind == "not_found"
    assert (await _refused(h, Org(org.id, "test"), account_id)).kind == "not_found"
    assert (await _refused(h, org, "no-such-account")).kind == "not_found"
    sandbox_org = await h.org("test")
    made = await accounts.create_sandbox_account(
        h.ctx, api.CreateSandboxAccount(**sandbox_org.scoped(), platform="x", username="sandy")
    )
    assert (await _refused(h, sandbox_org, made.id)).code == "sandbox_account"


async def test_an_unreachable_platform(harness: Harness) -> None:
    h = harness
    org, account_id, _ = await _connected(h, "x")
    refused_token = (await _token(h, org, account_id)).access_token
    before = await _row(h, account_id)
    async with httpx.AsyncClient(timeout=2) as http:
        # Nothing listens on the discard port: every call fails to connect.
        nowhere = Providers(
            http,
            public_url=h.ctx.settings.public_url,
            platforms=PlatformSettings(base_url_override="http://127.0.0.1:9"),
        )
        cut_off = replace(h.ctx, providers=nowhere)
        request = api.TokenRequest(
            **org.scoped(), account_id=account_id, rejected_sha256=hashlib.sha256(refused_token.encode()).hexdigest()
        )
        with pytest.raises(Failure) as away:
            await credentials.account_token(cut_off, request)
        assert (away.value.kind, away.value.code) == ("unavailable", "platform_unavailable")
        # Near expiry but still valid: renewing can wait, the token still works.
        _move_clock(h, before.token_expires_at - timedelta(minutes=5))
        served = await credentials.account_token(cut_off, msgspec.structs.replace(request, rejected_sha256=None))
        assert served.access_token == refused_token
        # Past expiry it cannot.
        _move_clock(h, before.token_expires_at + timedelta(seconds=1))
        with pytest.raises(Failure) as expired:
            await credentials.account_token(cut_off, msgspec.structs.replace(request, rejected_sha256=None))
        assert expired.value.code == "platform_unavailable"
    after = await _row(h, account_id)
    assert after.status == "active" and _stored_access(h, after) == refused_token


async def test_a_page_serves_its_own_token(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "facebook")
    h.sim.add_user("facebook", pages=1)
    account_id = (await h.connect(org, "facebook"))["account_id"]
    token = await _token(h, org, account_id)
    assert token.account_type == "page" and token.extra == {"token_owner": "page"} and token.expires_at is None
    me = await h.ctx.providers.for_mode("facebook", "live").identity(token.access_token)
    assert me.network_unique_id == token.network_unique_id and me.account_type == "page"
    health = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert health.healthy
