"""The per-instance platforms: Bluesky's app-password sessions and Mastodon's app registration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crier.contracts.common import AccountLimits
from crier.platforms import pkce, provider
from crier.platforms.bluesky import BlueskyProvider, jwt_expiry
from crier.platforms.mastodon import MastodonProvider, register_app
from crier.platforms.oauth import AppCredentials, GrantRevoked, OAuthError

from .conftest import CALLBACK, Flow

NO_APP = AppCredentials(client_id="", client_secret="", redirect_uri="")


async def test_bluesky_app_password_session_lifecycle(flow: Flow) -> None:
    user = flow.sim.add_user("bluesky", username="carol", display_name="Carol C", app_password="aaaa-bbbb-cccc-dddd")
    bsky = flow.provider("bluesky")
    assert bsky.flow == "app_password" and not bsky.uses_pkce and not bsky.multi_account
    with pytest.raises(OAuthError) as raised:
        bsky.authorization_url(NO_APP, state="s", code_challenge=None, scopes=())
    assert raised.value.code == "pushed_authorization_required"

    tokens = await bsky.create_session(flow.http, "@carol.bsky.social", "aaaa-bbbb-cccc-dddd")
    assert tokens.extra["did"] == user["id"] and tokens.extra["handle"] == "carol.bsky.social"
    now = datetime.now(UTC)
    assert tokens.expires_at and timedelta(hours=1) < tokens.expires_at - now <= timedelta(hours=2, minutes=1)
    assert tokens.refresh_expires_at and tokens.refresh_expires_at - now > timedelta(days=80)

    [account] = await bsky.accounts(flow.http, tokens)
    assert (account.network_unique_id, account.username, account.display_name) == (
        user["id"],
        "carol.bsky.social",
        "Carol C",
    )
    refreshed = await bsky.refresh(flow.http, NO_APP, tokens.refresh_token or "")
    assert refreshed.refresh_token != tokens.refresh_token
    with pytest.raises(GrantRevoked):  # refresh JWTs rotate
        await bsky.refresh(flow.http, NO_APP, tokens.refresh_token or "")
    await bsky.revoke(flow.http, NO_APP, refreshed.refresh_token or "")
    with pytest.raises(GrantRevoked):
        await bsky.refresh(flow.http, NO_APP, refreshed.refresh_token or "")


async def test_bluesky_wrong_password_and_identifiers(flow: Flow) -> None:
    user = flow.sim.add_user("bluesky", username="dave.example.com", email="dave@example.org", app_password="pw")
    bsky = flow.provider("bluesky")
    with pytest.raises(GrantRevoked):
        await bsky.create_session(flow.http, "dave.example.com", "not-it")
    for identifier in ("dave.example.com", "dave@example.org", user["id"]):
        tokens = await bsky.create_session(flow.http, identifier, "pw")
        assert (await bsky.identity(flow.http, tokens.access_token)).network_unique_id == user["id"]


def test_bluesky_instances_and_jwt_expiry() -> None:
    real = provider("bluesky")
    assert isinstance(real, BlueskyProvider) and real.xrpc("x.y") == "https://bsky.social/xrpc/x.y"
    own = provider("bluesky", instance_url="https://pds.example.net/")
    assert own.xrpc("x.y") == "https://pds.example.net/xrpc/x.y"  # type: ignore[attr-defined]
    assert jwt_expiry("not a jwt") is None


async def test_mastodon_register_app_then_connect(flow: Flow) -> None:
    instance = f"{flow.sim.base_url}/mastodon"
    registered = await register_app(flow.http, instance, CALLBACK)
    assert registered.client_id and registered.client_secret and registered.instance_url == instance
    form = flow.sim.requests("mastodon", "apps")[-1]["form"]
    assert (
        form["redirect_uris"] == CALLBACK and form["scopes"] == "read:accounts read:statuses write:statuses write:media"
    )

    user = flow.sim.add_user("mastodon", username="erin")
    app = AppCredentials(
        client_id=registered.client_id,
        client_secret=registered.client_secret,
        redirect_uri=CALLBACK,
        instance_url="https://ignored-under-the-simulator.example",
    )
    masto = flow.provider("mastodon")
    verifier = pkce.new_verifier()
    url = masto.authorization_url(app, state="st", code_challenge=pkce.challenge(verifier), scopes=())
    assert url.startswith(f"{instance}/oauth/authorize?")
    resp = await flow.http.get(url)
    code = resp.headers["location"].split("code=")[1].split("&")[0]
    tokens = await masto.exchange_code(flow.http, app, code=code, code_verifier=verifier)
    [account] = await masto.accounts(flow.http, tokens)
    assert account.username == "erin" and account.network_unique_id == f"{user['id']}@127.0.0.1"
    # The account comes with its instance's status limit, which its posts are held to.
    assert account.limits == AccountLimits(max_characters=500)


async def test_a_mastodon_account_comes_with_its_instances_limit(flow: Flow) -> None:
    connected = await flow.connect("mastodon")
    masto, tokens = connected.provider, connected.tokens
    flow.sim.configure("mastodon", max_characters=1000)
    assert (await masto.identity(flow.http, tokens.access_token)).limits == AccountLimits(max_characters=1000)
    # An instance older than 4.0 says it in /api/v1/instance.
    asked_v1 = len(flow.sim.requests("mastodon", "instance_v1"))
    flow.sim.fault("mastodon", "instance", "status", status=404, body={"error": "Record not found"})
    assert (await masto.identity(flow.http, tokens.access_token)).limits == AccountLimits(max_characters=1000)
    assert len(flow.sim.requests("mastodon", "instance_v1")) == asked_v1 + 1
    # An instance that will not say now does not stop the account: its limit is not known.
    flow.sim.fault("mastodon", "instance", "server_error")
    account = await masto.identity(flow.http, tokens.access_token)
    assert account.username and account.limits == AccountLimits()


def test_mastodon_per_instance_urls() -> None:
    unbound = provider("mastodon")
    app = AppCredentials("c", "s", CALLBACK, instance_url="https://mastodon.social/")
    assert unbound.authorization_url(app, state="s", code_challenge="c" * 43, scopes=()).startswith(
        "https://mastodon.social/oauth/authorize?"
    )
    bound = provider("mastodon", instance_url="https://fosstodon.org")
    assert isinstance(bound, MastodonProvider) and bound.url("api", "/x") == "https://fosstodon.org/x"
    with pytest.raises(OAuthError) as raised:
        unbound.authorization_url(AppCredentials("c", "s", CALLBACK), state="s", code_challenge="c", scopes=())
    assert raised.value.code == "instance_required"
