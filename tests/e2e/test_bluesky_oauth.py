"""Bluesky through atproto OAuth over the public API of a whole stack: the gateway serves the client
metadata document, and an organization registers its URL as its Bluesky app (no secret). The
simulated authorization server knows nothing of that client beforehand: it fetches the document
from the gateway when the request is pushed and checks it as a real one does. The callback's `iss`
goes through the gateway to connect, which refuses a code from any other issuer.

The stack's public URL is `http://localhost:<port>`: atproto takes http only from a client in
development on localhost, so the document's URL is a client id there (an https Crier is one anyway)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from crier.contracts import connect as api
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra, Org, Stack, start_stack

CUSTOMER = "https://customer.test/bluesky/return"


@dataclass
class Env:
    stack: Stack
    sim: Simulator

    @property
    def client_id(self) -> str:
        return f"{self.stack.api_url}{api.BLUESKY_CLIENT_METADATA_PATH}"


@pytest.fixture(scope="module")
def env(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sim = start_simulator()
    stack = start_stack(
        infra,
        tmp_path_factory.mktemp("bluesky-oauth"),
        {"CRIER_PLATFORM_BASE_URL": sim.base_url},
        public_host="localhost",
    )
    yield Env(stack, sim)
    stack.supervisor.stop_all()
    sim.stop()


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _org_with_a_client(env: Env, client_id: str) -> Org:
    org = env.stack.new_org("bsky")
    with org.live() as live:
        assert live.post("/redirect-uris", json={"uri": CUSTOMER}).status_code == 201
        r = live.post("/social-networks", json={"platform": "bluesky", "client_id": client_id})
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == client_id and "client_secret" not in r.json()
    return org


def _auth_url(org: Org) -> httpx.Response:
    with org.live() as live:
        return live.post("/social-networks/bluesky/auth-url", json={"redirect_uri": CUSTOMER, "tenant_id": "t1"})


def _consent(env: Env, auth_url: str) -> str:
    """The user at the authorization server: where it sends the browser back to (Crier's callback)."""
    with httpx.Client(timeout=15) as browser:
        at_server = browser.get(auth_url)
    assert at_server.status_code == 302, at_server.text
    return at_server.headers["location"]


def _callback(url: str) -> dict[str, str]:
    """The browser at Crier's callback: what the customer's page is sent."""
    with httpx.Client(timeout=30) as browser:
        back = browser.get(url)
    assert back.status_code == 303 and back.headers["location"].startswith(CUSTOMER), back.text
    return _query(back.headers["location"])


def test_the_client_metadata_document_is_public_and_cacheable(env: Env) -> None:
    api_url = env.stack.api_url
    r = httpx.get(env.client_id)  # no API key: authorization servers fetch it
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "public, max-age=600"
    # the fields the atproto OAuth spec lists for a public web client
    assert r.json() == {
        "client_id": env.client_id,
        "client_name": "Crier",
        "client_uri": api_url,
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [f"{api_url}/api/v1/connect/callback"],
        "scope": "atproto transition:generic",
        "token_endpoint_auth_method": "none",
        "dpop_bound_access_tokens": True,
    }


def test_an_org_connects_through_the_document_crier_serves(env: Env) -> None:
    org = _org_with_a_client(env, env.client_id)
    user = env.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}.example.com", display_name="Grace")
    r = _auth_url(org)
    assert r.status_code == 200, r.text
    auth_url = r.json()["auth_url"]
    assert auth_url.startswith(f"{env.sim.base_url}/bluesky/oauth/authorize?")
    assert env.sim.requests("bluesky", "par")[-1]["form"]["client_id"] == env.client_id
    callback = _consent(env, auth_url)
    assert callback.startswith(f"{env.stack.api_url}{api.CALLBACK_PATH}?")
    assert _query(callback)["iss"] == f"{env.sim.base_url}/bluesky"
    landing = _callback(callback)
    assert landing["status"] == "connected", landing
    with org.live() as live:
        account = live.get(f"/social-accounts/{landing['account_id']}").json()
        [network] = live.get("/social-networks").json()["data"]
    assert (account["platform"], account["network_unique_id"]) == ("bluesky", user["id"])
    assert (account["display_name"], account["social_network_id"]) == ("Grace", network["id"])


def test_a_code_from_another_issuer_is_refused(env: Env) -> None:
    org = _org_with_a_client(env, env.client_id)
    env.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}.example.com")
    callback = _consent(env, _auth_url(org).json()["auth_url"])
    tampered = urlsplit(callback)._replace(query=urlencode({**_query(callback), "iss": "https://elsewhere.example"}))
    redeemed = len(env.sim.requests("bluesky", "token"))
    landing = _callback(urlunsplit(tampered))
    assert (landing["status"], landing["error_code"]) == ("error", "invalid_issuer")
    assert len(env.sim.requests("bluesky", "token")) == redeemed


def test_a_document_that_is_not_at_the_client_s_own_url_is_refused_by_the_server(env: Env) -> None:
    """What the happy path relies on: the server checks the document names the URL it came from."""
    org = _org_with_a_client(env, f"{env.client_id}?copy=1")
    r = _auth_url(org)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_client_metadata", r.text
