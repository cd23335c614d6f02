"""The RPC API: endpoint lifecycle, validation, the SSRF guard at creation, tenant isolation."""

from __future__ import annotations

import base64

import pytest

from crier.contracts import webhooks as api
from crier.kit.bus import Bus
from crier.kit.bus.rpc import RpcFailure
from tests.webhooks.support import Receiver, call, deliveries_of, new_endpoint, new_org


async def _fails(bus: Bus, subject: str, request: object, kind: str, code: str) -> dict:
    with pytest.raises(RpcFailure) as failure:
        await call(bus, subject, request, dict)
    assert (failure.value.error.kind, failure.value.error.code) == (kind, code), failure.value.error
    return failure.value.error.details


async def test_endpoint_lifecycle(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    url = receiver.url(receiver.new_path())
    created = await new_endpoint(bus, org, url, ["post.published", "post.error", "post.published"])
    assert created.id.startswith("wh_") and created.url == url and created.is_active
    assert created.events == ["post.published", "post.error"] and created.disabled_reason is None
    assert created.signing_secret.startswith("whsec_")
    assert len(base64.b64decode(created.signing_secret.removeprefix("whsec_"))) == 32

    ref = api.EndpointRef(org_id=org, mode="live", id=created.id)
    got = await call(bus, api.WEBHOOKS_GET, ref, dict)
    assert got["id"] == created.id and "signing_secret" not in got and "secret" not in str(got.keys())

    updated = await call(
        bus,
        api.WEBHOOKS_UPDATE,
        api.EndpointUpdate(org_id=org, mode="live", id=created.id, description="orders", events=["*"], is_active=False),
        api.Endpoint,
    )
    assert updated.description == "orders" and updated.events == ["*"] and not updated.is_active
    assert updated.disabled_reason and updated.url == url
    enabled = await call(
        bus,
        api.WEBHOOKS_UPDATE,
        api.EndpointUpdate(org_id=org, mode="live", id=created.id, is_active=True),
        api.Endpoint,
    )
    assert enabled.is_active and enabled.disabled_reason is None and enabled.description == "orders"

    rotated = await call(bus, api.WEBHOOKS_ROTATE_SECRET, ref, api.SecretRotated)
    assert rotated.signing_secret.startswith("whsec_") and rotated.signing_secret != created.signing_secret

    deleted = await call(bus, api.WEBHOOKS_DELETE, ref, api.EndpointDeleted)
    assert deleted.deleted
    await _fails(bus, api.WEBHOOKS_GET, ref, "not_found", "not_found")
    await _fails(bus, api.WEBHOOKS_DELETE, ref, "not_found", "not_found")


async def test_list_pages_newest_first(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    ids = [(await new_endpoint(bus, org, receiver.url(receiver.new_path()))).id for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = await call(
            bus, api.WEBHOOKS_LIST, api.EndpointList(org_id=org, mode="live", limit=2, cursor=cursor), api.EndpointPage
        )
        seen += [e.id for e in page.data]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))
    await _fails(
        bus, api.WEBHOOKS_LIST, api.EndpointList(org_id=org, mode="live", cursor="nope"), "invalid", "invalid_cursor"
    )
    await _fails(
        bus, api.WEBHOOKS_LIST, api.EndpointList(org_id=org, mode="live", limit=101), "invalid", "validation_error"
    )


async def test_delivery_log_pages_newest_first(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    endpoint = await new_endpoint(bus, org, receiver.url(receiver.new_path()))
    ref = api.EndpointRef(org_id=org, mode="live", id=endpoint.id)
    pings = [(await call(bus, api.WEBHOOKS_TEST, ref, api.Delivery)).id for _ in range(3)]
    seen, cursor = [], None
    while True:
        request = api.DeliveryList(org_id=org, mode="live", endpoint_id=endpoint.id, limit=2, cursor=cursor)
        page = await call(bus, api.WEBHOOKS_DELIVERIES, request, api.DeliveryPage)
        seen += [d.id for d in page.data]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(pings))
    bad = api.DeliveryList(org_id=org, mode="live", endpoint_id=endpoint.id, cursor="nope")
    await _fails(bus, api.WEBHOOKS_DELIVERIES, bad, "invalid", "invalid_cursor")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"events": []}, "events"),
        ({"events": ["post.published", "post.exploded"]}, "events"),
        ({"events": ["ping"]}, "events"),
        ({"url": "https://example.com/" + "a" * 2048}, "url"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"description": "d" * 501}, "description"),
    ],
)
async def test_rejects_invalid_endpoints(bus: Bus, fields: dict, field: str) -> None:
    request = {"org_id": new_org(), "mode": "live", "url": "https://example.com/hook", "events": ["*"], **fields}
    details = await _fails(bus, api.WEBHOOKS_CREATE, request, "invalid", "validation_error")
    assert [f["field"] for f in details["fields"]] == [field]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://192.168.1.20:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.2/hook",  # loopback outside the exempt 127.0.0.1/32
        "http://[::1]/hook",
        "http://[::ffff:10.1.2.3]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://localhost6.invalid./hook",
    ],
)
async def test_refuses_private_destinations_at_creation(bus: Bus, url: str) -> None:
    request = api.EndpointCreate(org_id=new_org(), mode="live", url=url, events=["*"])
    details = await _fails(bus, api.WEBHOOKS_CREATE, request, "invalid", "url_not_allowed")
    assert details["field"] == "url"


async def test_update_to_a_private_url_is_refused(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    endpoint = await new_endpoint(bus, org, receiver.url(receiver.new_path()))
    request = api.EndpointUpdate(org_id=org, mode="live", id=endpoint.id, url="http://10.9.9.9/x")
    await _fails(bus, api.WEBHOOKS_UPDATE, request, "invalid", "url_not_allowed")
    got = await call(bus, api.WEBHOOKS_GET, api.EndpointRef(org_id=org, mode="live", id=endpoint.id), api.Endpoint)
    assert got.url == endpoint.url


async def test_tenants_and_modes_see_only_their_own(bus: Bus, receiver: Receiver) -> None:
    org, other = new_org(), new_org()
    endpoint = await new_endpoint(bus, org, receiver.url(receiver.new_path()))
    ping = await call(bus, api.WEBHOOKS_TEST, api.EndpointRef(org_id=org, mode="live", id=endpoint.id), api.Delivery)
    for scope in ({"org_id": other, "mode": "live"}, {"org_id": org, "mode": "test"}):
        ref = {**scope, "id": endpoint.id}
        for subject in (api.WEBHOOKS_GET, api.WEBHOOKS_DELETE, api.WEBHOOKS_ROTATE_SECRET, api.WEBHOOKS_TEST):
            await _fails(bus, subject, ref, "not_found", "not_found")
        await _fails(bus, api.WEBHOOKS_UPDATE, {**ref, "description": "mine now"}, "not_found", "not_found")
        await _fails(bus, api.WEBHOOKS_DELIVERIES, {**scope, "endpoint_id": endpoint.id}, "not_found", "not_found")
        await _fails(bus, api.WEBHOOKS_RESEND, {**scope, "id": ping.id}, "not_found", "not_found")
        listed = await call(bus, api.WEBHOOKS_LIST, scope, api.EndpointPage)
        assert listed.data == []
    assert [d.id for d in await deliveries_of(bus, org, endpoint.id)] == [ping.id]


@pytest.mark.parametrize("after", ["nope", "-1", "²", "9" * 19])
async def test_event_feed_refuses_a_cursor_it_did_not_issue(bus: Bus, after: str) -> None:
    request = api.EventList(org_id=new_org(), mode="live", after=after)
    await _fails(bus, api.WEBHOOKS_EVENTS, request, "invalid", "invalid_cursor")


async def test_event_feed_refuses_an_unknown_type(bus: Bus) -> None:
    request = api.EventList(org_id=new_org(), mode="live", type="post.exploded")
    details = await _fails(bus, api.WEBHOOKS_EVENTS, request, "invalid", "validation_error")
    assert [(f["field"], f["code"]) for f in details["fields"]] == [("type", "unknown_event_type")]
