"""The live view: how much work waits for each platform's publishers, and how many deliveries
ended in the last minute. Read from JetStream, which every deployment has and every gateway
replica reaches, rather than by scraping each service's /metrics (whose addresses differ between
`crier up`, Compose and Kubernetes). The numbers are the ones the services' own metrics are made
of: the publishers' `crier_consumer_pending_messages` comes from the same consumers.

- Queue depth: PUBLISH is a work queue, so a command stays on it until a publisher acknowledges it;
  its per-subject counts (`cmd.publish.<platform>[.<lane>]`) are the targets waiting or in flight
  per platform. Targets scheduled for later are not there yet: the scheduler holds them.
- Per minute: an ephemeral consumer starting a minute ago on `evt.target.<outcome>` reports, as
  its pending count, how many such events the minute holds; it is deleted at once.

Both are organization-wide for the installation: queues are shared by every organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from crier.gateway.entrypoints.http.console.pages import render
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.bus import Bus
from crier.kit.bus.streams import EVENTS, PUBLISH
from crier.kit.log import get as get_log

log = get_log("gateway.console")

WINDOW = timedelta(minutes=1)
OUTCOMES = {
    "published": "evt.target.published",
    "failed attempts": "evt.target.attempt_failed",
    "dead-lettered": "evt.target.dead_lettered",
}


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    queued: dict[str, int]
    per_minute: dict[str, int]
    error: str | None = None


async def queue_depth(bus: Bus) -> dict[str, int]:
    info = await bus.js.stream_info(bus.stream(PUBLISH), subjects_filter=bus.subject("cmd.publish.>"))
    depth: dict[str, int] = {}
    for subject, count in (info.state.subjects or {}).items():
        platform = bus.unprefix(subject).split(".")[2]
        depth[platform] = depth.get(platform, 0) + count
    return dict(sorted(depth.items()))


async def events_since(bus: Bus, subject: str, since: datetime) -> int:
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since,
        filter_subject=bus.subject(subject),
        ack_policy=AckPolicy.NONE,
        # Gone by itself should the delete below never run.
        inactive_threshold=30.0,
        mem_storage=True,
    )
    info = await bus.js.add_consumer(bus.stream(EVENTS), config)
    try:
        return int(info.num_pending or 0)
    finally:
        await bus.js.delete_consumer(bus.stream(EVENTS), info.name)


async def snapshot(bus: Bus) -> Snapshot:
    now = datetime.now(UTC)
    try:
        queued = await queue_depth(bus)
        per_minute = {name: await events_since(bus, subject, now - WINDOW) for name, subject in OUTCOMES.items()}
    except Exception as exc:
        log.warning("console.live_unavailable", error=type(exc).__name__)
        return Snapshot(now, {}, {}, "NATS JetStream is not answering; the numbers will return with it.")
    return Snapshot(now, queued, per_minute)


@get("/live", name="console_live")
async def live_view(request: Request[Any, Any, Any]) -> Response[str]:
    return render(request, "live.html", snap=await snapshot(gateway_of(request).bus))


@get("/live/panel", name="console_live_panel")
async def live_panel(request: Request[Any, Any, Any]) -> Response[str]:
    """The numbers alone, which the live page fetches again every few seconds (htmx)."""
    return render(request, "live_panel.html", snap=await snapshot(gateway_of(request).bus))
