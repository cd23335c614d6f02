"""The provider registry, rebasing onto the simulator, real endpoints, and error classification
(no network)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crier.contracts.common import PLATFORMS
from crier.platforms import _oauth_http as oh
from crier.platforms import pkce, provider
from crier.platforms.facebook import graph_error
from crier.platforms.oauth import (
    AccessTokenInvalid,
    AppCredentials,
    GrantRevoked,
    OAuthError,
    OAuthUnavailable,
    PlatformEndpoints,
)
from crier.platforms.providers import UnknownPlatform

APP = AppCredentials(
    "cid", "secret", "https://crier.example/api/v1/connect/callback", instance_url="https://mastodon.social"
)
REAL_AUTHORIZE = {
    "x": "https://x.com/i/oauth2/authorize",
    "linkedin": "https://www.linkedin.com/oauth/v2/authorization",
    "facebook": "https://www.facebook.com/v23.0/dialog/oauth",
    "instagram": "https://www.facebook.com/v23.0/dialog/oauth",
    "youtube": "https://accounts.google.com/o/oauth2/v2/auth",
    "threads": "https://threads.net/oauth/authorize",
    "mastodon": "https://mastodon.social/oauth/authorize",
    "tiktok": "https://www.tiktok.com/v2/auth/authorize/",
    "pinterest": "https://www.pinterest.com/oauth/",
    "google_business": "https://accounts.google.com/o/oauth2/v2/auth",
}


def test_every_platform_has_a_provider() -> None:
    assert set(PLATFORMS) == {
        "x",
        "linkedin",
        "facebook",
        "instagram",
        "youtube",
        "threads",
        "bluesky",
        "mastodon",
        "tiktok",
        "pinterest",
        "google_business",
    }
    for platform in PLATFORMS:
        assert provider(platform).platform == platform
    with pytest.raises(UnknownPlatform):
        provider("myspace")


@pytest.mark.parametrize("platform", sorted(REAL_AUTHORIZE))
def test_real_authorization_endpoints(platform: str) -> None:
    url = provider(platform).authorization_url(APP, state="st", code_challenge="c" * 43, scopes=())
    base, _, query = url.partition("?")
    assert base == REAL_AUTHORIZE[platform]
    params = parse_qs(query)
    assert params["state"] == ["st"] and params["redirect_uri"] == [APP.redirect_uri]


def test_google_asks_for_offline_access_and_consent() -> None:
    for platform in ("youtube", "google_business"):
        params = parse_qs(
            urlsplit(provider(platform).authorization_url(APP, state="s", code_challenge="c" * 43, scopes=())).query
        )
        assert params["access_type"] == ["offline"] and params["prompt"] == ["consent"]


def test_rebasing_keeps_real_paths_on_every_host() -> None:
    sim = "http://127.0.0.1:9999/"
    gbp = provider("google_business", sim)
    assert gbp.url("token", "/token") == "http://127.0.0.1:9999/google_business/token"  # type: ignore[attr-defined]
    assert gbp.url("locations", "/v1/x") == "http://127.0.0.1:9999/google_business/v1/x"  # type: ignore[attr-defined]
    assert (
        provider("google_business").url("locations", "/v1/x")
        == "https://mybusinessbusinessinformation.googleapis.com/v1/x"
    )  # type: ignore[attr-defined]
    x = provider("x", sim)
    assert x.authorization_url(APP, state="s", code_challenge="c" * 43, scopes=()).startswith(
        "http://127.0.0.1:9999/x/i/oauth2/authorize?"
    )
    assert provider("x").url("api", "/2/users/me") == "https://api.x.com/2/users/me"  # type: ignore[attr-defined]
    masto = provider("mastodon", sim)
    assert masto.authorization_url(APP, state="s", code_challenge="c" * 43, scopes=()).startswith(
        "http://127.0.0.1:9999/mastodon/oauth/authorize?"
    )  # the app's instance is ignored under the simulator
    endpoints = PlatformEndpoints("https://a.example", "https://b.example", others=(("c", "https://c.example"),))
    assert endpoints.rebased("http://sim/p") == PlatformEndpoints(
        "http://sim/p", "http://sim/p", others=(("c", "http://sim/p"),)
    )


def test_pkce() -> None:
    verifier = pkce.new_verifier()
    assert 43 <= len(verifier) <= 128 and verifier != pkce.new_verifier()
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    # RFC 7636 appendix B's example
    assert (
        pkce.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_oauth2_error_classification() -> None:
    assert isinstance(oh.oauth2_error(400, {"error": "invalid_grant"}, "token"), GrantRevoked)
    client = oh.oauth2_error(401, {"error": "invalid_client"}, "token")
    assert client.code == "invalid_client" and not isinstance(client, GrantRevoked)
    scope = oh.oauth2_error(400, {"error": "invalid_scope", "error_description": "nope"}, "token")
    assert scope.code == "invalid_scope" and scope.message == "nope"
    assert oh.oauth2_error(422, {"error": "Validation failed: x"}, "token").code == "http_422"
    assert isinstance(oh.oauth2_error(401, "Unauthorized", "api"), AccessTokenInvalid)
    assert oh.oauth2_error(403, {}, "api").code == "insufficient_scope"


@pytest.mark.parametrize(
    ("body", "expected", "code"),
    [
        ({"error": {"code": 190, "error_subcode": 463, "message": "expired"}}, GrantRevoked, "grant_revoked"),
        ({"error": {"code": 100, "error_subcode": 36009, "message": "used"}}, GrantRevoked, "grant_revoked"),
        ({"error": {"code": 4, "message": "limit"}}, OAuthUnavailable, "rate_limited"),
        (
            {"error": {"code": 2, "message": "temporary", "is_transient": True}},
            OAuthUnavailable,
            "platform_unavailable",
        ),
        ({"error": {"code": 1, "message": "Error validating client secret."}}, OAuthError, "invalid_client"),
        ({"error": {"code": 200, "message": "permissions"}}, OAuthError, "permission_denied"),
        ({"error": {"code": 100, "message": "bad param"}}, OAuthError, "graph_100"),
    ],
)
def test_graph_error_classification(body: dict, expected: type, code: str) -> None:
    error = graph_error(400, body, "api")
    assert type(error) is expected and error.code == code


def test_retry_after_forms() -> None:
    assert oh.retry_after(httpx.Headers({"Retry-After": "12"})) == 12
    assert oh.retry_after(httpx.Headers({})) is None
    assert oh.retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert oh.retry_after(httpx.Headers({"Retry-After": "soon"})) is None


def test_token_set_parsing() -> None:
    tokens = oh.token_set(
        {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 60,
            "refresh_token_expires_in": "120",
            "scope": "a,b c",
            "token_type": "Bearer",
        }
    )
    assert tokens.scopes == ("a", "b", "c") and tokens.token_type == "bearer"
    assert tokens.expires_at and tokens.refresh_expires_at and tokens.refresh_expires_at > tokens.expires_at
    with pytest.raises(OAuthError) as raised:
        oh.token_set({"token_type": "bearer"})
    assert raised.value.code == "bad_token_response"
    assert oh.token_set({"access_token": "a", "expires_in": 0}).expires_at is None


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError, httpx.DecodingError]
)
async def test_every_http_failure_becomes_unavailable(failure: type[httpx.RequestError]) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise failure("no luck", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(boom)) as http:
        with pytest.raises(OAuthUnavailable) as raised:
            await provider("linkedin").identity(http, "t")
    assert isinstance(raised.value.__cause__, failure)


async def test_errors_in_a_200_body() -> None:

    def weird(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {}, "error": {"code": "access_token_invalid", "message": "x"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(weird)) as http:
        with pytest.raises(AccessTokenInvalid):  # TikTok reports errors in a 200 body
            await provider("tiktok").identity(http, "t")


def test_the_configured_api_versions_reach_the_providers() -> None:
    from crier.platforms.base import PlatformSettings

    s = PlatformSettings(linkedin_version="202610", graph_api_version="v99.0", threads_api_version="v2.0")
    assert provider("linkedin", settings=s).version == "202610"
    assert provider("facebook", settings=s).graph_version == "v99.0"
    assert provider("instagram", settings=s).graph_version == "v99.0"
    assert provider("threads", settings=s).version == "v2.0"
    assert provider("linkedin").version == PlatformSettings().linkedin_version
