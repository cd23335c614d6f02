"""How the hosted connect pages look for one organization or one session: its product's name, logo,
accent colour, support link and language. Pure rules: what a valid display is, how a session's
display falls back on its organization's default, and which text colour stays readable on the
accent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from crier.kit.errors import Problem

# The languages the pages have message catalogues for (English is the source language).
LOCALES = ("en", "fr", "de")
DEFAULT_LOCALE = "en"
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


@dataclass(frozen=True)
class Display:
    product_name: str | None = None
    logo_url: str | None = None
    logo_media_id: str | None = None
    accent_color: str | None = None
    support_url: str | None = None
    locale: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Display:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (stored or {}).items() if k in names})


def _web_url(url: str) -> bool:
    """https anywhere; plain http only to this machine (a developer's own logo server)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def problems(d: Display, prefix: str = "display") -> list[Problem]:
    """Everything wrong with a display, each named by its field."""
    found: list[Problem] = []
    if d.logo_url is not None and d.logo_media_id is not None:
        found.append(Problem(f"{prefix}.logo_url", "conflict", "give logo_url or logo_media_id, not both"))
    if d.logo_url is not None and not _web_url(d.logo_url):
        found.append(Problem(f"{prefix}.logo_url", "invalid", "the logo must be an https URL without credentials"))
    if d.support_url is not None and not (_web_url(d.support_url) or _mailto(d.support_url)):
        found.append(Problem(f"{prefix}.support_url", "invalid", "the support link must be an https or mailto: URL"))
    if d.accent_color is not None and not _HEX.match(d.accent_color):
        found.append(Problem(f"{prefix}.accent_color", "invalid", "the accent colour must be #RGB or #RRGGBB"))
    if d.locale is not None and supported_locale(d.locale) is None:
        found.append(
            Problem(f"{prefix}.locale", "unsupported", f"the pages speak {', '.join(LOCALES)}; not {d.locale!r}")
        )
    return found


def _mailto(url: str) -> bool:
    return url.startswith("mailto:") and "@" in url and len(url) > len("mailto:a@b")


def supported_locale(tag: str) -> str | None:
    """The catalogue for a language tag (`fr-CA` → `fr`), or None."""
    if not _LOCALE.match(tag):
        return None
    language = re.split(r"[-_]", tag)[0].lower()
    return language if language in LOCALES else None


def normalized(d: Display) -> Display:
    """The stored form: colours as lower-case #rrggbb, languages as their catalogue's tag."""
    color = d.accent_color
    if color is not None and len(color) == 4:
        color = "#" + "".join(c * 2 for c in color[1:])
    return replace(
        d,
        accent_color=color.lower() if color else None,
        locale=supported_locale(d.locale) if d.locale else None,
        product_name=d.product_name.strip() if d.product_name else None,
    )


def over(session: Display, default: Display) -> Display:
    """A session's display, each field it leaves out taken from the organization's default. A logo
    given either way replaces the default's logo of the other kind."""
    merged = Display(**{f.name: getattr(session, f.name) or getattr(default, f.name) for f in fields(Display)})
    if session.logo_url or session.logo_media_id:
        merged = replace(merged, logo_url=session.logo_url, logo_media_id=session.logo_media_id)
    return merged


def preferred_locale(display_locale: str | None, accept_language: str) -> str:
    """The display's language when it names one, else the browser's first supported one (by q)."""
    if display_locale and (chosen := supported_locale(display_locale)):
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > 0:
            ranked.append((-q, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        if chosen := supported_locale(tag):
            return chosen
    return DEFAULT_LOCALE


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(accent: str) -> str:
    """White or near-black, whichever reads better on the accent (buttons' text)."""
    return "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#111111") else "#111111"


def readable_accent(accent: str, background: str = "#ffffff") -> str:
    """The accent for links and focus rings on the page's background: darkened until it reaches
    WCAG AA (4.5:1), so a pale brand colour never makes links unreadable."""
    color = accent
    for _ in range(20):
        if contrast(color, background) >= 4.5:
            return color
        color = "#" + "".join(f"{int(int(color[i : i + 2], 16) * 0.85):02x}" for i in (1, 3, 5))
    return "#111111"


def button_colors(accent: str) -> tuple[str, str]:
    """The main button's background and text: the accent as given when white or near-black text
    reads on it at 4.5:1, else the accent darkened until white does (a mid grey reaches neither)."""
    if contrast(text_on(accent), accent) >= 4.5:
        return accent, text_on(accent)
    darker = readable_accent(accent)
    return darker, text_on(darker)
