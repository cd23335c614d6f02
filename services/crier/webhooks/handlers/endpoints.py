"""Endpoint management: create, list, get, update, delete, rotate the secret, send a test ping."""

from __future__ import annotations

from datetime import UTC, datetime

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
from crier.webhooks.adapters import endpoints, events
from crier.webhooks.adapters.guard import Refused, Unresolvable, check
from crier.webhooks.domain import catalog
from crier.webhooks.domain.endpoint import (
    Problem,
    Url,
    check_description,
    check_events,
    new_endpoint_id,
    new_signing_secret,
    parse_url,
)
from crier.webhooks.handlers import Context
from crier.webhooks.handlers.errors import check_limit, collect, cursor_position, invalid, not_found, url_not_allowed

# How long a rotated-out secret keeps signing beside the new one.
ROTATION_OVERLAP_S = 24 * 3600


async def create(ctx: Context, request: EndpointCreate) -> EndpointCreated:
    problems: list[Problem] = []
    url = collect(problems, lambda: parse_url(request.url))
    subscribed = collect(problems, lambda: check_events(request.events))
    description = collect(problems, lambda: check_description(request.description))
    if problems:
        raise invalid(problems)
    assert url is not None and subscribed is not None and description is not None
    await _vet(ctx, url)
    endpoint_id = new_endpoint_id()
    secret = new_signing_secret()
    async with ctx.engine.begin() as conn:
        row = await endpoints.insert(
            conn,
            id=endpoint_id,
            org_id=request.org_id,
            mode=request.mode,
            url=url.raw,
            events=subscribed,
            description=description,
            secret_ciphertext=ctx.keyring.encrypt(secret, endpoint_id.encode()),
        )
    endpoint = endpoints.to_endpoint(row)
    return EndpointCreated(**{f: getattr(endpoint, f) for f in endpoint.__struct_fields__}, signing_secret=secret)


async def list_page(ctx: Context, request: EndpointList) -> EndpointPage:
    check_limit(request.limit)
    before = cursor_position(request.cursor)
    async with ctx.engine.connect() as conn:
        rows = await endpoints.page(conn, request.org_id, request.mode, before, request.limit)
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    return EndpointPage(data=[endpoints.to_endpoint(r) for r in rows], next_cursor=str(rows[-1].seq) if more else None)


async def get(ctx: Context, request: EndpointRef) -> Endpoint:
    async with ctx.engine.connect() as conn:
        row = await endpoints.get(conn, request.org_id, request.mode, request.id)
    if row is None:
        raise not_found("webhook endpoint")
    return endpoints.to_endpoint(row)


async def update(ctx: Context, request: EndpointUpdate) -> Endpoint:
    problems: list[Problem] = []
    url = collect(problems, lambda: parse_url(request.url)) if request.url is not None else None
    subscribed = collect(problems, lambda: check_events(request.events)) if request.events is not None else None
    if request.description is not None:
        collect(problems, lambda: check_description(request.description or ""))
    if problems:
        raise invalid(problems)
    if url is not None:
        await _vet(ctx, url)
    async with ctx.engine.begin() as conn:
        row = await endpoints.update(
            conn,
            request.org_id,
            request.mode,
            request.id,
            url=url.raw if url else None,
            events=subscribed,
            description=request.description,
            is_active=request.is_active,
        )
    if row is None:
        raise not_found("webhook endpoint")
    if request.is_active:
        ctx.wake()  # deliveries held while it was disabled may go now
    return endpoints.to_endpoint(row)


async def delete(ctx: Context, request: EndpointRef) -> EndpointDeleted:
    async with ctx.engine.begin() as conn:
        if not await endpoints.delete(conn, request.org_id, request.mode, request.id):
            raise not_found("webhook endpoint")
    return EndpointDeleted(id=request.id)


async def rotate_secret(ctx: Context, request: EndpointRef) -> SecretRotated:
    secret = new_signing_secret()
    ciphertext = ctx.keyring.encrypt(secret, request.id.encode())
    async with ctx.engine.begin() as conn:
        expires = await endpoints.rotate_secret(
            conn, request.org_id, request.mode, request.id, ciphertext, ROTATION_OVERLAP_S
        )
    if expires is None:
        raise not_found("webhook endpoint")
    return SecretRotated(id=request.id, signing_secret=secret, previous_secret_expires_at=expires)


async def send_test(ctx: Context, request: EndpointRef) -> str:
    """Queue a `ping` to this endpoint only; returns the delivery id."""
    async with ctx.engine.begin() as conn:
        if await endpoints.get(conn, request.org_id, request.mode, request.id) is None:
            raise not_found("webhook endpoint")
        ping = catalog.ping(request.id, datetime.now(UTC))
        delivery_id = await events.append_ping(conn, request.org_id, request.mode, request.id, ping)
    ctx.wake()
    return delivery_id


async def _vet(ctx: Context, url: Url) -> None:
    try:
        await check(url, ctx.policy)
    except Refused as refused:
        raise url_not_allowed(refused.reason, str(refused)) from None
    except Unresolvable:
        raise url_not_allowed("unresolvable_host", f"{url.host} does not resolve") from None
