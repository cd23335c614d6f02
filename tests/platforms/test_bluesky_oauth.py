"""atproto OAuth against the simulated PDS, which is its own authorization server: discovery, a
pushed request with PKCE, DPoP proofs with the account's own key and the server's nonce, tokens
bound to that key (refresh rotating), and publishing with them: a token without its key is
worth nothing."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from crier.contracts.connect import AccountToken
from crier.platforms.atproto import dpop
from crier.platforms.atproto.oauth import SCOPE, Bound, client_metadata, is_client_id
from crier.platforms.base import PlatformSettings, TokenRejected
from crier.platforms.bluesky import BlueskyProvider
from crier.platforms.oauth import AppCredentials, GrantRevoked, OAuthError, TokenSet

from .conftest import CALLBACK, Flow
from .publishing import Publishing, adapter_for


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _authorize(flow: Flow, bsky: BlueskyProvider, app: AppCredentials) -> tuple[str, dict[str, str], str]:
    """(authorization URL, what came back to the callback, the secret kept for it)."""
    state = secrets.token_urlsafe(8)
    url, secret = await bsky.begin(flow.http, app, state=state)
    resp = await flow.http.get(url)
    assert resp.status_code == 302, resp.text
    back = _query(resp.headers["location"])
    assert resp.headers["location"].startswith(CALLBACK) and back["state"] == state
    return url, back, secret


async def _connected(flow: Flow, **user: Any) -> tuple[BlueskyProvider, AppCredentials, dict[str, Any], TokenSet]:
    bsky = flow.provider("bluesky")
    app = flow.app("bluesky")
    person = flow.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}", **user)
    _, back, secret = await _authorize(flow, bsky, app)
    return (
        bsky,
        app,
        person,
        await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=secret, iss=back["iss"]),
    )


async def test_a_pushed_request_then_dpop_bound_tokens(flow: Flow) -> None:
    bsky = flow.provider("bluesky")
    app = flow.app("bluesky")
    user = flow.sim.add_user("bluesky", username="ada.example.com", display_name="Ada")
    pushes = len(flow.sim.requests("bluesky", "par"))
    url, back, secret = await _authorize(flow, bsky, app)
    pds = f"{flow.sim.base_url}/bluesky"
    # only the client and the pushed request's URI travel through the browser
    assert url.startswith(f"{pds}/oauth/authorize?") and set(_query(url)) == {"client_id", "request_uri"}
    assert back["iss"] == pds
    par = flow.sim.requests("bluesky", "par")[pushes:]
    assert len(par) == 2  # refused for want of the server's nonce, then accepted with it
    form = par[-1]["form"]
    assert (form["code_challenge_method"], form["scope"], form["client_id"]) == ("S256", SCOPE, app.client_id)
    assert "code_verifier" not in form and json.loads(secret)["verifier"] not in url

    tokens = await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=secret, iss=back["iss"])
    access, refresh = Bound.decode(tokens.access_token), Bound.decode(tokens.refresh_token)
    assert access is not None and refresh is not None and access.key == refresh.key == json.loads(secret)["key"]
    assert refresh.token_endpoint == f"{pds}/oauth/token" and refresh.issuer == pds
    assert tokens.token_type == "dpop" and tokens.extra == {"did": user["id"], "pds_url": pds}
    assert tokens.expires_at is not None and set(tokens.scopes) == {"atproto", "transition:generic"}

    [account] = await bsky.accounts(flow.http, tokens)
    assert (account.network_unique_id, account.username, account.display_name) == (
        user["id"],
        "ada.example.com",
        "Ada",
    )
    seen = flow.sim.requests("bluesky", "getSession")[-1]
    assert seen["authorization"] == f"DPoP {access.token}"


async def test_refresh_rotates_with_the_same_key_and_revoking_ends_the_grant(flow: Flow) -> None:
    bsky, app, _, tokens = await _connected(flow)
    renewed = await bsky.refresh(flow.http, app, tokens.refresh_token or "")
    assert renewed.access_token != tokens.access_token and renewed.refresh_token != tokens.refresh_token
    assert Bound.decode(renewed.access_token).key == Bound.decode(tokens.access_token).key  # type: ignore[union-attr]
    with pytest.raises(GrantRevoked):  # the old refresh token was spent
        await bsky.refresh(flow.http, app, tokens.refresh_token or "")
    # a refresh token is worth nothing with another key
    stolen = replace(Bound.decode(renewed.refresh_token), key=dpop.new_key())  # type: ignore[type-var]
    with pytest.raises(GrantRevoked):
        await bsky.refresh(flow.http, app, stolen.encode())
    await bsky.revoke(flow.http, app, renewed.refresh_token or "")
    with pytest.raises(GrantRevoked):
        await bsky.refresh(flow.http, app, renewed.refresh_token or "")


async def test_a_code_is_redeemed_once_with_its_verifier_and_key(flow: Flow) -> None:
    bsky = flow.provider("bluesky")
    app = flow.app("bluesky")
    flow.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}")
    _, back, secret = await _authorize(flow, bsky, app)
    wrong_verifier = json.dumps({**json.loads(secret), "verifier": "x" * 50})
    with pytest.raises(GrantRevoked):
        await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=wrong_verifier, iss=back["iss"])
    _, back, secret = await _authorize(flow, bsky, app)
    other_key = json.dumps({**json.loads(secret), "key": dpop.new_key()})
    with pytest.raises(OAuthError) as unbound:
        await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=other_key, iss=back["iss"])
    assert unbound.value.code == "invalid_dpop_key_binding"
    _, back, secret = await _authorize(flow, bsky, app)
    await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=secret, iss=back["iss"])
    with pytest.raises(GrantRevoked):
        await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=secret, iss=back["iss"])
    with pytest.raises(OAuthError) as nothing_pushed:
        await bsky.exchange_code(flow.http, app, code=back["code"], code_verifier=None, iss=back["iss"])
    assert nothing_pushed.value.code == "pkce_required"


async def test_a_client_the_server_does_not_know_and_a_denial(flow: Flow) -> None:
    bsky = flow.provider("bluesky")
    stranger = AppCredentials("https://nowhere.example/client-metadata.json", "", CALLBACK)
    with pytest.raises(OAuthError) as refused:
        await bsky.begin(flow.http, stranger, state="s")
    assert refused.value.code == "invalid_client"
    with pytest.raises(OAuthError) as clientless:
        await bsky.begin(flow.http, AppCredentials("", "", CALLBACK), state="s")
    assert clientless.value.code == "app_password_flow"
    app = flow.app("bluesky")
    flow.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}")
    flow.sim.consent("bluesky", "deny")
    url, _ = await bsky.begin(flow.http, app, state="s2")
    denied = _query((await flow.http.get(url)).headers["location"])
    assert denied["error"] == "access_denied" and denied["state"] == "s2"


def test_the_client_metadata_document() -> None:
    doc = client_metadata("https://crier.example/client-metadata.json", [CALLBACK])
    assert doc["client_id"] == "https://crier.example/client-metadata.json" and doc["redirect_uris"] == [CALLBACK]
    assert doc["dpop_bound_access_tokens"] is True and doc["token_endpoint_auth_method"] == "none"
    assert "atproto" in doc["scope"].split() and set(doc["grant_types"]) == {"authorization_code", "refresh_token"}
    assert is_client_id("https://crier.example/client-metadata.json") and is_client_id("http://localhost")
    assert not any(is_client_id(v) for v in ("cid-123", "http://crier.example/c.json", "", "https://"))


# -- publishing with DPoP-bound tokens --------------------------------------------------------


async def _publishing(flow: Flow) -> tuple[Publishing, TokenSet]:
    bsky, _, user, tokens = await _connected(flow)
    [me] = await bsky.accounts(flow.http, tokens)
    account = AccountToken(
        account_id=f"acc_{secrets.token_hex(4)}",
        platform="bluesky",
        access_token=tokens.access_token,
        expires_at=tokens.expires_at,
        network_unique_id=me.network_unique_id,
        username=me.username or "",
        account_type="profile",
        instance_url=tokens.extra["pds_url"],
        extra={"did": me.network_unique_id},
    )
    settings = PlatformSettings(base_url_override=flow.sim.base_url, timeout_s=5)
    adapter = adapter_for("bluesky", flow.http, settings)
    return Publishing("bluesky", flow.sim, flow.http, user, account, settings, adapter), tokens


async def test_posts_and_replies_go_out_with_dpop_proofs(flow: Flow) -> None:
    bsky, tokens = await _publishing(flow)
    creates = len(flow.sim.requests("bluesky", "createRecord"))
    await bsky.publish(bsky.context("posted over OAuth", "and its reply"))
    assert [p["text"] for p in bsky.posts()] == ["posted over OAuth", "and its reply"]
    sent = flow.sim.requests("bluesky", "createRecord")[creates:]
    raw = Bound.decode(tokens.access_token).token  # type: ignore[union-attr]
    # the first call learnt the PDS's nonce from its refusal; the adapter kept it for the next
    assert len(sent) == 3 and all(r["authorization"] == f"DPoP {raw}" for r in sent)


async def test_a_token_without_its_key_or_with_its_grant_gone_is_refused(flow: Flow) -> None:
    bsky, tokens = await _publishing(flow)
    raw = Bound.decode(tokens.access_token).token  # type: ignore[union-attr]
    as_bearer = replace(bsky.context("x"), account=msgspec.structs.replace(bsky.account, access_token=raw))
    with pytest.raises(TokenRejected):
        await bsky.publish(as_bearer)
    other_key = Bound(raw, dpop.new_key()).encode()
    with_another_key = replace(bsky.context("x"), account=msgspec.structs.replace(bsky.account, access_token=other_key))
    with pytest.raises(TokenRejected):
        await bsky.publish(with_another_key)
    flow.sim.revoke_grants("bluesky", bsky.user["id"])
    with pytest.raises(TokenRejected):
        await bsky.publish(bsky.context("x"))
    assert bsky.posts() == []


async def test_a_dpop_proof_is_checked_as_the_spec_says(flow: Flow) -> None:
    _, tokens = await _publishing(flow)
    bound = Bound.decode(tokens.access_token)
    assert bound is not None
    url = f"{flow.sim.base_url}/bluesky/xrpc/com.atproto.server.getSession"

    async def call(proof: str) -> httpx.Response:
        return await flow.http.get(url, headers={"Authorization": f"DPoP {bound.token}", "DPoP": proof})

    first = await call(dpop.proof(bound.key, "GET", url, access_token=bound.token))
    assert first.status_code == 401 and first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["dpop-nonce"]
    assert 'error="use_dpop_nonce"' in first.headers["www-authenticate"]
    good = dpop.proof(bound.key, "GET", url, nonce=nonce, access_token=bound.token)
    assert (await call(good)).status_code == 200
    assert (await call(good)).json()["error"] == "invalid_dpop_proof"  # a proof is used once
    wrong_url = dpop.proof(bound.key, "GET", url + "x", nonce=nonce, access_token=bound.token)
    wrong_method = dpop.proof(bound.key, "POST", url, nonce=nonce, access_token=bound.token)
    wrong_token = dpop.proof(bound.key, "GET", url, nonce=nonce, access_token="another")
    for bad in (wrong_url, wrong_method, wrong_token, good[:-4] + "AAAA"):
        answer = await call(bad)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_dpop_proof", answer.text
