"""The HTML the end-user's browser sees during a connect flow: plain server-rendered pages with
real forms, every value escaped, nothing to run.

Forms are CSRF-safe by a double submit: the page sets a random value in a SameSite=Strict cookie
and in a hidden field, and a POST counts only when both arrive and match — a form auto-submitted
from another site carries no Strict cookie. Pages are never framed, cached or referred onwards.
"""

from __future__ import annotations

import hmac
import secrets
from html import escape
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType

CSRF_COOKIE = "crier_csrf"
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
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1.2rem;margin:.5rem .5rem 0 0;cursor:pointer}"
    "label{display:block;padding:.4rem 0}.muted{color:#666;font-size:.9rem}.error{color:#a00}"
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


def page(title: str, body: str, *, status: int = 200, csrf: str | None = None, secure: bool = False) -> Response[str]:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    cookies = (
        [Cookie(key=CSRF_COOKIE, value=csrf, httponly=True, samesite="strict", secure=secure, path="/", max_age=3600)]
        if csrf
        else []
    )
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=_HEADERS, cookies=cookies)


def message(title: str, text: str, *, status: int) -> Response[str]:
    return page(title, f"<p>{escape(text)}</p>", status=status)


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def start_form(
    *, action: str, token: str, platform: str, app_name: str, sandbox: bool, csrf: str, secure: bool
) -> Response[str]:
    name = platform_name(platform)
    note = (
        ('<p class="muted">Test mode: a simulated platform asks for your consent; no real account is touched.</p>')
        if sandbox
        else ""
    )
    body = (
        f"<p>{escape(app_name)} would like to publish to your {escape(name)} account.</p>{note}"
        f'<form method="post" action="{escape(action)}">{_hidden("csrf", csrf)}{_hidden("session", token)}'
        f'<button type="submit">Continue to {escape(name)}</button></form>'
    )
    return page(f"Connect your {name} account", body, csrf=csrf, secure=secure)


def consent_form(
    *, action: str, state: str, platform: str, app_name: str, scopes: list[str], csrf: str, secure: bool
) -> Response[str]:
    items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    body = (
        f"<p><strong>{escape(app_name)}</strong> asks to access your simulated "
        f"{escape(platform_name(platform))} account.</p><ul>{items}</ul>"
        f'<form method="post" action="{escape(action)}">{_hidden("csrf", csrf)}{_hidden("state", state)}'
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
        '<p class="muted">Crier sandbox: this page stands in for the platform\'s consent screen.</p>'
    )
    return page(f"Sandbox {platform_name(platform)}: allow access?", body, csrf=csrf, secure=secure)


def choice_form(
    *,
    action: str,
    token: str,
    network: str,
    pages: list[Any],
    csrf: str,
    secure: bool,
    error: str | None = None,
    status: int = 200,
) -> Response[str]:
    options = "".join(
        f'<label><input type="checkbox" name="page_id" value="{escape(p.id)}"> '
        f"{escape(p.name or p.username or p.id)}"
        f"{f' <span class=muted>@{escape(p.username)}</span>' if p.username else ''}"
        f' <span class="muted">({escape(p.type)})</span></label>'
        for p in pages
    )
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    body = (
        f"<p>Choose what to connect from your {escape(platform_name(network))} account.</p>{problem}"
        f'<form method="post" action="{escape(action)}">{_hidden("csrf", csrf)}{_hidden("session", token)}'
        f'{options}<button type="submit">Connect selected</button></form>'
    )
    return page("Choose accounts to connect", body, csrf=csrf, secure=secure, status=status)


def app_password_form(
    *, action: str, state: str, platform: str, csrf: str, secure: bool, error: str | None = None, status: int = 200
) -> Response[str]:
    name = platform_name(platform)
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    body = (
        f"<p>{escape(name)} connects with an app password, which you create in {escape(name)}'s settings "
        "(Privacy and security → App passwords). It is used once to sign in and is not stored.</p>"
        f'{problem}<form method="post" action="{escape(action)}">{_hidden("csrf", csrf)}{_hidden("state", state)}'
        '<label>Handle <input name="identifier" autocomplete="username" required></label>'
        '<label>App password <input name="app_password" type="password" autocomplete="off" required></label>'
        f'<button type="submit">Connect</button></form>'
    )
    return page(f"Connect your {name} account", body, csrf=csrf, secure=secure, status=status)
