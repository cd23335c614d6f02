"""The hosted connect pages over plain HTTP (no browser needed): the display's validation, the
language chosen by the display or Accept-Language, and the pages for an expired link, a denied
consent and a platform error with its retry."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.browser.conftest import Crier
from tests.e2e.conftest import sql
from tests.support.media_files import png

HTML = {"Accept": "text/html,application/xhtml+xml"}


class Form(HTMLParser):
    """The page's one form: its action and fields (hidden inputs and the named buttons' values)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action, self.fields = "", {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a["value"]


def session(c: Crier, api: httpx.Client, **display: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"platform": "x", "redirect_uri": c.return_url}
    if display:
        body["display"] = display
    r = api.post("/connect-sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def submit(browser: httpx.Client, page: httpx.Response, **extra: str) -> httpx.Response:
    form = Form(page.text)
    return browser.post(urljoin(str(page.url), form.action), data={**form.fields, **extra}, headers=HTML)


def to_consent(browser: httpx.Client, connect_url: str) -> httpx.Response:
    start = browser.get(connect_url, headers=HTML)
    assert start.status_code == 200, start.text
    begun = submit(browser, start)
    assert begun.status_code == 303
    return browser.get(begun.headers["location"], headers=HTML)


@pytest.fixture
def browser(crier: Crier) -> Any:
    with httpx.Client(base_url=crier.url, follow_redirects=False, timeout=15) as client:
        yield client


@pytest.mark.parametrize(
    ("display", "field"),
    [
        ({"accent_color": "green"}, "display.accent_color"),
        ({"logo_url": "javascript:alert(1)"}, "display.logo_url"),
        ({"logo_url": "http://logo.example/x.png"}, "display.logo_url"),
        ({"logo_url": "https://a.test/l.png", "logo_media_id": "m1"}, "display.logo_url"),
        ({"logo_media_id": "no-such-media"}, "display.logo_media_id"),
        ({"support_url": "ftp://help.test"}, "display.support_url"),
        ({"locale": "tlh"}, "display.locale"),
        ({"product_name": ""}, "display.product_name"),
        ({"colour": "#fff"}, "display.colour"),
    ],
)
def test_a_bad_display_is_refused_with_its_field(crier: Crier, display: dict[str, Any], field: str) -> None:
    with crier.test_api() as api:
        r = api.post("/connect-sessions", json={"platform": "x", "redirect_uri": crier.return_url, "display": display})
        assert r.status_code in (400, 422), r.text
        error = r.json()["error"]
        assert field.rpartition(".")[2] in str(error), error
        put = api.put("/org-settings", json={"connect_display": display})
        assert put.status_code in (400, 422), put.text


def test_org_settings_need_admin_and_stay_in_their_mode(crier: Crier) -> None:
    with crier.test_api() as test, crier.live_api() as live:
        assert test.put("/org-settings", json={"connect_display": {"product_name": "Acme"}}).status_code == 200
        assert live.get("/org-settings").json() == {"connect_display": None}
        assert test.get("/org-settings").json() == {"connect_display": {"product_name": "Acme"}}
        assert test.put("/org-settings", json={"connect_display": None}).status_code == 200


@pytest.mark.parametrize(
    ("accept_language", "display_locale", "heading"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", None, "Verbinden Sie Ihr X-Konto"),
        ("es-ES, fr;q=0.8, de;q=0.7", None, "Connectez votre compte X"),
        ("es-ES", None, "Connect your X account"),
        ("de", "fr-CA", "Connectez votre compte X"),
    ],
)
def test_the_language_comes_from_the_display_or_the_browser(
    crier: Crier, browser: httpx.Client, accept_language: str, display_locale: str | None, heading: str
) -> None:
    with crier.test_api() as api:
        s = session(crier, api, **({"locale": display_locale} if display_locale else {}))
    page = browser.get(s["connect_url"], headers={**HTML, "Accept-Language": accept_language})
    assert page.status_code == 200 and f"<h1>{heading}</h1>" in page.text
    assert page.headers["content-language"] == heading_language(heading)


def heading_language(heading: str) -> str:
    return {"Verbinden": "de", "Connectez": "fr"}.get(heading.split()[0], "en")


def test_expired_and_used_links_have_their_pages(crier: Crier, browser: httpx.Client) -> None:
    with crier.test_api() as api:
        s = session(crier, api, product_name="Acme Social", locale="fr")
    sql(
        crier.stack,
        "UPDATE connect.connect_sessions SET expires_at = now() - interval '1 second' WHERE id = $1",
        s["id"],
    )
    page = browser.get(s["connect_url"], headers=HTML)
    assert page.status_code == 410 and "<h1>Ce lien a expiré</h1>" in page.text and "Acme Social" in page.text
    unknown = browser.get("/connect/start?session=nonsense", headers=HTML)
    assert unknown.status_code == 410 and "This link cannot be used" in unknown.text


def test_denied_consent_page_offers_a_retry_that_connects(crier: Crier, browser: httpx.Client) -> None:
    with crier.test_api() as api:
        s = session(crier, api, product_name="Acme Social")
    consent = to_consent(browser, s["connect_url"])
    callback = submit(browser, consent, decision="deny")
    denied = browser.get(callback.headers["location"], headers=HTML)
    assert denied.status_code == 200 and "<h1>You did not allow access</h1>" in denied.text
    back = parse_qs(urlsplit(_link(denied.text, "Back to Acme Social")).query)
    assert back["status"] == ["error"] and back["error_code"] == ["user_denied"]
    with crier.test_api() as api:
        assert api.get(f"/connect-sessions/{s['id']}").json()["status"] == "failed"

    retried = submit(browser, denied)  # "Try again": a new consent for the same session
    assert retried.status_code == 303, retried.text
    consent = browser.get(retried.headers["location"], headers=HTML)
    approved = submit(browser, consent, decision="approve")
    done = browser.get(approved.headers["location"], headers=HTML)
    assert done.status_code == 200 and "<h1>Your X account is connected</h1>" in done.text
    assert 'http-equiv="refresh"' in done.text
    with crier.test_api() as api:
        polled = api.get(f"/connect-sessions/{s['id']}").json()
    assert polled["status"] == "connected" and len(polled["account_ids"]) == 1
    again = submit(browser, denied)  # a connected session cannot be retried
    assert again.status_code == 410


def test_platform_error_page_and_the_plain_redirect_for_api_clients(crier: Crier, browser: httpx.Client) -> None:
    with crier.test_api() as api:
        s = session(crier, api)
    consent = to_consent(browser, s["connect_url"])
    state = Form(consent.text).fields["state"]
    failed = f"/api/v1/connect/callback?state={state}&error=temporarily_unavailable"
    page = browser.get(failed, headers={**HTML, "Accept-Language": "de"})
    assert page.status_code == 200 and "<h1>X konnte Ihr Konto nicht verbinden</h1>" in page.text
    assert "Fehlercode: authorization_failed" in page.text and "Erneut versuchen" in page.text
    retried = submit(browser, page)
    assert retried.status_code == 303 and "/connect/sandbox/authorize?" in retried.headers["location"]

    # A client that does not ask for HTML gets the redirect the API documents, page-free.
    with crier.test_api() as api:
        plain = session(crier, api)
    consent = to_consent(browser, plain["connect_url"])
    refused = submit(browser, consent, decision="deny")
    landing = browser.get(refused.headers["location"])
    assert landing.status_code == 303 and landing.headers["location"].startswith(crier.return_url)


def _link(html: str, text: str) -> str:
    before = html[: html.index(text)]
    return before[before.rindex('href="') + 6 :].split('"', 1)[0].replace("&amp;", "&")


def test_an_uploaded_logo_is_served_by_a_signed_url_the_csp_allows(crier: Crier, browser: httpx.Client) -> None:
    with crier.test_api() as api:
        r = api.post("/media", files={"file": ("logo.png", png(40, 40, (11, 122, 75)), "image/png")})
        assert r.status_code == 201, r.text
        s = session(crier, api, product_name="Acme Social", logo_media_id=r.json()["id"])
        assert s["display"]["logo_media_id"] == r.json()["id"]
    page = browser.get(s["connect_url"], headers=HTML)
    logo = page.text.split('<img class="logo" src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert logo.startswith(f"{crier.url}/api/v1/media/{r.json()['id']}/content?")
    assert f"img-src 'self' {crier.url};" in page.headers["content-security-policy"]
    served = browser.get(logo)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


def test_every_asset_a_page_links_is_served_by_crier(crier: Crier, browser: httpx.Client) -> None:
    with crier.test_api() as api:
        s = session(crier, api)
    page = browser.get(s["connect_url"], headers=HTML)
    assets = re.findall(r'(?:href|src)="(/[^"]*)"', page.text)
    assert "/connect/static/connect.css" in assets and "/connect/static/icons/x.svg" in assets
    for path in assets:
        served = browser.get(path)
        assert served.status_code == 200, path
        assert served.headers["content-type"].split(";")[0] in ("text/css", "image/svg+xml"), path
        assert "max-age=3600" in served.headers["cache-control"]
