"""Where an account lives: handle → DID → DID document → PDS (atproto.com/specs/handle, /did).

- A handle resolves over HTTPS (`https://<handle>/.well-known/atproto-did`, the DID as text) or by
  asking a server that resolves handles (`com.atproto.identity.resolveHandle`: the entryway
  bsky.social resolves any handle, a PDS at least its own). The DNS TXT record `_atproto.<handle>`
  is the third way the spec allows; it needs a DNS client Crier does not have, and every handle
  that has one is resolved by the entryway too.
- A DID's document: did:plc from the PLC directory (`GET <directory>/<did>`, the directory a
  setting with the public default https://plc.directory), did:web from
  `https://<host>/.well-known/did.json` (atproto allows host-only did:web).
- The PDS is the document's service `#atproto_pds` of type `AtprotoPersonalDataServer`.

Every URL here comes from data someone else controls, so the caller's HTTP client must be the
SSRF-guarded one (connect's `InstanceGuard`): this module only reads what the answers say.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from crier.platforms import _oauth_http as oh
from crier.platforms.atproto.syntax import is_did, is_handle
from crier.platforms.oauth import OAuthError

DEFAULT_PLC = "https://plc.directory"


class IdentityUnresolved(OAuthError):
    """The handle or DID leads to no PDS: no such account, or nowhere Crier can find it."""

    code = "identity_unresolved"


def _refused(status: int, body: Any, context: oh.Context) -> OAuthError:
    said = body.get("message") or body.get("error") if isinstance(body, dict) else None
    return IdentityUnresolved(str(said or f"HTTP {status}"))


async def _get(http: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    return await oh.send(http, "bluesky", "GET", url, context="api", classify=_refused, **kwargs)


async def resolve_handle(http: httpx.AsyncClient, handle: str, resolvers: tuple[str, ...]) -> str:
    """The DID a handle names: its own HTTPS well-known first, then each resolving server."""
    handle = handle.lower().lstrip("@")
    if not is_handle(handle):
        raise IdentityUnresolved(f"{handle!r} is not a handle")
    try:
        text = await _get(http, f"https://{handle}/.well-known/atproto-did")
        did = str(text).strip().splitlines()[0] if isinstance(text, str) and text.strip() else ""
        if is_did(did):
            return did
    except OAuthError:
        pass  # not served there (or not reachable): the resolvers may know
    for resolver in resolvers:
        try:
            found = await _get(
                http, f"{resolver.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except IdentityUnresolved:
            continue
        did = found.get("did") if isinstance(found, dict) else None
        if isinstance(did, str) and is_did(did):
            return did
    raise IdentityUnresolved(f"the handle {handle} does not resolve to a DID")


async def did_document(http: httpx.AsyncClient, did: str, plc_url: str = DEFAULT_PLC) -> dict[str, Any]:
    if did.startswith("did:plc:"):
        url = f"{plc_url.rstrip('/')}/{did}"
    elif did.startswith("did:web:") and ":" not in did[len("did:web:") :].replace("%3A", ""):
        url = f"https://{unquote(did[len('did:web:') :])}/.well-known/did.json"
    else:
        raise IdentityUnresolved(f"{did!r} is neither a did:plc nor a host-level did:web")
    doc = await _get(http, url)
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise IdentityUnresolved(f"the DID document at {url} is not {did}'s")
    return doc


def pds_of(doc: dict[str, Any]) -> str | None:
    """The `#atproto_pds` service endpoint of a DID document: an http(s) origin."""
    for service in doc.get("service") or []:
        if not isinstance(service, dict):
            continue
        named = str(service.get("id", "")).endswith("#atproto_pds")
        endpoint = service.get("serviceEndpoint")
        if named and service.get("type") == "AtprotoPersonalDataServer" and isinstance(endpoint, str):
            parts = urlsplit(endpoint)
            if parts.scheme in ("https", "http") and parts.hostname and not (parts.query or parts.fragment):
                return endpoint.rstrip("/")
    return None


def handle_of(doc: dict[str, Any]) -> str | None:
    """The handle a DID document claims (`alsoKnownAs: ["at://<handle>"]`)."""
    for name in doc.get("alsoKnownAs") or []:
        if isinstance(name, str) and name.startswith("at://") and is_handle(name[5:]):
            return name[5:]
    return None


async def locate(
    http: httpx.AsyncClient, identifier: str, *, plc_url: str = DEFAULT_PLC, resolvers: tuple[str, ...] = ()
) -> tuple[str, str] | None:
    """(DID, PDS URL) of the account a handle or DID names; None for an e-mail address, which
    only the entryway that hosts the account can place."""
    identifier = identifier.strip().lstrip("@")
    if "@" in identifier:
        return None
    did = identifier if identifier.startswith("did:") else await resolve_handle(http, identifier, resolvers)
    pds = pds_of(await did_document(http, did, plc_url))
    if pds is None:
        raise IdentityUnresolved(f"{did}'s DID document names no PDS")
    return did, pds
