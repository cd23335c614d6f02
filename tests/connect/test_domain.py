"""The flow rules and the simulated test-mode platform, with no database, bus or network."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from crier.connect.adapters.sandbox_oauth import SandboxOAuth
from crier.connect.domain import flows as rules
from crier.connect.domain import instances, seals
from crier.connect.domain.accounts import check_tenant, check_username, due_for_refresh, known_platform
from crier.connect.domain.tokens import Need, publishing_extra, token_need
from crier.connect.settings import ConnectSettings
from crier.contracts.common import PLATFORMS
from crier.kit.errors import Problem
from crier.platforms.oauth import AppCredentials, GrantRevoked, TokenSet


def test_secrets_are_random_and_stored_as_digests() -> None:
    a, b = rules.new_secret(), rules.new_secret()
    assert a != b and len(a) >= 43
    assert rules.digest(a) == hashlib.sha256(a.encode()).hexdigest() != a


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example/cb", True),
        ("http://localhost:3000/cb", True),
        ("myapp://oauth/done", True),
        ("https://app.example/cb?tab=social", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("/relative/path", False),
        ("https://app.example/cb#frag", False),
        ("https:///nohost", False),
        (" https://app.example/cb", False),
        ("https://x.example/" + "a" * 2100, False),
    ],
)
def test_redirect_uri_shapes(uri: str, ok: bool) -> None:
    assert (rules.redirect_uri_problem(uri) is None) == ok


@pytest.mark.parametrize(
    ("url", "spelled"),
    [
        ("https://mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("HTTPS://mastodon.social:443", "https://mastodon.social"),
        ("https://93.184.216.34:8443/", "https://93.184.216.34:8443"),
        ("http://127.0.0.1:9999/mastodon/", "http://127.0.0.1:9999/mastodon"),
        ("https://[2001:db8::1]/", "https://[2001:db8::1]"),
        ("https://pds.example.", "https://pds.example"),
        ("ftp://mastodon.social", None),
        ("mastodon.social", None),
        ("https://user:pw@mastodon.social", None),
        ("https://mastodon.social/?x=1", None),
        ("https://mastodon.social/#top", None),
        ("https://mastodon.social:99999", None),
        ("https://masto don.social", None),
        ("https://" + "a" * 2100, None),
    ],
)
def test_instance_urls_have_one_spelling(url: str, spelled: str | None) -> None:
    """Whether an instance may be called is the SSRF guard's decision (test_instances); the
    syntax decides only what the URL is, so that one instance is one app however it is written."""
    if spelled is None:
        with pytest.raises(Problem) as refused:
            instances.parse_instance(url)
        assert (refused.value.field, refused.value.code) == ("instance_url", "invalid_url")
    else:
        assert instances.parse_instance(url).url == spelled == instances.normalized(url)


def test_only_per_instance_platforms_take_an_instance() -> None:
    instances.check_platform("mastodon", "https://mastodon.social")
    instances.check_platform("x", None)
    with pytest.raises(Problem) as refused:
        instances.check_platform("x", "https://x.com")
    assert refused.value.code == "not_applicable"


def test_redirect_parameters_keep_the_customers_own() -> None:
    url = rules.connected_redirect("https://app.example/cb?tab=social", "acc_1", "cs_1")
    assert url == "https://app.example/cb?tab=social&status=connected&account_id=acc_1&connect_session_id=cs_1"
    assert (
        rules.pending_redirect("https://app.example/cb", "tok") == "https://app.example/cb?status=pending&session=tok"
    )
    assert rules.error_redirect("https://app.example/cb", "user_denied").endswith("status=error&error_code=user_denied")


def test_error_codes_and_session_expiry() -> None:
    assert rules.authorization_error_code("access_denied") == "user_denied"
    assert rules.authorization_error_code("server_error") == "authorization_failed"
    now = datetime.now(UTC)
    assert rules.session_status("pending", now - timedelta(seconds=1), now) == "expired"
    assert rules.session_status("pending_selection", now - timedelta(seconds=1), now) == "expired"
    assert rules.session_status("connected", now - timedelta(days=1), now) == "connected"
    assert rules.session_status("pending", now + timedelta(seconds=1), now) == "pending"


def test_platforms_usernames_and_tenants() -> None:
    assert [known_platform(p) for p in PLATFORMS] == list(PLATFORMS)
    for check, field in (
        (lambda: known_platform("myspace"), "platform"),
        (lambda: check_username("no spaces"), "username"),
        (lambda: check_username("x" * 65), "username"),
        (lambda: check_tenant(""), "tenant_id"),
        (lambda: check_tenant("t" * 256), "tenant_id"),
    ):
        with pytest.raises(Problem) as refused:
            check()
        assert refused.value.field == field
    check_username("alice.b-c_d@x")
    check_tenant(None)
    check_tenant("t" * 255)


def test_seal_contexts_never_change() -> None:
    """Stored ciphertexts are bound to these strings: a new spelling would make them unreadable."""
    assert seals.token_context("o", "live", "x", "n", "access") == "account:o:live:x:n:access"
    assert seals.client_secret_context("o", "test", "mastodon") == "social_network:o:test:mastodon:client_secret"
    assert seals.verifier_context("h") == "oauth_state:h:code_verifier"
    assert seals.grant_context("h") == "pending_session:h:grant"


def test_refresh_window() -> None:
    now = datetime.now(UTC)
    assert due_for_refresh(now + timedelta(minutes=5), now, 600)
    assert not due_for_refresh(now + timedelta(minutes=15), now, 600)
    assert not due_for_refresh(None, now, 600)


def test_managed_apps_come_from_settings() -> None:
    settings = ConnectSettings(
        public_url="https://crier.example/",
        managed_x_client_id="cid",
        managed_x_client_secret="secret",
        managed_mastodon_client_id="m",
        managed_mastodon_instance_url="https://mastodon.social",
    )
    assert settings.managed_app("x") == ("cid", "secret", None)
    assert settings.managed_app("mastodon") == ("m", "", "https://mastodon.social")
    assert settings.managed_app("linkedin") is None
    assert settings.callback_url == "https://crier.example/api/v1/connect/callback"


async def test_sandbox_platform() -> None:
    app = AppCredentials("crier-sandbox", "", "https://crier.test/api/v1/connect/callback")
    single, multi = SandboxOAuth("x", "https://crier.test/consent", "u 1"), SandboxOAuth("facebook", "c", "u1")
    url = single.authorization_url(app, state="s", code_challenge="c" * 43, scopes=())
    assert url.startswith("https://crier.test/consent?") and "state=s" in url and "code_challenge_method=S256" in url
    tokens = await single.exchange_code(None, app, code="c", code_verifier="v")  # type: ignore[arg-type]
    [profile] = await single.accounts(None, tokens)  # type: ignore[arg-type]
    assert profile.username == "u_1" and profile.network_unique_id.startswith("sbx-")
    pages = await multi.accounts(None, await multi.exchange_code(None, app, code="c", code_verifier=None))  # type: ignore[arg-type]
    assert len(pages) == 2 and {p.account_type for p in pages} == {"page"}
    again = await single.refresh(None, app, tokens.refresh_token or "")  # type: ignore[arg-type]
    assert again.access_token != tokens.access_token and again.refresh_token != tokens.refresh_token
    with pytest.raises(GrantRevoked):
        await single.refresh(None, app, "not-ours")  # type: ignore[arg-type]
    assert (await single.identity(None, again.access_token)).account_type == "profile"  # type: ignore[arg-type]
    assert isinstance(tokens, TokenSet) and tokens.expires_at and tokens.expires_at > datetime.now(UTC)


def test_what_a_token_request_needs() -> None:
    now = datetime.now(UTC)
    soon, later, past = now + timedelta(minutes=5), now + timedelta(hours=2), now - timedelta(seconds=1)

    def need(expires_at: datetime | None, *, renewable: bool, rejected: bool = False) -> Need:
        return token_need(now=now, expires_at=expires_at, renewable=renewable, rejected=rejected, window_s=600)

    assert need(later, renewable=True) is Need.SERVE
    assert need(soon, renewable=True) is Need.REFRESH
    assert need(later, renewable=True, rejected=True) is Need.REFRESH
    assert need(None, renewable=False) is Need.SERVE  # a Mastodon token, a Page's own token
    assert need(None, renewable=False, rejected=True) is Need.EXPIRE
    assert need(soon, renewable=False) is Need.SERVE  # nothing to renew it with, and it still works
    assert need(past, renewable=False) is Need.EXPIRE


def test_what_publishing_calls_need_besides_the_token() -> None:
    assert publishing_extra("linkedin", "organization", "urn:li:organization:42") == {
        "author": "urn:li:organization:42",
        "author_type": "organization",
    }
    assert publishing_extra("linkedin", "profile", "urn:li:person:abc")["author_type"] == "person"
    assert publishing_extra("facebook", "page", "123") == {"token_owner": "page"}
    assert publishing_extra("mastodon", "profile", "10987@mastodon.social") == {"account_id": "10987"}
    assert publishing_extra("google_business", "location", "accounts/1/locations/2") == {
        "account": "accounts/1",
        "location": "accounts/1/locations/2",
    }
    assert publishing_extra("bluesky", "profile", "did:plc:abc") == {"did": "did:plc:abc"}
    assert publishing_extra("x", "profile", "2244994945") == {}
