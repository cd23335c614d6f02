"""Injected platform failures come out as the right OAuth errors: outages and rate limits as
OAuthUnavailable (with the Retry-After hint), a refused access token as AccessTokenInvalid where a
refresh can help and GrantRevoked where it cannot."""

from __future__ import annotations

import time

import httpx
import pytest

from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked, OAuthError, OAuthUnavailable

from .conftest import Flow

# platform -> (token endpoint name, identity endpoint name)
ENDPOINTS = {
    "x": ("token", "me"),
    "linkedin": ("token", "userinfo"),
    "facebook": ("token", "me"),
    "instagram": ("token", "me"),
    "youtube": ("token", "channels"),
    "threads": ("refresh", "me"),
    "mastodon": ("token", "verify_credentials"),
    "tiktok": ("token", "user_info"),
    "pinterest": ("token", "user_account"),
    "google_business": ("token", "accounts"),
    "bluesky": ("refreshSession", "getSession"),
}
# What an expired/refused access token on the identity call means per platform.
EXPIRED = {p: AccessTokenInvalid for p in ENDPOINTS} | {
    "facebook": GrantRevoked,
    "instagram": GrantRevoked,
    "threads": GrantRevoked,
    "mastodon": GrantRevoked,
}


async def _connected(flow: Flow, platform: str) -> tuple[object, object, object]:
    if platform == "bluesky":
        flow.sim.add_user("bluesky", username="faulty.bsky.social", app_password="abcd-efgh-ijkl-mnop")
        provider = flow.provider("bluesky")
        tokens = await provider.create_session(flow.http, "faulty.bsky.social", "abcd-efgh-ijkl-mnop")
        from crier.platforms.oauth import AppCredentials

        return provider, AppCredentials("", "", ""), tokens
    conn = await flow.connect(platform)
    return conn.provider, conn.app, conn.tokens


async def _refresh_or_exchange(flow: Flow, platform: str, provider: object, app: object, tokens: object) -> None:
    refresh_with = getattr(tokens, "refresh_token", None) or tokens.access_token
    await provider.refresh(flow.http, app, refresh_with)  # type: ignore[attr-defined]


@pytest.mark.parametrize("platform", sorted(set(ENDPOINTS) - {"mastodon"}))
@pytest.mark.parametrize("kind", ["server_error", "unavailable"])
async def test_server_errors_on_refresh_are_unavailable(flow: Flow, platform: str, kind: str) -> None:
    provider, app, tokens = await _connected(flow, platform)
    flow.sim.advance_clock(86400 + 60)  # Threads refreshes only day-old tokens
    flow.sim.fault(platform, ENDPOINTS[platform][0], kind)
    with pytest.raises(OAuthUnavailable) as raised:
        await _refresh_or_exchange(flow, platform, provider, app, tokens)
    assert not isinstance(raised.value, GrantRevoked)
    await _refresh_or_exchange(flow, platform, provider, app, tokens)  # the fault was for one call only


@pytest.mark.parametrize("platform", sorted(ENDPOINTS))
async def test_rate_limit_on_identity_is_unavailable_with_retry_after(flow: Flow, platform: str) -> None:
    provider, _, tokens = await _connected(flow, platform)
    flow.sim.fault(platform, ENDPOINTS[platform][1], "rate_limit", retry_after=7)
    with pytest.raises(OAuthUnavailable) as raised:
        await provider.identity(flow.http, tokens.access_token)  # type: ignore[attr-defined]
    assert raised.value.code == "rate_limited"
    # Retry-After, or a reset time (X, Bluesky: epoch seconds; Mastodon: ISO 8601) a moment ago
    assert raised.value.retry_after_s is not None and 5.5 <= raised.value.retry_after_s <= 7


@pytest.mark.parametrize("platform", sorted(ENDPOINTS))
async def test_expired_token_on_identity(flow: Flow, platform: str) -> None:
    provider, _, tokens = await _connected(flow, platform)
    flow.sim.fault(platform, ENDPOINTS[platform][1], "expired_token")
    with pytest.raises(EXPIRED[platform]):
        await provider.identity(flow.http, tokens.access_token)  # type: ignore[attr-defined]


@pytest.mark.parametrize("platform", ["x", "linkedin", "youtube", "tiktok", "pinterest", "bluesky"])
async def test_really_expired_access_token_then_refresh_recovers(flow: Flow, platform: str) -> None:
    provider, app, tokens = await _connected(flow, platform)
    flow.sim.expire_tokens(platform)
    with pytest.raises(AccessTokenInvalid):
        await provider.identity(flow.http, tokens.access_token)  # type: ignore[attr-defined]
    fresh = await provider.refresh(flow.http, app, tokens.refresh_token)  # type: ignore[attr-defined]
    await provider.identity(flow.http, fresh.access_token)  # type: ignore[attr-defined]


@pytest.mark.parametrize("platform", ["x", "facebook", "google_business", "bluesky", "tiktok"])
async def test_timeout_is_unavailable(flow: Flow, platform: str) -> None:
    provider, _, tokens = await _connected(flow, platform)
    flow.sim.fault(platform, ENDPOINTS[platform][1], "timeout", hang_s=10)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(OAuthUnavailable) as raised:
            await provider.identity(impatient, tokens.access_token)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5
    assert "no answer" in raised.value.message


async def test_unreachable_platform_is_unavailable(flow: Flow) -> None:
    from crier.platforms import provider

    dead = provider("x", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(OAuthUnavailable):
        await dead.identity(flow.http, "token")


async def test_fault_on_the_token_endpoint_of_the_code_exchange(flow: Flow) -> None:
    provider = flow.provider("linkedin")
    app = flow.app("linkedin")
    flow.sim.add_user("linkedin")
    _, params = await flow.authorize(provider, app)
    flow.sim.fault("linkedin", "token", "rate_limit", retry_after=3)
    with pytest.raises(OAuthUnavailable) as raised:
        await provider.exchange_code(flow.http, app, code=params["code"], code_verifier=None)
    assert raised.value.retry_after_s == 3
    tokens = await provider.exchange_code(flow.http, app, code=params["code"], code_verifier=None)
    assert tokens.access_token


async def test_fault_any_endpoint_and_times(flow: Flow) -> None:
    conn = await flow.connect("pinterest")
    flow.sim.fault("pinterest", "*", "server_error", times=2)
    for _ in range(2):
        with pytest.raises(OAuthUnavailable):
            await conn.provider.identity(flow.http, conn.tokens.access_token)
    await conn.provider.identity(flow.http, conn.tokens.access_token)


async def test_content_rejection_and_custom_status(flow: Flow) -> None:
    conn = await flow.connect("x")
    flow.sim.fault("x", "me", "reject")
    with pytest.raises(OAuthError) as raised:
        await conn.provider.identity(flow.http, conn.tokens.access_token)
    assert raised.value.code == "insufficient_scope" and "duplicate" in raised.value.message
    flow.sim.fault("x", "token", "status", status=400, body={"error": "invalid_grant", "error_description": "gone"})
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, conn.tokens.refresh_token or "")


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
async def test_graph_rate_limit_codes_are_unavailable_even_as_400(flow: Flow, platform: str) -> None:
    conn = await flow.connect(platform)
    flow.sim.fault(
        platform,
        "accounts",
        "status",
        status=400,
        body={"error": {"message": "User request limit reached", "type": "OAuthException", "code": 17}},
    )
    with pytest.raises(OAuthUnavailable):
        await conn.provider.accounts(flow.http, conn.tokens)
