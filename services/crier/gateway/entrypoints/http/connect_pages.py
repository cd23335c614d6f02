"""The HTML the end-user's browser sees during a connect flow: server-rendered Jinja2 templates
(`connect_web/templates`) through Litestar's template support, with real forms, every value escaped,
and no script. Each page wears its flow's display (product name, logo, accent colour, support link)
and speaks the display's language or the browser's.

Forms are CSRF-safe by a double submit: the page sets a random value in a SameSite=Strict cookie
and in a hidden field, and a POST counts only when both arrive and match — a form auto-submitted
from another site carries no Strict cookie. Pages are never framed, cached or referred onwards, and
their Content-Security-Policy allows exactly what they load: our stylesheet and icons, the one
inline style that carries the accent (by nonce), and the logo's origin.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Router
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from crier.gateway.domain import display as looks
from crier.gateway.domain.display import Display
from crier.gateway.entrypoints.http.connect_i18n import translator
from crier.gateway.entrypoints.http.state import Gateway, gateway_of
from crier.kit.media.signing import MediaUrlSigner

WEB_DIR = Path(__file__).parent / "connect_web"
STATIC_PATH = "/connect/static"
CSRF_COOKIE = "crier_csrf"
CRIER_ACCENT = "#2f5bd3"
PLATFORM_NAMES = {
    "x": "X",
    "linkedin": "LinkedIn",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "threads": "Threads",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "tiktok": "TikTok",
    "pinterest": "Pinterest",
    "google_business": "Google Business Profile",
}
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
    )
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


def static_files() -> Router:
    """The pages' stylesheet and platform icons, served by the gateway itself (no CDN)."""
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[WEB_DIR / "static"],
        opt={"exclude_from_auth": True},
        include_in_schema=False,
        # Unversioned URLs: an hour, so an upgrade's stylesheet reaches browsers the same day.
        cache_control=CacheControlHeader(max_age=3600, public=True),
    )


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def csrf_value(request: Request[Any, Any, Any]) -> str:
    """The browser's current double-submit value, or a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return (
        current
        if 20 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum()
        else (secrets.token_urlsafe(24))
    )


def csrf_ok(request: Request[Any, Any, Any], form: dict[str, list[str]]) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = (form.get("csrf") or [""])[0]
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


@dataclass(frozen=True)
class Brand:
    product_name: str | None
    logo_src: str | None
    support_url: str | None
    accent: str
    accent_text: str
    link: str


def _brand(gw: Gateway, d: Display) -> Brand:
    accent = d.accent_color or CRIER_ACCENT
    logo = d.logo_url
    if d.logo_media_id:
        s = gw.settings
        logo = MediaUrlSigner(s.encryption_keys, s.public_url, s.media_url_ttl_s).url(d.logo_media_id)
    background, text = looks.button_colors(accent)
    return Brand(
        product_name=d.product_name,
        logo_src=logo,
        support_url=d.support_url,
        accent=background,
        accent_text=text,
        link=looks.readable_accent(accent),
    )


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def policy(nonce: str, logo_src: str | None) -> str:
    """No `form-action`: browsers check it against the redirects a form's answer makes too (to the
    platform's consent screen, to the customer's redirect URI), which no fixed list can name."""
    images = " ".join(filter(None, ["'self'", _origin(logo_src)]))
    return (
        f"default-src 'none'; style-src 'self' 'nonce-{nonce}'; img-src {images}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    display: Display | None = None,
    status: int = 200,
    csrf: str | None = None,
    secure: bool = False,
    platform: str | None = None,
    **context: Any,
) -> Template:
    d = display or Display()
    lang = looks.preferred_locale(d.locale, request.headers.get("accept-language", ""))
    brand = _brand(gateway_of(request), d)
    nonce = secrets.token_urlsafe(16)
    cookies = (
        [Cookie(key=CSRF_COOKIE, value=csrf, httponly=True, samesite="strict", secure=secure, path="/", max_age=3600)]
        if csrf
        else []
    )
    return Template(
        template_name=template,
        context={
            "_": translator(lang),
            "lang": lang,
            "brand": brand,
            "nonce": nonce,
            "csrf": csrf,
            "platform": platform if platform in PLATFORM_NAMES else None,
            "platform_name": platform_name(platform or ""),
            **context,
        },
        status_code=status,
        media_type=MediaType.HTML,
        headers={**_HEADERS, "Content-Security-Policy": policy(nonce, brand.logo_src), "Content-Language": lang},
        cookies=cookies,
    )


def message(
    request: Request[Any, Any, Any], title: str, text: str, *, status: int, display: Display | None = None
) -> Template:
    """A page that only says something (an expired link, a service away): `title` and `text` are
    English messages, shown translated where the catalogue has them."""
    return render(request, "message.html", display=display, status=status, title_msg=title, text_msg=text)


def secure(request: Request[Any, Any, Any]) -> bool:
    """Whether the CSRF cookie may be marked Secure: the browser reached us over https."""
    return gateway_of(request).settings.public_url.startswith("https://") or request.url.scheme == "https"
