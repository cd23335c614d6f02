"""Bluesky through atproto OAuth, end to end in connect: an organization whose Bluesky app is a
client metadata URL starts a flow (a pushed request with PKCE and a DPoP key made for the account),
the user consents at the PDS's authorization server, the callback redeems the code with the key
kept sealed with the state, and the account's tokens stay bound to that key: the publisher gets
the key with the token over the RPC, a refused token is renewed with a DPoP proof, and a grant
the user revoked makes the account token_expired. A client has no secret; an https Crier is a
client of its own; the callback's `iss` must name the server the request was pushed to; and no
database connection is held while the request is pushed."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

import httpx
import msgspec
import pytest

from crier.connect.adapters.providers import Providers
from crier.connect.domain.flows import digest
from crier.connect.handlers import accounts, apps, credentials, flows, sessions
from crier.connect.settings import BLUESKY_APP_PASSWORDS, ConnectSettings
from crier.contracts import connect as api
from crier.kit.errors import Failure
from crier.platforms.atproto.oauth import Bound
from crier.platforms.base import PlatformSettings

from .conftest import CALLBACK, CUSTOMER, PUBLIC_URL, Harness, Org, app_passwords, landing, with_settings


async def _oauth_org(h: Harness) -> tuple[Org, str]:
    """An org whose Bluesky app is a client: its metadata URL and nothing else (a public client
    has no secret). The simulated server knows it beforehand, as crier.test cannot be fetched."""
    org = await h.org()
    client_id = f"https://crier.test/oauth/client-metadata-{secrets.token_hex(3)}.json"
    h.sim.add_app("bluesky", client_id=client_id, redirect_uris=[CALLBACK])
    await apps.upsert(h.ctx, api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id=client_id))
    return org, client_id


async def test_an_app_with_a_client_connects_through_atproto_oauth(harness: Harness) -> None:
    h = harness
    org, client_id = await _oauth_org(h)
    user = h.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}.example.com", display_name="Grace")
    auth_url = await h.start(org, "bluesky")
    assert auth_url.startswith(f"{h.sim.base_url}/bluesky/oauth/authorize?client_id=")
    assert h.sim.requests("bluesky", "par")[-1]["form"]["client_id"] == client_id
    [state_row] = await h.rows("SELECT code_verifier_enc FROM oauth_states ORDER BY created_at DESC LIMIT 1")
    assert "verifier" not in state_row.code_verifier_enc  # the key and verifier are sealed

    outcome = await flows.callback(h.ctx, await h.authorize(auth_url))
    account_id = landing(outcome)["account_id"]
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    assert (row.network_unique_id, row.display_name, row.username) == (user["id"], "Grace", user["username"])
    assert row.instance_url == f"{h.sim.base_url}/bluesky"
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    bound = Bound.decode(token.access_token)
    assert bound is not None and json.loads(bound.key)["d"]  # the publisher gets the key with the token
    assert token.extra == {"did": user["id"]}
    # at rest, neither the token nor its key is readable
    stored = str(await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id))
    assert bound.token not in stored and json.loads(bound.key)["d"] not in stored

    # the publisher had the token refused: connect renews it once, with a proof of the same key
    renewals = len(h.sim.requests("bluesky", "token"))
    rejected = api.TokenRequest(**org.scoped(), account_id=account_id, rejected_sha256=digest(token.access_token))
    renewed = await credentials.account_token(h.ctx, rejected)
    assert renewed.access_token != token.access_token
    assert Bound.decode(renewed.access_token).key == bound.key  # type: ignore[union-attr]
    assert [r["form"]["grant_type"] for r in h.sim.requests("bluesky", "token")[renewals:]][-1] == "refresh_token"

    # the user revokes Crier: the next refusal finds the grant gone
    h.sim.revoke_grants("bluesky", user["id"])
    gone = api.TokenRequest(**org.scoped(), account_id=account_id, rejected_sha256=digest(renewed.access_token))
    with pytest.raises(Failure) as expired:
        await credentials.account_token(h.ctx, gone)
    assert expired.value.code == "account_token_expired"
    [row] = await h.rows("SELECT status FROM social_accounts WHERE id = :i", i=account_id)
    assert row.status == "token_expired"
    assert await h.outbox("evt.account.token_expired")


async def test_without_a_client_bluesky_keeps_the_app_password_page(harness: Harness) -> None:
    h = app_passwords(harness)
    org = await h.org()
    auth_url = await h.start(org, "bluesky")
    assert auth_url.startswith(f"{h.ctx.public_url}/connect/app-password?state=")
    # a Crier that is not https is no client of its own: its document could not be fetched
    plain = with_settings(harness, public_url="http://127.0.0.1:8080")
    assert (await plain.start(org, "bluesky")).startswith("http://127.0.0.1:8080/connect/app-password?state=")
    # an app whose id is no client metadata URL is no atproto OAuth client either, and needs its secret
    with pytest.raises(Failure) as secretless:
        await apps.upsert(h.ctx, api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id="cid-1"))
    assert [f["field"] for f in secretless.value.details["fields"]] == ["client_id"]
    await apps.upsert(
        h.ctx, api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id="cid-1", client_secret="s")
    )
    assert (await h.start(org, "bluesky")).startswith(f"{h.ctx.public_url}/connect/app-password?state=")


def test_an_https_crier_is_a_bluesky_client_of_its_own() -> None:
    """Its id is the URL of the client metadata document the gateway serves; an operator's own id
    wins, and `app-password` keeps app passwords."""
    derived = "https://crier.example/api/v1/connect/bluesky/client-metadata.json"
    assert ConnectSettings(public_url="https://crier.example/").managed_app("bluesky") == (derived, "", None)
    assert ConnectSettings(public_url="http://127.0.0.1:8080").managed_app("bluesky") is None
    own = ConnectSettings(public_url="https://crier.example", managed_bluesky_client_id="https://id.example/c.json")
    assert own.managed_app("bluesky") == ("https://id.example/c.json", "", None)
    chose = ConnectSettings(public_url="https://crier.example", managed_bluesky_client_id=BLUESKY_APP_PASSWORDS)
    assert chose.managed_app("bluesky") is None
    assert ConnectSettings(public_url="https://crier.example").managed_app("x") is None


async def test_without_an_app_of_its_own_an_org_connects_through_crier_s_client(harness: Harness) -> None:
    h = harness
    client_id = f"{PUBLIC_URL}{api.BLUESKY_CLIENT_METADATA_PATH}"
    h.sim.add_app("bluesky", client_id=client_id, redirect_uris=[CALLBACK])  # as if fetched from crier.test
    org = await h.org()
    user = h.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}.example.com")
    auth_url = await h.start(org, "bluesky")
    assert auth_url.startswith(f"{h.sim.base_url}/bluesky/oauth/authorize?")
    form = h.sim.requests("bluesky", "par")[-1]["form"]
    assert (form["client_id"], form["redirect_uri"]) == (client_id, CALLBACK)
    account_id = landing(await flows.callback(h.ctx, await h.authorize(auth_url)))["account_id"]
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    assert (row.network_unique_id, row.social_network_id) == (user["id"], None)
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert Bound.decode(token.access_token) is not None
    # Disconnected, it is no one's to renew: the refresher tests count every due account's renewals.
    await accounts.delete(h.ctx, api.AccountRef(**org.scoped(), id=account_id))


@pytest.mark.parametrize("iss", ["https://elsewhere.example", None])
async def test_a_code_from_another_issuer_is_refused_before_it_is_redeemed(harness: Harness, iss: str | None) -> None:
    """RFC 9207: the callback's `iss` must be the server the request was pushed to, else a mix-up
    could send the code (with the account's proof) to the wrong token endpoint."""
    h = harness
    org, _ = await _oauth_org(h)
    h.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}")
    back = await h.authorize(await h.start(org, "bluesky"))
    assert back.iss == f"{h.sim.base_url}/bluesky"
    redeemed = len(h.sim.requests("bluesky", "token"))
    outcome = landing(await flows.callback(h.ctx, msgspec.structs.replace(back, iss=iss)))
    assert (outcome["status"], outcome["error_code"]) == ("error", "invalid_issuer")
    assert len(h.sim.requests("bluesky", "token")) == redeemed  # the code went nowhere
    # the state is spent: the same answer with the right issuer is a replay now
    assert landing(await flows.callback(h.ctx, back))["error_code"] == "invalid_state"


async def test_no_database_connection_is_held_while_the_request_is_pushed(harness: Harness) -> None:
    """The pushed request is a call to a server that may be slow: a flow's start (through the API
    and through a hosted session) makes it between its visits to the database, holding none of the
    pool's connections (nor a transaction) meanwhile."""
    held: list[int] = []
    pool = harness.ctx.uow.engine.sync_engine.pool

    async def at_par(request: httpx.Request) -> None:
        if request.url.path.endswith("/oauth/par"):
            held.append(pool.checkedout())  # type: ignore[attr-defined]

    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [at_par]}) as http:
        providers = Providers(
            http, public_url=PUBLIC_URL, platforms=PlatformSettings(base_url_override=harness.sim.base_url)
        )
        h = Harness(replace(harness.ctx, providers=providers), harness.sim, harness.clock, harness.http)
        org, _ = await _oauth_org(h)
        assert (await h.start(org, "bluesky")).startswith(f"{h.sim.base_url}/bluesky/oauth/authorize?")
        hosted = await sessions.create(
            h.ctx, api.SessionCreate(**org.scoped(), platform="bluesky", redirect_uri=CUSTOMER)
        )
        token = (hosted.connect_url or "").split("session=", 1)[1]
        begun = await sessions.hosted_begin(h.ctx, api.HostedToken(token=token))
        assert begun.auth_url.startswith(f"{h.sim.base_url}/bluesky/oauth/authorize?")
    assert held and set(held) == {0}, held


async def test_a_denial_at_the_authorization_server_comes_back_as_user_denied(harness: Harness) -> None:
    h = harness
    org, _ = await _oauth_org(h)
    h.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}")
    h.sim.consent("bluesky", "deny")
    outcome = await flows.callback(h.ctx, await h.authorize(await h.start(org, "bluesky")))
    assert landing(outcome)["error_code"] == "user_denied"


async def test_an_authorization_server_that_does_not_answer_fails_the_start_not_later(harness: Harness) -> None:
    h = harness
    org, _ = await _oauth_org(h)
    async with httpx.AsyncClient(timeout=2) as http:
        nowhere = Providers(
            http,
            public_url=h.ctx.settings.public_url,
            platforms=PlatformSettings(base_url_override="http://127.0.0.1:9"),
        )
        with pytest.raises(Failure) as away:
            await flows.auth_url(
                replace(h.ctx, providers=nowhere),
                api.AuthUrlRequest(**org.scoped(), platform="bluesky", redirect_uri=CUSTOMER),
            )
    assert away.value.kind == "unavailable" and away.value.code == "platform_unavailable"
