"""Each platform's refresh rule (rotation or not) and what revoking does to the grant."""

from __future__ import annotations

import time

import pytest

from crier.platforms import pkce
from crier.platforms.oauth import AccessTokenInvalid, GrantRevoked, OAuthError

from .conftest import Flow

DAY = 86400


async def test_x_refresh_rotates_and_the_old_refresh_token_dies(flow: Flow) -> None:
    conn = await flow.connect("x")
    tokens = conn.tokens
    assert tokens.refresh_token and tokens.expires_at is not None
    refreshed = await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token)
    again = await conn.provider.refresh(flow.http, conn.app, refreshed.refresh_token)
    await conn.provider.identity(flow.http, again.access_token)
    token_calls = flow.sim.requests("x", "token")
    assert all(r["authorization"].startswith("Basic ") for r in token_calls)  # confidential client


async def test_x_without_offline_access_has_no_refresh_token(flow: Flow) -> None:
    conn = await flow.connect("x", scopes=("tweet.read", "users.read"))
    assert conn.tokens.refresh_token is None
    assert conn.tokens.scopes == ("tweet.read", "users.read")


async def test_x_revoking_the_access_token_leaves_the_refresh_token(flow: Flow) -> None:
    conn = await flow.connect("x")
    await conn.provider.revoke(flow.http, conn.app, conn.tokens.access_token)
    with pytest.raises(AccessTokenInvalid):
        await conn.provider.identity(flow.http, conn.tokens.access_token)
    assert conn.tokens.refresh_token
    refreshed = await conn.provider.refresh(flow.http, conn.app, conn.tokens.refresh_token)
    await conn.provider.revoke(flow.http, conn.app, refreshed.refresh_token or "")
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, refreshed.refresh_token or "")
    with pytest.raises(AccessTokenInvalid):
        await conn.provider.identity(flow.http, refreshed.access_token)


@pytest.mark.parametrize("platform", ["linkedin", "tiktok", "youtube", "google_business"])
async def test_refresh_keeps_the_refresh_token(flow: Flow, platform: str) -> None:
    conn = await flow.connect(platform)
    old = conn.tokens.refresh_token
    assert old
    refreshed = await conn.provider.refresh(flow.http, conn.app, old)
    assert refreshed.access_token != conn.tokens.access_token
    # LinkedIn and TikTok resend the same refresh token, Google none at all (None = keep yours).
    assert refreshed.refresh_token in (None, old)
    if platform.startswith(("youtube", "google")):
        assert refreshed.refresh_token is None
    second = await conn.provider.refresh(flow.http, conn.app, old)  # the old one still works
    await conn.provider.identity(flow.http, second.access_token)
    await conn.provider.revoke(flow.http, conn.app, second.access_token)
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, old)


async def test_linkedin_lifetimes_and_apps_without_refresh_tokens(flow: Flow) -> None:
    conn = await flow.connect("linkedin")
    assert conn.tokens.expires_at and conn.tokens.refresh_expires_at
    assert (conn.tokens.expires_at - conn.tokens.refresh_expires_at).days < -300
    plain = await flow.connect("linkedin", app_options={"refresh_tokens": False})
    assert plain.tokens.refresh_token is None


async def test_linkedin_member_only_without_organization_scopes(flow: Flow) -> None:
    conn = await flow.connect("linkedin", scopes=("openid", "profile", "w_member_social"), pages=2)
    accounts = await conn.provider.accounts(flow.http, conn.tokens)
    assert [a.account_type for a in accounts] == ["profile"]
    assert accounts[0].network_unique_id == f"urn:li:person:{conn.user['id']}"
    rest = [r for r in flow.sim.requests("linkedin") if r["path"].startswith("/linkedin/rest/")]
    assert not any(r["authorization"] == f"Bearer {conn.tokens.access_token}" for r in rest)


async def test_linkedin_organizations_are_urns_with_names(flow: Flow) -> None:
    conn = await flow.connect("linkedin", pages=[{"name": "Acme Corp"}, {"name": "Beta Labs"}])
    accounts = await conn.provider.accounts(flow.http, conn.tokens)
    orgs = [a for a in accounts if a.account_type == "organization"]
    assert [o.display_name for o in orgs] == ["Acme Corp", "Beta Labs"]
    assert [o.username for o in orgs] == ["acme-corp", "beta-labs"]
    assert all(o.network_unique_id.startswith("urn:li:organization:") for o in orgs)


@pytest.mark.parametrize("platform", ["pinterest"])
async def test_pinterest_continuous_refresh_rotates(flow: Flow, platform: str) -> None:
    conn = await flow.connect(platform)
    tokens = conn.tokens
    assert tokens.refresh_token and tokens.refresh_expires_at and tokens.expires_at
    refreshed = await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    assert refreshed.refresh_expires_at
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token)
    form = flow.sim.requests("pinterest", "token")[-2]["form"]
    assert form["continuous_refresh"] == "true"
    assert all(r["authorization"].startswith("Basic ") for r in flow.sim.requests("pinterest", "token"))


@pytest.mark.parametrize("platform", ["threads", "pinterest"])
async def test_platforms_without_user_token_revocation(flow: Flow, platform: str) -> None:
    conn = await flow.connect(platform)
    await conn.provider.revoke(flow.http, conn.app, conn.tokens.access_token)  # nothing to call
    await conn.provider.identity(flow.http, conn.tokens.access_token)
    flow.sim.revoke_grants(platform, conn.user["id"])  # the user removes the app on the platform
    flow.sim.advance_clock(DAY + 60)
    assert conn.tokens.refresh_token
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, conn.tokens.refresh_token)


async def test_threads_long_lived_token_refreshes_itself_after_a_day(flow: Flow) -> None:
    conn = await flow.connect("threads")
    tokens = conn.tokens
    assert tokens.refresh_token == tokens.access_token
    assert tokens.expires_at and tokens.expires_at == tokens.refresh_expires_at
    assert tokens.extra["user_id"] == conn.user["id"]
    with pytest.raises(OAuthError) as too_early:
        await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token or "")
    assert not isinstance(too_early.value, GrantRevoked)
    flow.sim.advance_clock(DAY + 60)
    refreshed = await conn.provider.refresh(flow.http, conn.app, tokens.refresh_token or "")
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == refreshed.access_token
    assert (await conn.provider.identity(flow.http, refreshed.access_token)).username == conn.user["username"]


async def test_facebook_pages_carry_their_own_tokens(flow: Flow) -> None:
    conn = await flow.connect("facebook", pages=[{"name": "Bakery"}, {"name": "Bistro"}])
    assert conn.tokens.refresh_token is None
    assert conn.tokens.expires_at and (conn.tokens.expires_at.timestamp() - time.time()) > 50 * DAY
    pages = await conn.provider.accounts(flow.http, conn.tokens)
    assert [p.display_name for p in pages] == ["Bakery", "Bistro"]
    assert all(p.access_token and p.access_token != conn.tokens.access_token for p in pages)
    me = await conn.provider.identity(flow.http, pages[0].access_token or "")
    assert me.account_type == "page" and me.network_unique_id == pages[0].network_unique_id
    user = await conn.provider.identity(flow.http, conn.tokens.access_token)
    assert user.account_type == "profile" and user.network_unique_id == conn.user["id"]

    extended = await conn.provider.refresh(flow.http, conn.app, conn.tokens.access_token)
    assert extended.access_token != conn.tokens.access_token

    await conn.provider.revoke(flow.http, conn.app, conn.tokens.access_token)
    with pytest.raises(GrantRevoked):  # no refresh token on Facebook: a dead token means reconnect
        await conn.provider.identity(flow.http, pages[0].access_token or "")
    with pytest.raises(GrantRevoked):
        await conn.provider.refresh(flow.http, conn.app, conn.tokens.access_token)


async def test_facebook_follows_page_cursors(flow: Flow) -> None:
    conn = await flow.connect("facebook", pages=130)
    pages = await conn.provider.accounts(flow.http, conn.tokens)
    assert len(pages) == len({p.network_unique_id for p in pages}) == 130
    assert len(flow.sim.requests("facebook", "accounts")) >= 2


async def test_instagram_only_pages_with_a_linked_account(flow: Flow) -> None:
    conn = await flow.connect(
        "instagram", pages=[{"name": "Shop"}, {"name": "No IG", "instagram": False}, {"name": "Cafe"}]
    )
    accounts = await conn.provider.accounts(flow.http, conn.tokens)
    assert [a.extra["page_name"] for a in accounts] == ["Shop", "Cafe"]
    assert all(a.username and a.username.endswith(".ig") for a in accounts)
    page_ids = {p["id"] for p in conn.user["pages"]}
    assert {a.extra["page_id"] for a in accounts} <= page_ids
    me = await conn.provider.identity(flow.http, accounts[1].access_token or "")
    assert me.network_unique_id == accounts[1].network_unique_id and me.account_type == "business"


async def test_google_refresh_token_only_with_consent_prompt_on_a_second_grant(flow: Flow) -> None:
    conn = await flow.connect("youtube")
    assert conn.tokens.refresh_token
    app = conn.app
    # The provider always sends prompt=consent, so reconnecting yields a refresh token again.
    _, params = await flow.authorize(conn.provider, app, verifier="w" * 50)
    again = await conn.provider.exchange_code(flow.http, app, code=params["code"], code_verifier="w" * 50)
    assert again.refresh_token
    without_prompt = conn.provider.authorization_url(
        app, state="s2", code_challenge=pkce.challenge("x" * 50), scopes=()
    ).replace("prompt=consent", "")
    resp = await flow.http.get(without_prompt)
    code = resp.headers["location"].split("code=")[1].split("&")[0]
    third = await conn.provider.exchange_code(flow.http, app, code=code, code_verifier="x" * 50)
    assert third.refresh_token is None


async def test_google_business_follows_page_tokens_over_accounts_and_locations(flow: Flow) -> None:
    conn = await flow.connect("google_business", pages=230, accounts=2)
    locations = await conn.provider.accounts(flow.http, conn.tokens)
    assert len(locations) == 230
    assert all(loc.network_unique_id.count("/") == 3 for loc in locations)
    assert locations[0].extra["address"]["locality"] == "Mountain View"
    assert len(flow.sim.requests("google_business", "locations")) >= 4


async def test_youtube_account_without_channel(flow: Flow) -> None:
    conn = await flow.connect("youtube", pages=0)
    with pytest.raises(OAuthError) as raised:
        await conn.provider.accounts(flow.http, conn.tokens)
    assert raised.value.code == "no_channel"


async def test_mastodon_tokens_do_not_expire_or_refresh(flow: Flow) -> None:
    conn = await flow.connect("mastodon")
    assert conn.tokens.expires_at is None and conn.tokens.refresh_token is None
    assert conn.tokens.extra["instance_url"] == f"{flow.sim.base_url}/mastodon"
    with pytest.raises(OAuthError) as raised:
        await conn.provider.refresh(flow.http, conn.app, "anything")
    assert raised.value.code == "refresh_not_supported"
    await conn.provider.revoke(flow.http, conn.app, conn.tokens.access_token)
    with pytest.raises(GrantRevoked):  # no refresh on Mastodon: a refused token means reconnect
        await conn.provider.identity(flow.http, conn.tokens.access_token)


async def test_tiktok_tokens_name_the_open_id(flow: Flow) -> None:
    conn = await flow.connect("tiktok")
    assert conn.tokens.extra["open_id"] == conn.user["id"]
    assert conn.tokens.refresh_expires_at and conn.tokens.expires_at
    form = flow.sim.requests("tiktok", "token")[-1]["form"]
    assert form["client_key"] == conn.app.client_id and "client_id" not in form
