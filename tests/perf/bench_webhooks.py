"""Webhook dispatcher throughput and latency on loopback.

Starts PostgreSQL and NATS (embedded unless CRIER_TEST_DATABASE_URL / CRIER_TEST_NATS_URL are set)
and the webhooks service as its own process, registers N endpoints on a loopback receiver, then
publishes internal `evt.target.published` events in two phases and measures:
  1. burst: M events at once (N·M deliveries): deliveries/s from the first publish to the last
     delivery, and the delay from emission to delivery (dominated by the queue it builds),
  2. paced: R events/s for S seconds, below capacity: the delay from event emission (the internal
     event's occurred_at, carried as the payload's created_at) to the request reaching the
     receiver, p50 / p99 / max.
Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.

    python -m tests.perf.bench_webhooks [--endpoints 10] [--events 1000] [--rate 30] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from crier.contracts import webhooks as api
from crier.contracts.events import TargetPublished
from crier.kit.bus import Bus, rpc
from tests.perf.measure import machine, pct
from tests.support.stack import close_infra, make_infra, start_services


class Payload(msgspec.Struct):
    created_at: datetime


class LoopbackReceiver:
    """A minimal HTTP/1.1 keep-alive server that answers 200 and notes when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[str, float, datetime]] = {}
        self.requests = 0
        self._decoder = msgspec.json.Decoder(Payload)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.time()
                self.requests += 1
                self.arrivals.setdefault(headers["webhook-id"], (path, now, self._decoder.decode(body).created_at))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()


def _event(org: str, n: int) -> TargetPublished:
    return TargetPublished(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        org_id=org,
        mode="live",
        post_id=f"post_{n}",
        target_id=f"tgt_{n}",
        platform="x",
        attempt=1,
        platform_post_id=str(n),
    )


async def _endpoints(bus: Bus, org: str, receiver: LoopbackReceiver, phase: str, count: int) -> None:
    for n in range(count):
        request = api.EndpointCreate(
            org_id=org, mode="live", url=f"http://127.0.0.1:{receiver.port}/{phase}/{n}", events=["post.published"]
        )
        await rpc.call(bus, api.WEBHOOKS_CREATE, request, api.EndpointCreated)


async def _publish(bus: Bus, event: TargetPublished) -> asyncio.Future:
    return await bus.js.publish_async(
        bus.subject("evt.target.published"), msgspec.json.encode(event), headers={"Nats-Msg-Id": event.id}
    )


async def _until(receiver: LoopbackReceiver, phase: str, expected: int, timeout: float) -> list[tuple[float, datetime]]:
    deadline = time.monotonic() + timeout
    while True:
        got = [(at, created) for path, at, created in receiver.arrivals.values() if path.startswith(f"/{phase}/")]
        if len(got) >= expected:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"{phase}: only {len(got)} of {expected} deliveries in {timeout}s")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> None:
    receiver = LoopbackReceiver()
    await receiver.start()
    infra = make_infra()
    env = {
        "CRIER_LOG_LEVEL": "warning",
        "CRIER_WEBHOOKS_ALLOW_HTTP": "1",
        "CRIER_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.1/32",
        "CRIER_WEBHOOKS_CONCURRENCY": str(args.concurrency),
        "CRIER_WEBHOOKS_ENDPOINT_CONCURRENCY": str(args.per_endpoint),
    }
    services = await asyncio.to_thread(
        start_services, infra, Path(tempfile.mkdtemp(prefix="crier-bench-webhooks-")), ["webhooks"], env
    )
    try:
        bus = await Bus.connect(infra.nats_url, namespace=services.namespace)
        burst_org, paced_org = f"org_burst_{uuid.uuid4().hex[:6]}", f"org_paced_{uuid.uuid4().hex[:6]}"
        await _endpoints(bus, burst_org, receiver, "burst", args.endpoints)
        await _endpoints(bus, paced_org, receiver, "paced", args.endpoints)

        started = time.time()
        await asyncio.gather(*[await _publish(bus, _event(burst_org, n)) for n in range(args.events)])
        burst = await _until(receiver, "burst", args.endpoints * args.events, args.timeout)

        paced_events = int(args.rate * args.seconds)
        loop, t0 = asyncio.get_running_loop(), asyncio.get_running_loop().time()
        acks = []
        for n in range(paced_events):
            await asyncio.sleep(max(0.0, t0 + n / args.rate - loop.time()))  # load generation, not a wait
            acks.append(await _publish(bus, _event(paced_org, n)))
        await asyncio.gather(*acks)
        paced = await _until(receiver, "paced", args.endpoints * paced_events, args.timeout)
        await bus.close()
    finally:
        services.supervisor.stop_all()
        close_infra(infra)
        await receiver.stop()

    burst_rate = len(burst) / (max(at for at, _ in burst) - started)
    burst_delays = [at - created.timestamp() for at, created in burst]
    paced_delays = [at - created.timestamp() for at, created in paced]
    print(f"machine: {machine()}")
    nats = "external" if os.environ.get("CRIER_TEST_NATS_URL") else "embedded"
    pg = "external" if os.environ.get("CRIER_TEST_DATABASE_URL") else "embedded (fsync off)"
    print(
        f"setup: webhooks service as its own process; NATS {nats}, PostgreSQL {pg}; "
        f"loopback receiver answering 200 at once; pool {args.concurrency}, {args.per_endpoint} per endpoint"
    )
    print(
        f"burst: {args.events} events × {args.endpoints} endpoints = {len(burst)} deliveries: "
        f"{burst_rate:.0f} deliveries/s; emission → delivery p50 {pct(burst_delays, 50):.2f}s "
        f"p99 {pct(burst_delays, 99):.2f}s"
    )
    print(
        f"paced: {args.rate:g} events/s × {args.endpoints} endpoints for {args.seconds:g}s = "
        f"{len(paced)} deliveries: "
        f"emission → delivery p50 {pct(paced_delays, 50) * 1000:.0f}ms  p99 {pct(paced_delays, 99) * 1000:.0f}ms  "
        f"max {max(paced_delays) * 1000:.0f}ms"
    )
    print(f"duplicate requests: {receiver.requests - len(receiver.arrivals)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoints", type=int, default=10)
    p.add_argument("--events", type=int, default=1000, help="burst phase: events published at once")
    p.add_argument("--rate", type=float, default=30, help="paced phase: events per second")
    p.add_argument("--seconds", type=float, default=10, help="paced phase: how long")
    p.add_argument("--concurrency", type=int, default=64, help="CRIER_WEBHOOKS_CONCURRENCY")
    p.add_argument("--per-endpoint", type=int, default=8, help="CRIER_WEBHOOKS_ENDPOINT_CONCURRENCY")
    p.add_argument("--timeout", type=float, default=300)
    asyncio.run(run(p.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
