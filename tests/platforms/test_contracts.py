"""The simulator answers in the shapes the platforms publish, and the providers ask for fields
those contracts know: checked against `../shared/platform-contracts`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crier.platforms.mastodon import register_app

from .conftest import CALLBACK, Flow
from .contracts import ROOT, discovery_errors, lexicon_errors, load, meta_errors, openapi_errors

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")


async def _get(flow: Flow, platform: str, path: str, token: str, **params: str) -> Any:
    resp = await flow.http.get(
        f"{flow.sim.base_url}/{platform}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_x_users_me(flow: Flow) -> None:
    conn = await flow.connect("x")
    await conn.provider.identity(flow.http, conn.tokens.access_token)
    asked = flow.sim.requests("x", "me")[-1]["query"]["user.fields"].split(",")
    known = load("x/openapi.json")["components"]["parameters"]["UserFieldsParameter"]["schema"]["items"]["enum"]
    assert set(asked) <= set(known)
    body = await _get(flow, "x", "/2/users/me", conn.tokens.access_token, **{"user.fields": ",".join(asked)})
    assert openapi_errors("x/openapi.json", "GetUsersMeResponse", body) == []
    assert openapi_errors("x/openapi.json", "GetUsersMeResponse", {"data": {"id": 5}}) != []  # the check bites


async def test_pinterest_user_account_and_tokens(flow: Flow) -> None:
    conn = await flow.connect("pinterest")
    body = await _get(flow, "pinterest", "/v5/user_account", conn.tokens.access_token)
    assert openapi_errors("pinterest/openapi.json", "Account", body) == []
    resp = await flow.http.post(
        f"{flow.sim.base_url}/pinterest/v5/oauth/token",
        auth=(conn.app.client_id, conn.app.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": conn.tokens.refresh_token},
    )
    assert openapi_errors("pinterest/openapi.json", "OauthAccessTokenResponseRefresh", resp.json()) == []
    failed = await flow.http.post(
        f"{flow.sim.base_url}/pinterest/v5/oauth/token",
        auth=("nobody", "x"),
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert failed.status_code == 401 and openapi_errors("pinterest/openapi.json", "Error", failed.json()) == []


async def test_mastodon_app_token_and_account(flow: Flow) -> None:
    raw = await flow.http.post(
        f"{flow.sim.base_url}/mastodon/api/v1/apps",
        json={"client_name": "Crier", "redirect_uris": CALLBACK, "scopes": "read:accounts"},
    )
    assert openapi_errors("mastodon/schema.json", "CredentialApplication", raw.json()) == []
    registered = await register_app(flow.http, f"{flow.sim.base_url}/mastodon", CALLBACK)
    flow.sim.add_user("mastodon", username="frank")
    from crier.platforms.oauth import AppCredentials

    app = AppCredentials(registered.client_id, registered.client_secret, CALLBACK)
    masto = flow.provider("mastodon")
    _, params = await flow.authorize(masto, app, verifier="m" * 50)
    token = await flow.http.post(
        f"{flow.sim.base_url}/mastodon/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": CALLBACK,
            "code_verifier": "m" * 50,
        },
    )
    assert openapi_errors("mastodon/schema.json", "Token", token.json()) == []
    me = await _get(flow, "mastodon", "/api/v1/accounts/verify_credentials", token.json()["access_token"])
    assert openapi_errors("mastodon/schema.json", "CredentialAccount", me) == []
    refused = await flow.http.get(
        f"{flow.sim.base_url}/mastodon/api/v1/accounts/verify_credentials", headers={"Authorization": "Bearer nope"}
    )
    assert refused.status_code == 401 and openapi_errors("mastodon/schema.json", "Error", refused.json()) == []


async def test_youtube_channels_list(flow: Flow) -> None:
    conn = await flow.connect("youtube", pages=2)
    body = await _get(flow, "youtube", "/youtube/v3/channels", conn.tokens.access_token, part="snippet", mine="true")
    assert discovery_errors("youtube/youtube.v3.json", "ChannelListResponse", body) == []
    assert discovery_errors("youtube/youtube.v3.json", "ChannelListResponse", {"items": [{"bogus": 1}]}) != []


async def test_google_business_accounts_and_locations(flow: Flow) -> None:
    conn = await flow.connect("google_business", pages=3)
    accounts = await _get(flow, "google_business", "/v1/accounts", conn.tokens.access_token)
    assert (
        discovery_errors(
            "google-business-profile/mybusinessaccountmanagement.v1.json", "ListAccountsResponse", accounts
        )
        == []
    )
    account = accounts["accounts"][0]["name"]
    locations = await _get(
        flow,
        "google_business",
        f"/v1/{account}/locations",
        conn.tokens.access_token,
        readMask="name,title,storefrontAddress,metadata",
    )
    assert len(locations["locations"]) == 3
    assert (
        discovery_errors(
            "google-business-profile/mybusinessbusinessinformation.v1.json", "ListLocationsResponse", locations
        )
        == []
    )


async def test_bluesky_sessions_and_profile(flow: Flow) -> None:
    flow.sim.add_user("bluesky", username="gina", app_password="pw-1")
    base = f"{flow.sim.base_url}/bluesky/xrpc"
    created = (
        await flow.http.post(
            f"{base}/com.atproto.server.createSession", json={"identifier": "gina.bsky.social", "password": "pw-1"}
        )
    ).json()
    assert lexicon_errors("com.atproto.server.createSession", created) == []
    auth = {"Authorization": f"Bearer {created['accessJwt']}"}
    session = (await flow.http.get(f"{base}/com.atproto.server.getSession", headers=auth)).json()
    assert lexicon_errors("com.atproto.server.getSession", session) == []
    profile = (
        await flow.http.get(f"{base}/app.bsky.actor.getProfile", params={"actor": created["did"]}, headers=auth)
    ).json()
    assert lexicon_errors("app.bsky.actor.getProfile", profile) == []
    refreshed = (
        await flow.http.post(
            f"{base}/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {created['refreshJwt']}"}
        )
    ).json()
    assert lexicon_errors("com.atproto.server.refreshSession", refreshed) == []
    assert lexicon_errors("com.atproto.server.getSession", {"handle": 1}) != []


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
async def test_graph_me_and_pages(flow: Flow, platform: str) -> None:
    conn = await flow.connect(platform, pages=2, instagram=True)
    me = await _get(
        flow, platform, "/v23.0/me", conn.tokens.access_token, fields="id,name,email,picture{url}", metadata="1"
    )
    assert meta_errors("User", me) == []
    page_fields = (
        "id,name,username,category,access_token,tasks,picture{url},"
        "instagram_business_account{id,username,name,profile_picture_url}"
    )
    pages = await _get(flow, platform, "/v23.0/me/accounts", conn.tokens.access_token, fields=page_fields)
    for page in pages["data"]:
        assert meta_errors("Page", page) == []
    assert meta_errors("Page", {"id": "1", "bogus_field": 1}) != []


def test_contract_files_name_the_endpoints_the_providers_use() -> None:
    """The paths the providers call exist in the specs that have them."""
    assert "/2/users/me" in load("x/openapi.json")["paths"]
    assert "/user_account" in load("pinterest/openapi.json")["paths"]
    assert {"/api/v1/apps", "/oauth/token", "/oauth/revoke", "/api/v1/accounts/verify_credentials"} <= set(
        load("mastodon/schema.json")["paths"]
    )
    schemes = load("pinterest/openapi.json")["components"]["securitySchemes"]["pinterest_oauth2"]["flows"]
    assert schemes["authorizationCode"]["tokenUrl"] == "https://api.pinterest.com/v5/oauth/token"
    x_scopes = load("x/openapi.json")["components"]["securitySchemes"]["OAuth2UserToken"]["flows"]
    from crier.platforms import provider

    assert set(provider("x").default_scopes) <= set(x_scopes["authorizationCode"]["scopes"])
    assert set(provider("pinterest").default_scopes) <= set(schemes["authorizationCode"]["scopes"])
    assert x_scopes["authorizationCode"]["tokenUrl"] == "https://api.x.com/2/oauth2/token"
    youtube = load("youtube/youtube.v3.json")
    assert youtube["rootUrl"] == "https://youtube.googleapis.com/" or youtube["rootUrl"].startswith("https://")
    assert set(provider("youtube").default_scopes) <= set(youtube["auth"]["oauth2"]["scopes"])


def _unused(_: httpx.Response) -> None:  # keep httpx imported for type checkers of _get
    return None
