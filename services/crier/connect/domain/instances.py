"""Per-instance platforms: a Mastodon account lives on the instance its app was registered on, a
Bluesky account on its PDS. Both are URLs a customer gives, so they are read strictly here and
their addresses vetted by the SSRF guard (`adapters.instances`) before Crier calls them.

An instance URL is `scheme://host[:port][/prefix]`: a stand-in that serves the platform's
documented paths under a prefix (the platform simulator's `<base>/mastodon`) is an instance too.
Whether plain `http` may be used depends on the address, so the guard decides that, not the syntax.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from crier.contracts.common import PER_INSTANCE, Platform
from crier.kit.errors import Problem

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Instance:
    """An instance URL in one spelling (lowercase scheme and host, no default port, no trailing
    slash), so two spellings of one instance are one app."""

    url: str
    scheme: str
    host: str
    port: int


def parse_instance(url: str, field: str = "instance_url") -> Instance:
    def refuse(why: str) -> Problem:
        return Problem(field, "invalid_url", f"{field} {why}")

    if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise refuse(f"must be a URL of at most {MAX_URL_LENGTH} characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise refuse("must be https://<host>")
    if parts.username is not None or parts.password is not None:
        raise refuse("must not contain credentials")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise refuse("must not have a query or a fragment")
    host = parts.hostname.lower().rstrip(".")
    port = port or _DEFAULT_PORTS[scheme]
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return Instance(f"{scheme}://{netloc}{parts.path.rstrip('/')}", scheme, host, port)


def normalized(url: str | None) -> str | None:
    """`url` in its one spelling; a URL that does not parse stays as it is (it matches nothing)."""
    if url is None:
        return None
    try:
        return parse_instance(url).url
    except Problem:
        return url


def check_platform(platform: Platform, url: str | None) -> None:
    if url is not None and platform not in PER_INSTANCE:
        raise Problem("instance_url", "not_applicable", f"{platform} accounts do not live on an instance")
