"""Facets: what makes a Bluesky post's links, mentions and hashtags live (`app.bsky.richtext.facet`).

Bluesky does not find them in the text itself: the client that writes the record does, and says
where each one is in UTF-8 byte offsets (`byteStart` inclusive, `byteEnd` exclusive) of the text.
Detection follows the official client's (`@atproto/api` RichText.detectFacets), so a post made by
Crier looks like one made in the Bluesky app:
- mentions: `@handle` after the start, a space or `(`; a facet only when the handle resolves to a
  DID (the record names the DID, the text keeps the handle);
- links: `http(s)://…` to the next space, or a bare domain (`example.com/x`, linked as https) whose
  top-level domain is a real one, less one trailing `.,;:!?`, and a `)` the link did not open;
- hashtags: `#` or `＃` after the start or a space, not only digits, trailing punctuation dropped,
  at most 64 characters, the facet's `tag` without the `#`.

The official client checks a bare domain's top-level domain against the full IANA list; here every
two-letter one (the country codes) and the common generic ones count.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import regex

from crier.platforms.atproto.syntax import is_handle

FACET = "app.bsky.richtext.facet"
_MENTION = re.compile(r"(^|\s|\()@([a-zA-Z0-9.-]+)\b")
_LINK = re.compile(r"(^|\s|\()((https?://\S+)|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\S*)", re.I | re.M)
_INVISIBLE = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(
    rf"(^|\s)[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)?", regex.V0
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_GENERIC = """com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs cat app dev
    page blog xyz online site tech store shop club live news social art design cloud space website world today
    email link digital media network studio agency solutions systems software company group team life one top
    wiki zone fun games global host lol moe ninja rocks fyi gay bot"""
_GENERIC_TLDS = frozenset(_GENERIC.split())
MAX_TAG_LENGTH = 64

Resolve = Callable[[str], Awaitable[str | None]]


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _slice(text: str, start: int, end: int) -> dict[str, int]:
    return {"byteStart": _byte(text, start), "byteEnd": _byte(text, end)}


def _real_tld(domain: str) -> bool:
    tld = domain.rsplit(".", 1)[-1].lower()
    return tld.isalpha() and (len(tld) == 2 or tld in _GENERIC_TLDS)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, handle) of every `@handle`, `start` at the `@`."""
    found = []
    for m in _MENTION.finditer(text):
        handle = m.group(2)
        if is_handle(handle):
            found.append((m.start(2) - 1, m.end(2), handle))
    return found


def links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, uri) of every link, `uri` complete with its scheme."""
    found = []
    for m in _LINK.finditer(text):
        uri, start, end = m.group(2), m.start(2), m.end(2)
        if not m.group(3):
            if not _real_tld(m.group("domain")):
                continue
            uri = f"https://{uri}"
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        found.append((start, end, uri))
    return found


def tags(text: str) -> list[tuple[int, int, str]]:
    """(start, end, tag) of every hashtag, `start` at the `#`, `tag` without it."""
    found = []
    for m in _TAG.finditer(text):
        tag = m.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or _utf16_length(tag) > MAX_TAG_LENGTH:
            continue
        start = m.start() + len(m.group(1))
        found.append((start, start + 1 + len(tag), tag))
    return found


async def facets(text: str, resolve: Resolve) -> list[dict[str, Any]]:
    """The facets of `text`: mentions (of the handles `resolve` finds a DID for), links, tags."""
    found: list[dict[str, Any]] = []
    dids: dict[str, str | None] = {}
    for start, end, handle in mentions(text):
        key = handle.lower()
        if key not in dids:
            dids[key] = await resolve(key)
        did = dids[key]
        if did is not None:
            found.append(_facet(text, start, end, {"$type": f"{FACET}#mention", "did": did}))
    for start, end, uri in links(text):
        found.append(_facet(text, start, end, {"$type": f"{FACET}#link", "uri": uri}))
    for start, end, tag in tags(text):
        found.append(_facet(text, start, end, {"$type": f"{FACET}#tag", "tag": tag}))
    return found


def _facet(text: str, start: int, end: int, feature: dict[str, str]) -> dict[str, Any]:
    return {"$type": FACET, "index": _slice(text, start, end), "features": [feature]}
