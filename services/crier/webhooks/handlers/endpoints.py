"""Endpoint management: create, list, get, update, delete, rotate the secret."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from crier.contracts.webhooks import (
    Endpoint,
    EndpointCreate,
    EndpointCreated,
    EndpointDeleted,
    EndpointList,
    EndpointPage,
    EndpointRef,
    EndpointUpdate,
    SecretRotated,
)
from crier.kit.errors import Invalid, NotFound, Problem, collect
from crier.kit.pages import checked_limit
from crier.kit.ssrf import Refused
from crier.webhooks.adapters import endpoints
from crier.webhooks.adapters.guard import admit
from crier.webhooks.domain.endpoint import (
    Url,
    check_description,
    check_events,
    new_endpoint_id,
    new_signing_secret,
    parse_url,
)
from crier.webhooks.handlers.context import Context

# How long a rotated-out secret keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


async def create_endpoint(ctx: Context, request: EndpointCreate) -> EndpointCreated:
    problems: list[Problem] = []
    url = collect(problems, lambda: parse_url(request.url))
    subscribed = collect(problems, lambda: check_events(request.events))
    description = collect(problems, lambda: check_description(request.description))
    if problems:
        raise Invalid.of(problems)
    assert url is not None and subscribed is not None and description is not None
    await _vet(ctx, url)
    endpoint_id = new_endpoint_id()
    secret = new_signing_secret()
    async with ctx.uow.begin() as tx:
        row = await endpoints.insert(
            tx.conn,
            endpoint_id=endpoint_id,
            org_id=request.org_id,
            mode=request.mode,
            url=url.raw,
            events=subscribed,
            description=description,
            secret_ciphertext=ctx.keyring.encrypt(secret, endpoint_id.encode()),
        )
    return EndpointCreated(**msgspec.structs.asdict(endpoints.to_endpoint(row)), signing_secret=secret)


async def list_endpoints(ctx: Context, request: EndpointList) -> EndpointPage:
    limit = checked_limit(request.limit)
    async with ctx.uow.read() as conn:
        page = await endpoints.page(conn, request.org_id, request.mode, request.cursor, limit)
    return EndpointPage(data=[endpoints.to_endpoint(r) for r in page.rows], next_cursor=page.next_cursor)


async def get_endpoint(ctx: Context, request: EndpointRef) -> Endpoint:
    async with ctx.uow.read() as conn:
        row = await endpoints.get(conn, request.org_id, request.mode, request.id)
    if row is None:
        raise NotFound.of("webhook endpoint", request.id)
    return endpoints.to_endpoint(row)


async def update_endpoint(ctx: Context, request: EndpointUpdate) -> Endpoint:
    problems: list[Problem] = []
    url = collect(problems, lambda: parse_url(request.url)) if request.url is not None else None
    subscribed = collect(problems, lambda: check_events(request.events)) if request.events is not None else None
    if request.description is not None:
        collect(problems, lambda: check_description(request.description or ""))
    if problems:
        raise Invalid.of(problems)
    if url is not None:
        await _vet(ctx, url)
    async with ctx.uow.begin() as tx:
        row = await endpoints.update(
            tx.conn,
            request.org_id,
            request.mode,
            request.id,
            url=url.raw if url else None,
            events=subscribed,
            description=request.description,
            is_active=request.is_active,
        )
    if row is None:
        raise NotFound.of("webhook endpoint", request.id)
    if request.is_active:
        ctx.wake()  # deliveries held while it was disabled may go now
    return endpoints.to_endpoint(row)


async def delete_endpoint(ctx: Context, request: EndpointRef) -> EndpointDeleted:
    async with ctx.uow.begin() as tx:
        deleted = await endpoints.delete(tx.conn, request.org_id, request.mode, request.id)
    if not deleted:
        raise NotFound.of("webhook endpoint", request.id)
    return EndpointDeleted(id=request.id)


async def rotate_secret(ctx: Context, request: EndpointRef) -> SecretRotated:
    secret = new_signing_secret()
    ciphertext = ctx.keyring.encrypt(secret, request.id.encode())
    async with ctx.uow.begin() as tx:
        expires = await endpoints.rotate_secret(
            tx.conn, request.org_id, request.mode, request.id, ciphertext, ROTATION_OVERLAP
        )
    if expires is None:
        raise NotFound.of("webhook endpoint", request.id)
    return SecretRotated(id=request.id, signing_secret=secret, previous_secret_expires_at=expires)


async def _vet(ctx: Context, url: Url) -> None:
    """The SSRF guard's verdict on a URL being set: refused as `url_not_allowed`. A host that does
    not resolve yet is accepted; every delivery resolves and vets it again."""
    try:
        await admit(url, ctx.policy)
    except Refused as refused:
        raise _url_not_allowed(refused.reason, str(refused)) from None


def _url_not_allowed(reason: str, message: str) -> Invalid:
    return Invalid("url_not_allowed", message, {"field": "url", "reason": reason})
