"""Deliveries end to end: internal events on the bus in, signed HTTP requests to a loopback
receiver out, with retries, rotation, ordering and the public event feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from standardwebhooks.webhooks import Webhook

from crier.contracts import webhooks as api
from crier.contracts.events import SUBJECT_OF, PostCreated, TargetQueued, TargetSpec
from crier.kit.bus import Bus
from tests.webhooks.support import (
    Receiver,
    Reply,
    account_connected,
    attempt_failed,
    call,
    deliveries_of,
    eventually,
    new_endpoint,
    new_org,
    publish,
    target_published,
)


def _verify(secret: str, body: bytes, headers: dict[str, str]) -> dict:
    return Webhook(secret).verify(body, headers)


async def _settled(bus: Bus, org: str, endpoint_id: str, count: int = 1) -> list[api.Delivery]:
    async def probe() -> list[api.Delivery] | None:
        found = await deliveries_of(bus, org, endpoint_id)
        done = [d for d in found if d.status in ("delivered", "failed")]
        return found if len(done) >= count else None

    return await eventually(probe, what=f"{count} settled deliveries")


async def test_delivers_a_signed_event(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path()
    endpoint = await new_endpoint(bus, org, receiver.url(path), ["post.published"])
    event = target_published(org, "tgt_1", post_id="post_9")
    await publish(bus, "evt.target.published", event)
    [request] = await eventually(lambda: _received(receiver, path, 1), what="the delivery")

    payload = _verify(endpoint.signing_secret, request.body, request.headers)
    assert payload["type"] == "post.published" and payload["id"].startswith("evt_")
    assert payload["data"] == {
        "post_id": "post_9",
        "target_id": "tgt_1",
        "account_id": None,
        "tenant_id": None,
        "platform": "x",
        "platform_post_id": event.platform_post_id,
        "platform_post_url": event.platform_post_url,
        "attempt": 1,
        "notes": ["image med_1 re-encoded"],
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("Crier-Webhooks/")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    [delivery] = await _settled(bus, org, endpoint.id)
    assert delivery.status == "delivered" and delivery.message_id == request.webhook_id
    assert delivery.event_id == payload["id"] and delivery.event_type == "post.published"
    assert delivery.next_attempt_at is None
    [attempt] = delivery.attempts
    assert attempt.http_status == 200 and attempt.error is None and attempt.response_excerpt == "ok"
    assert attempt.latency_ms is not None


async def test_enriches_target_events_from_the_post_and_skips_unsubscribed(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path, other = receiver.new_path(), receiver.new_path()
    await new_endpoint(bus, org, receiver.url(path), ["post.scheduled", "post.published"])
    await new_endpoint(bus, org, receiver.url(other), ["account.connected"])
    created = PostCreated(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        org_id=org,
        mode="live",
        post_id="post_5",
        containers=[],
        targets=[TargetSpec(target_id="tgt_5", account_id="acc_5", platform="x", tenant_id="user_5")],
        scheduled_at=datetime.now(UTC) + timedelta(hours=1),
    )
    await publish(bus, "evt.post.created", created)
    await publish(bus, "evt.target.published", target_published(org, "tgt_5", post_id="post_5"))
    await publish(bus, "evt.account.connected", account_connected(org, "acc_5"))
    scheduled, published = await eventually(lambda: _received(receiver, path, 2), what="two deliveries")
    assert scheduled.json()["type"] == "post.scheduled"
    assert scheduled.json()["data"]["targets"] == [
        {"target_id": "tgt_5", "account_id": "acc_5", "platform": "x", "tenant_id": "user_5"}
    ]
    assert published.json()["data"]["account_id"] == "acc_5" and published.json()["data"]["tenant_id"] == "user_5"
    [account] = await eventually(lambda: _received(receiver, other, 1), what="the account event")
    assert account.json()["type"] == "account.connected" and account.json()["data"]["username"] == "alice"
    assert len(receiver.received(path)) == 2


async def test_retries_after_500_and_timeout_with_the_same_webhook_id(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path(Reply(500, b"boom"), Reply(delay_s=3), Reply(503, headers={"retry-after": "1"}))
    endpoint = await new_endpoint(bus, org, receiver.url(path))
    await publish(bus, "evt.target.published", target_published(org, "tgt_r"))
    [delivery] = await _settled(bus, org, endpoint.id)
    requests = receiver.received(path)
    assert len(requests) == 4 and len({r.webhook_id for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    for r in requests:
        _verify(endpoint.signing_secret, r.body, r.headers)
    assert delivery.status == "delivered"
    assert [(a.http_status, a.error) for a in delivery.attempts] == [
        (500, "http_500"),
        (None, "timeout"),
        (503, "http_503"),
        (200, None),
    ]
    assert delivery.attempts[0].response_excerpt == "boom"
    # Retry-After: 1 (scaled by 0.001) is shorter than the third scheduled delay (30 min · 0.001).
    gap = (delivery.attempts[3].attempted_at - delivery.attempts[2].attempted_at).total_seconds()
    assert 1.8 * 0.8 - 0.1 < gap < 1.8 * 1.2 + 1.0


async def test_gone_stops_retries(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path(Reply(410, b"gone"))
    endpoint = await new_endpoint(bus, org, receiver.url(path))
    await publish(bus, "evt.target.published", target_published(org, "tgt_g"))
    [delivery] = await _settled(bus, org, endpoint.id)
    assert delivery.status == "failed" and [a.http_status for a in delivery.attempts] == [410]
    # A later event is still attempted: a 410 fails the delivery, not the endpoint.
    await publish(bus, "evt.target.published", target_published(org, "tgt_g2"))
    await _settled(bus, org, endpoint.id, count=2)
    assert len(receiver.received(path)) == 2


async def test_rotation_signs_with_both_secrets(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path()
    endpoint = await new_endpoint(bus, org, receiver.url(path))
    rotated = await call(
        bus, api.WEBHOOKS_ROTATE_SECRET, api.EndpointRef(org_id=org, mode="live", id=endpoint.id), api.SecretRotated
    )
    await publish(bus, "evt.target.published", target_published(org, "tgt_rot"))
    [request] = await eventually(lambda: _received(receiver, path, 1), what="the delivery")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert _verify(endpoint.signing_secret, request.body, request.headers)
    assert _verify(rotated.signing_secret, request.body, request.headers)


async def test_disabled_endpoint_gets_nothing_until_enabled(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    off_path, on_path = receiver.new_path(), receiver.new_path()
    off = await new_endpoint(bus, org, receiver.url(off_path))
    await new_endpoint(bus, org, receiver.url(on_path))
    ref = {"org_id": org, "mode": "live", "id": off.id}
    await call(bus, api.WEBHOOKS_UPDATE, {**ref, "is_active": False}, api.Endpoint)
    await publish(bus, "evt.target.published", target_published(org, "tgt_off"))
    ping = await call(bus, api.WEBHOOKS_TEST, ref, api.Delivery)
    await eventually(lambda: _received(receiver, on_path, 1), what="the active endpoint's delivery")
    [held] = await deliveries_of(bus, org, off.id)  # only the ping; the event made no delivery
    assert held.id == ping.id and held.status == "pending" and receiver.received(off_path) == []

    await call(bus, api.WEBHOOKS_UPDATE, {**ref, "is_active": True}, api.Endpoint)
    [request] = await eventually(lambda: _received(receiver, off_path, 1), what="the held ping")
    assert request.json()["type"] == "ping" and request.json()["data"]["endpoint_id"] == off.id
    assert request.webhook_id == ping.message_id


async def test_resend_repeats_the_message(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path()
    endpoint = await new_endpoint(bus, org, receiver.url(path))
    first = await call(bus, api.WEBHOOKS_TEST, {"org_id": org, "mode": "live", "id": endpoint.id}, api.Delivery)
    await _settled(bus, org, endpoint.id)
    again = await call(bus, api.WEBHOOKS_RESEND, {"org_id": org, "mode": "live", "id": first.id}, api.Delivery)
    assert again.id != first.id and again.message_id == first.message_id and again.resend_of == first.id
    a, b = await eventually(lambda: _received(receiver, path, 2), what="the resend")
    assert a.webhook_id == b.webhook_id and a.body == b.body
    assert {d.status for d in await _settled(bus, org, endpoint.id, count=2)} == {"delivered"}


async def test_keeps_per_target_order_while_a_hung_endpoint_waits(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    ordered = receiver.new_path(Reply(500))
    hung = receiver.new_path(default=Reply(delay_s=30))
    fast = await new_endpoint(bus, org, receiver.url(ordered))
    slow = await new_endpoint(bus, org, receiver.url(hung))
    sent = [attempt_failed(org, "tgt_o", n) for n in (1, 2, 3, 4)] + [target_published(org, "tgt_o")]
    for event in sent:
        await publish(bus, event_subject(event), event)

    requests = await eventually(lambda: _received(receiver, ordered, 6), what="every event once the 500 is retried")
    # The hung endpoint's first attempt has not even timed out (1 s) yet: it held nothing up.
    assert all(d.attempts == [] for d in await deliveries_of(bus, org, slow.id))
    bodies = [r.json() for r in requests]
    assert [b["data"].get("attempt") for b in bodies] == [1, 1, 2, 3, 4, 1]
    assert [b["type"] for b in bodies] == ["post.error"] * 5 + ["post.published"]
    assert requests[0].webhook_id == requests[1].webhook_id
    assert len({r.webhook_id for r in requests}) == 5
    assert len(await deliveries_of(bus, org, fast.id)) == 5


async def test_event_feed_pages_every_event_once_in_order(bus: Bus) -> None:
    org = new_org()
    sent = []
    for n in range(7):
        event = target_published(org, f"tgt_f{n}") if n % 2 else account_connected(org, f"acc_f{n}")
        sent.append(event)
        await publish(bus, event_subject(event), event)
    # The bus redelivering an event (a new message id defeats JetStream's own dedupe) adds nothing.
    await publish(bus, event_subject(sent[0]), sent[0], msg_id=str(uuid.uuid4()))
    queued = TargetQueued(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        org_id=org,
        mode="live",
        post_id="post_1",
        target_id="tgt_f1",
        platform="x",
    )
    await publish(bus, "evt.target.queued", queued)  # no public counterpart: acked, ignored

    async def everything() -> list[dict] | None:
        page = await call(bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "live", "limit": 100}, api.EventPage)
        return page.data if len(page.data) >= 7 else None

    all_events = await eventually(everything, what="seven public events")
    assert len(all_events) == 7
    assert [e.type for e in all_events] == ["account.connected", "post.published"] * 3 + ["account.connected"]

    seen, cursor = [], None
    while True:
        page = await call(
            bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "live", "limit": 3, "after": cursor}, api.EventPage
        )
        seen += page.data
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert [e.id for e in seen] == [e.id for e in all_events]

    idle = await call(bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "live", "after": cursor}, api.EventPage)
    assert idle.data == [] and idle.next_cursor == cursor
    late = target_published(org, "tgt_late")
    await publish(bus, "evt.target.published", late)

    async def the_late_one() -> list | None:
        page = await call(bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "live", "after": cursor}, api.EventPage)
        return page.data or None

    [only] = await eventually(the_late_one, what="the late event")
    assert only.data["target_id"] == "tgt_late"

    typed = await call(
        bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "live", "type": "post.published"}, api.EventPage
    )
    assert [e.data["target_id"] for e in typed.data] == ["tgt_f1", "tgt_f3", "tgt_f5", "tgt_late"]
    other = await call(bus, api.WEBHOOKS_EVENTS, {"org_id": org, "mode": "test"}, api.EventPage)
    assert other.data == [] and other.next_cursor is None


def event_subject(event: object) -> str:
    return SUBJECT_OF[type(event)]  # type: ignore[index]


async def _received(receiver: Receiver, path: str, count: int) -> list | None:
    found = receiver.received(path)
    return found if len(found) >= count else None


async def test_import_events_pass_through(bus: Bus, receiver: Receiver) -> None:
    org = new_org()
    path = receiver.new_path()
    await new_endpoint(bus, org, receiver.url(path), ["import.completed"])
    imported = {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "org_id": org,
        "mode": "live",
        "import_id": "imp_1",
        "account_id": "acc_1",
        "imported": 12,
    }
    await bus.js.publish(
        bus.subject("evt.import.completed"), msgspec.json.encode(imported), headers={"Nats-Msg-Id": imported["id"]}
    )
    [request] = await eventually(lambda: _received(receiver, path, 1), what="the import event")
    assert request.json()["type"] == "import.completed"
    assert request.json()["data"] == {"import_id": "imp_1", "account_id": "acc_1", "imported": 12}
