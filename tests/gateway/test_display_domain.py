"""The hosted connect pages' display rules, without I/O: validation, the fall-back on the
organization's default, language choice, and colours that stay readable."""

from __future__ import annotations

import pytest

from crier.gateway.domain.display import (
    Display,
    button_colors,
    contrast,
    normalized,
    over,
    preferred_locale,
    problems,
    readable_accent,
)


def fields_of(d: Display) -> list[str]:
    return [p.field for p in problems(d)]


def test_a_valid_display_has_no_problems_and_is_stored_normalized() -> None:
    d = Display(
        product_name=" Acme ",
        logo_url="https://cdn.acme.test/logo.svg",
        accent_color="#0A7",
        support_url="mailto:help@acme.test",
        locale="fr-CA",
    )
    assert problems(d) == []
    assert normalized(d) == Display(
        product_name="Acme",
        logo_url="https://cdn.acme.test/logo.svg",
        accent_color="#00aa77",
        support_url="mailto:help@acme.test",
        locale="fr",
    )


@pytest.mark.parametrize(
    ("display", "field"),
    [
        (Display(logo_url="http://cdn.acme.test/logo.svg"), "display.logo_url"),  # plain http off loopback
        (Display(logo_url="https://user:pw@cdn.acme.test/l.svg"), "display.logo_url"),
        (Display(logo_url="data:image/svg+xml,<svg/>"), "display.logo_url"),
        (Display(logo_url="https://a.test/l.svg", logo_media_id="m"), "display.logo_url"),
        (Display(accent_color="#12345"), "display.accent_color"),
        (Display(support_url="javascript:alert(1)"), "display.support_url"),
        (Display(locale="xx"), "display.locale"),
        (Display(locale="fr; DROP"), "display.locale"),
    ],
)
def test_each_bad_field_is_named(display: Display, field: str) -> None:
    assert fields_of(display) == [field]


def test_loopback_http_logos_are_allowed_for_development() -> None:
    assert problems(Display(logo_url="http://127.0.0.1:8000/logo.svg")) == []


def test_a_session_display_falls_back_on_the_default_field_by_field() -> None:
    default = Display(product_name="Acme", logo_media_id="m1", accent_color="#112233", locale="de")
    own = Display(product_name="Acme Social", logo_url="https://a.test/l.svg")
    assert over(own, default) == Display(
        product_name="Acme Social", logo_url="https://a.test/l.svg", accent_color="#112233", locale="de"
    )
    assert over(Display(), default) == default


@pytest.mark.parametrize(
    ("display_locale", "header", "chosen"),
    [
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "es;q=1, fr;q=0.5, de;q=0.7", "de"),  # by q, not by position
        (None, "es, pt", "en"),
        (None, "fr;q=0, de;q=0.1", "de"),  # q=0 is a refusal
        (None, "", "en"),
        ("fr", "de", "fr"),
        ("xx", "de", "de"),
    ],
)
def test_the_language(display_locale: str | None, header: str, chosen: str) -> None:
    assert preferred_locale(display_locale, header) == chosen


@pytest.mark.parametrize(
    "accent", ["#ffff00", "#0b7a4b", "#2f5bd3", "#777777", "#808080", "#ff0000", "#000000", "#ffffff"]
)
def test_buttons_and_links_on_any_accent_stay_readable(accent: str) -> None:
    background, text = button_colors(accent)
    assert contrast(text, background) >= 4.5
    assert background == accent or accent in ("#777777",)  # only a colour no text reads on is changed
    assert contrast(readable_accent(accent), "#ffffff") >= 4.5
