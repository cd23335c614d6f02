"""Every redirect platform's provider, end to end against the simulator: the authorization URL,
consent, the code exchange, the connectable accounts and the identity probe."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from crier.platforms.oauth import GrantRevoked, OAuthError, OAuthProvider

from .conftest import CALLBACK, Flow

REDIRECT_PLATFORMS = [
    "x",
    "linkedin",
    "facebook",
    "instagram",
    "youtube",
    "threads",
    "mastodon",
    "tiktok",
    "pinterest",
    "google_business",
]
PKCE = {"x", "youtube", "google_business", "mastodon", "tiktok"}
MULTI = {"linkedin", "facebook", "instagram", "google_business"}
# The path each provider's authorization URL must have, on the simulator, and its scope separator.
AUTHORIZE = {
    "x": ("/x/i/oauth2/authorize", " "),
    "linkedin": ("/linkedin/oauth/v2/authorization", " "),
    "facebook": ("/facebook/v23.0/dialog/oauth", ","),
    "instagram": ("/instagram/v23.0/dialog/oauth", ","),
    "youtube": ("/youtube/o/oauth2/v2/auth", " "),
    "threads": ("/threads/oauth/authorize", ","),
    "mastodon": ("/mastodon/oauth/authorize", " "),
    "tiktok": ("/tiktok/v2/auth/authorize/", ","),
    "pinterest": ("/pinterest/oauth/", ","),
    "google_business": ("/google_business/o/oauth2/v2/auth", " "),
}
# (user spec, expected number of accounts, account_type)
ACCOUNTS = {
    "x": ({}, 1, "profile"),
    "linkedin": ({"pages": 2}, 3, "organization"),
    "facebook": ({"pages": 3}, 3, "page"),
    "instagram": ({"pages": 2}, 2, "business"),
    "youtube": ({}, 1, "channel"),
    "threads": ({}, 1, "profile"),
    "mastodon": ({}, 1, "profile"),
    "tiktok": ({}, 1, "profile"),
    "pinterest": ({}, 1, "business"),
    "google_business": ({"pages": 3, "accounts": 2}, 3, "location"),
}


@pytest.mark.parametrize("platform", REDIRECT_PLATFORMS)
async def test_provider_flags_and_protocol(flow: Flow, platform: str) -> None:
    provider = flow.provider(platform)
    assert isinstance(provider, OAuthProvider)
    assert provider.platform == platform
    assert provider.uses_pkce == (platform in PKCE)
    assert provider.multi_account == (platform in MULTI)
    assert provider.default_scopes


@pytest.mark.parametrize("platform", REDIRECT_PLATFORMS)
async def test_full_connect_flow(flow: Flow, platform: str) -> None:
    spec, count, kind = ACCOUNTS[platform]
    conn = await flow.connect(platform, **spec)

    url = urlsplit(conn.authorize_url)
    path, separator = AUTHORIZE[platform]
    assert url.path == path
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["redirect_uri"] == CALLBACK and params["response_type"] == "code"
    assert params["client_key" if platform == "tiktok" else "client_id"] == conn.app.client_id
    assert params["scope"] == separator.join(conn.provider.default_scopes)
    if platform in PKCE:
        assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    else:
        assert "code_challenge" not in params

    assert conn.tokens.access_token
    assert set(conn.tokens.scopes) == set(conn.provider.default_scopes)

    accounts = await conn.provider.accounts(flow.http, conn.tokens)
    assert len(accounts) == count
    assert accounts[-1].account_type == kind
    assert len({a.network_unique_id for a in accounts}) == count

    probe_token = accounts[-1].access_token or conn.tokens.access_token
    me = await conn.provider.identity(flow.http, probe_token)
    assert me.network_unique_id
    if platform not in ("linkedin", "google_business"):  # their probe names the member / business account
        assert me.network_unique_id == accounts[-1].network_unique_id


@pytest.mark.parametrize("platform", REDIRECT_PLATFORMS)
async def test_user_denies_consent(flow: Flow, platform: str) -> None:
    provider = flow.provider(platform)
    app = flow.app(platform)
    flow.sim.add_user(platform)
    flow.sim.consent(platform, "deny")
    _, params = await flow.authorize(provider, app, verifier="v" * 50 if provider.uses_pkce else None)
    assert params["error"] == "access_denied" and "code" not in params


@pytest.mark.parametrize("platform", ["x", "youtube", "mastodon", "tiktok"])
async def test_wrong_pkce_verifier_is_refused(flow: Flow, platform: str) -> None:
    provider = flow.provider(platform)
    app = flow.app(platform)
    flow.sim.add_user(platform)
    _, params = await flow.authorize(provider, app, verifier="a" * 64)
    with pytest.raises(GrantRevoked):
        await provider.exchange_code(flow.http, app, code=params["code"], code_verifier="b" * 64)


async def test_x_authorize_requires_pkce_challenge(flow: Flow) -> None:
    provider = flow.provider("x")
    app = flow.app("x")
    with pytest.raises(OAuthError) as raised:
        provider.authorization_url(app, state="s", code_challenge=None, scopes=())
    assert raised.value.code == "pkce_required"
    url = provider.authorization_url(app, state="s", code_challenge="c" * 43, scopes=()).replace(
        "code_challenge=", "ignored="
    )
    flow.sim.add_user("x")
    resp = await flow.http.get(url)
    assert resp.status_code == 302
    assert parse_qs(urlsplit(resp.headers["location"]).query)["error"] == ["invalid_request"]


@pytest.mark.parametrize("platform", ["x", "linkedin", "facebook", "youtube", "tiktok", "pinterest", "mastodon"])
async def test_authorization_code_works_once(flow: Flow, platform: str) -> None:
    provider = flow.provider(platform)
    app = flow.app(platform)
    flow.sim.add_user(platform)
    verifier = "v" * 60 if provider.uses_pkce else None
    _, params = await flow.authorize(provider, app, verifier=verifier)
    first = await provider.exchange_code(flow.http, app, code=params["code"], code_verifier=verifier)
    with pytest.raises(GrantRevoked):
        await provider.exchange_code(flow.http, app, code=params["code"], code_verifier=verifier)
    # RFC 6749 §4.1.2: replaying a code revokes what it bought.
    with pytest.raises(OAuthError):
        await provider.identity(flow.http, first.access_token)


async def test_unknown_client_and_unregistered_redirect_stay_on_the_platform(flow: Flow) -> None:
    provider = flow.provider("linkedin")
    app = flow.app("linkedin")
    flow.sim.add_user("linkedin")
    for bad in (
        app.__class__(client_id="nobody", client_secret="x", redirect_uri=CALLBACK),
        app.__class__(client_id=app.client_id, client_secret="x", redirect_uri="https://evil.test/cb"),
    ):
        resp = await flow.http.get(provider.authorization_url(bad, state="s", code_challenge=None, scopes=()))
        assert resp.status_code == 400 and "location" not in resp.headers


@pytest.mark.parametrize("platform", ["x", "linkedin", "youtube", "pinterest", "tiktok", "mastodon"])
async def test_wrong_client_secret_is_invalid_client(flow: Flow, platform: str) -> None:
    provider = flow.provider(platform)
    app = flow.app(platform)
    flow.sim.add_user(platform)
    verifier = "v" * 60 if provider.uses_pkce else None
    _, params = await flow.authorize(provider, app, verifier=verifier)
    wrong = app.__class__(client_id=app.client_id, client_secret="wrong", redirect_uri=app.redirect_uri)
    with pytest.raises(OAuthError) as raised:
        await provider.exchange_code(flow.http, wrong, code=params["code"], code_verifier=verifier)
    assert raised.value.code == "invalid_client"
    assert not isinstance(raised.value, GrantRevoked)
