"""A whole hosted connect in test mode, in Chromium, keyboard only: a branded session (product name,
logo from another origin, accent colour, support link) in French, through the start page, the
sandbox consent and the page choice to the success page that takes the user back to the customer's
app, with the account connected. Screenshots of each page go to .artifacts/screenshots/."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from crier.gateway.domain.display import contrast
from tests.browser.conftest import Crier, off_loop
from tests.e2e.conftest import sql

MOBILE = {"width": 375, "height": 740}


def tab_to(page: Any, text: str, presses: int = 15) -> None:
    """Tab forward until the focused element shows `text` (as a keyboard user would)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; return e ? (e.innerText || e.value || '') : '' })()"
        )
        if text in focused:
            return
    raise AssertionError(f"no focusable element showing {text!r} within {presses} Tab presses")


def tab_to_checkbox(page: Any, presses: int = 15) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.type === 'checkbox'"):
            return
    raise AssertionError("no checkbox reached with Tab")


def rgb_hex(css: str) -> str:
    r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def assert_fits_and_reads(page: Any) -> None:
    """Mobile width with no sideways scrolling; the main button's text readable on the accent."""
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    colours = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('.primary'));"
        " return [s.color, s.backgroundColor]; })()"
    )
    assert contrast(rgb_hex(colours[0]), rgb_hex(colours[1])) >= 4.5, colours


def test_branded_hosted_connect_in_french_by_keyboard(browser: Any, crier: Crier, shoot: Any) -> None:
    logo = f"{crier.site.url}/logo.svg"
    with crier.test_api() as api:
        # The organization's default gives the accent and support link; the session its own name,
        # logo and language.
        r = api.put(
            "/org-settings",
            json={"connect_display": {"accent_color": "#0B7A4B", "support_url": "mailto:help@acme.test"}},
        )
        assert r.status_code == 200, r.text
        r = api.post(
            "/connect-sessions",
            json={
                "platform": "linkedin",
                "redirect_uri": crier.return_url,
                "tenant_id": "browser-user",
                "display": {"product_name": "Acme Social", "logo_url": logo, "locale": "fr"},
            },
        )
        assert r.status_code == 201, r.text
        session = r.json()
    assert session["display"] == {
        "product_name": "Acme Social",
        "logo_url": logo,
        "accent_color": "#0b7a4b",
        "support_url": "mailto:help@acme.test",
        "locale": "fr",
    }

    context = browser.new_context(viewport=MOBILE, locale="en-US")  # the display's language wins
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        response = page.goto(session["connect_url"])
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        assert f"img-src 'self' {crier.site.url};" in csp and "script-src" not in csp
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_role("heading", level=1).inner_text() == "Connectez votre compte LinkedIn"
        assert page.locator(".product").inner_text() == "Acme Social"
        assert page.evaluate("document.querySelector('img.logo').naturalWidth") > 0  # the CSP let it load
        assert page.get_by_role("link", name="Besoin d’aide ? Contactez Acme Social").get_attribute("href") == (
            "mailto:help@acme.test"
        )
        assert_fits_and_reads(page)
        shoot(page, "1-start")

        tab_to(page, "Continuer vers LinkedIn")
        page.keyboard.press("Enter")
        page.wait_for_url("**/connect/sandbox/authorize?**")
        assert "Acme Social demande l’accès" in page.inner_text("main")
        assert_fits_and_reads(page)
        shoot(page, "2-consent")

        tab_to(page, "Autoriser")
        page.keyboard.press("Space")
        page.wait_for_url("**/connect/select?**")
        assert page.get_by_role("heading", level=1).inner_text() == "Choisissez les comptes à connecter"
        shoot(page, "3-choice")

        tab_to(page, "Connecter la sélection")  # nothing chosen yet: the form again, with the reason
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=alert]")
        assert page.inner_text("[role=alert]") == "Sélectionnez-en au moins un."
        shoot(page, "4-choice-error")
        tab_to_checkbox(page)
        page.keyboard.press("Space")
        assert page.evaluate("document.activeElement.checked")
        tab_to(page, "Connecter la sélection")
        page.keyboard.press("Enter")

        page.wait_for_selector("text=Votre compte LinkedIn est connecté")
        back = page.get_by_role("link", name="Continuer vers Acme Social")
        assert back.get_attribute("href").startswith(crier.return_url)
        shoot(page, "5-success")
        page.wait_for_url(f"{crier.return_url}?**")  # taken back without a click
        landing = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    finally:
        context.close()

    assert landing["status"] == "connected" and landing["connect_session_id"] == session["id"]
    with crier.test_api() as api:
        polled = api.get(f"/connect-sessions/{session['id']}").json()
        assert polled["status"] == "connected" and polled["account_ids"] == [landing["account_id"]]
        account = api.get(f"/social-accounts/{landing['account_id']}").json()
        assert account["status"] == "active" and account["tenant_id"] == "browser-user"
        assert api.put("/org-settings", json={"connect_display": None}).json() == {"connect_display": None}


def test_the_end_pages_in_german_by_keyboard(browser: Any, crier: Crier, shoot: Any) -> None:
    """Denied consent and its retry, a platform error and its retry, and an expired link, in the
    browser's language (German), each screenshotted."""
    with crier.test_api() as api:
        made = [
            api.post(
                "/connect-sessions",
                json={"platform": "x", "redirect_uri": crier.return_url, "display": {"product_name": "Acme Social"}},
            ).json()
            for _ in range(2)
        ]
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(made[0]["connect_url"])
        tab_to(page, "Weiter zu X")
        page.keyboard.press("Enter")
        page.wait_for_url("**/connect/sandbox/authorize?**")
        state = parse_qs(urlsplit(page.url).query)["state"][0]
        tab_to(page, "Ablehnen")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Sie haben den Zugriff nicht erlaubt")
        assert page.get_by_role("link", name="Zurück zu Acme Social").is_visible()
        shoot(page, "1-denied")

        tab_to(page, "Erneut versuchen")  # the same session, a new consent
        page.keyboard.press("Enter")
        page.wait_for_url("**/connect/sandbox/authorize?**")
        retried_state = parse_qs(urlsplit(page.url).query)["state"][0]
        assert retried_state != state

        # The platform sends the user back with an error instead of a code.
        page.goto(f"{crier.url}/api/v1/connect/callback?state={retried_state}&error=server_error")
        page.wait_for_selector("text=X konnte Ihr Konto nicht verbinden")
        shoot(page, "2-platform-error")
        tab_to(page, "Erneut versuchen")
        page.keyboard.press("Enter")
        page.wait_for_url("**/connect/sandbox/authorize?**")

        off_loop(
            sql,
            crier.stack,
            "UPDATE connect.connect_sessions SET expires_at = now() - interval '1 second' WHERE id = $1",
            made[1]["id"],
        )
        response = page.goto(made[1]["connect_url"])
        assert response.status == 410
        assert page.get_by_role("heading", level=1).inner_text() == "Dieser Link ist abgelaufen"
        shoot(page, "3-expired")
    finally:
        context.close()
    with crier.test_api() as api:
        assert api.get(f"/connect-sessions/{made[0]['id']}").json()["status"] == "pending"  # reopened, unfinished
