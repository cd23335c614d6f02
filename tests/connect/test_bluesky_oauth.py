"""Bluesky through atproto OAuth, end to end in connect: an organization whose Bluesky app is a
client metadata URL starts a flow (a pushed request with PKCE and a DPoP key made for the account),
the user consents at the PDS's authorization server, the callback redeems the code with the key
kept sealed with the state, and the account's tokens stay bound to that key: the publisher gets
the key with the token over the RPC, a refused token is renewed with a DPoP proof, and a grant
the user revoked makes the account token_expired."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

import httpx
import pytest

from crier.connect.adapters.providers import Providers
from crier.connect.domain.flows import digest
from crier.connect.handlers import apps, credentials, flows
from crier.contracts import connect as api
from crier.kit.errors import Failure
from crier.platforms.atproto.oauth import Bound
from crier.platforms.base import PlatformSettings

from .conftest import CALLBACK, CUSTOMER, Harness, Org, landing


async def _oauth_org(h: Harness) -> tuple[Org, str]:
    org = await h.org()
    client_id = f"https://crier.test/oauth/client-metadata-{secrets.token_hex(3)}.json"
    h.sim.add_app("bluesky", client_id=client_id, redirect_uris=[CALLBACK])
    await apps.upsert(
        h.ctx, api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id=client_id, client_secret="-")
    )
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
    h = harness
    org = await h.org()
    auth_url = await h.start(org, "bluesky")
    assert auth_url.startswith(f"{h.ctx.public_url}/connect/app-password?state=")
    # an app whose id is no client metadata URL is no atproto OAuth client either
    await apps.upsert(
        h.ctx, api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id="cid-1", client_secret="s")
    )
    assert (await h.start(org, "bluesky")).startswith(f"{h.ctx.public_url}/connect/app-password?state=")


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
