"""Webhook dispatcher throughput and latency on loopback.

Starts PostgreSQL and NATS (embedded unless CRIER_TEST_DATABASE_URL / CRIER_TEST_NATS_URL are set)
and the webhooks service as its own process, registers N endpoints on a loopback receiver, then
publishes M internal `evt.target.published` events and measures:
  1. deliveries/s: N·M deliveries over the time from the first publish to the last delivery,
  2. delay from event emission (the internal event's occurred_at, carried as the payload's
     created_at) to the request reaching the receiver: p50 / p99 / max.
Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.

    python tests/perf/bench_webhooks.py [--endpoints 10] [--events 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from contracts import webhooks as api
from contracts.events import TargetPublished
from kit.bus import Bus, rpc
from kit.testing import close_infra, make_infra, start_services


class Payload(msgspec.Struct):
    created_at: datetime


class LoopbackReceiver:
    """A minimal HTTP/1.1 keep-alive server that answers 200 and notes when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, datetime]] = {}
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
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.time()
                self.requests += 1
                self.arrivals.setdefault(headers["webhook-id"], (now, self._decoder.decode(body).created_at))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()


def machine() -> str:
    mem, cpu = "?", "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem} RAM, "
            f"Python {platform.python_version()}")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


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
        start_services, infra, Path(tempfile.mkdtemp(prefix="crier-bench-webhooks-")), ["webhooks"], env)
    try:
        bus = await Bus.connect(infra.nats_url, namespace=services.namespace)
        org = f"org_bench_{uuid.uuid4().hex[:6]}"
        for n in range(args.endpoints):
            request = api.EndpointCreate(org_id=org, mode="live", url=f"http://127.0.0.1:{receiver.port}/e{n}",
                                         events=["post.published"])
            await rpc.call(bus, api.WEBHOOKS_CREATE, request, api.EndpointCreated)
        expected = args.endpoints * args.events
        started = time.time()
        acks = []
        for n in range(args.events):
            event = TargetPublished(
                id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), org_id=org, mode="live", post_id=f"post_{n}",
                target_id=f"tgt_{n}", platform="x", attempt=1, platform_post_id=str(n),
            )
            acks.append(await bus.js.publish_async(bus.subject("evt.target.published"), msgspec.json.encode(event),
                                                   headers={"Nats-Msg-Id": event.id}))
        await asyncio.gather(*acks)
        published = time.time()
        deadline = time.monotonic() + args.timeout
        while len(receiver.arrivals) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(receiver.arrivals)} of {expected} deliveries in {args.timeout}s")
            await asyncio.sleep(0.05)
        await bus.close()
    finally:
        services.supervisor.stop_all()
        close_infra(infra)
        await receiver.stop()

    last = max(at for at, _ in receiver.arrivals.values())
    delays = [at - created.timestamp() for at, created in receiver.arrivals.values()]
    print(f"machine: {machine()}")
    print(f"setup: webhooks service as its own process; NATS {'external' if os.environ.get('CRIER_TEST_NATS_URL') else 'embedded'}, "
          f"PostgreSQL {'external' if os.environ.get('CRIER_TEST_DATABASE_URL') else 'embedded (fsync off)'}; "
          f"loopback receiver answering 200 at once")
    print(f"load: {args.events} events × {args.endpoints} endpoints = {expected} deliveries "
          f"(pool {args.concurrency}, {args.per_endpoint} per endpoint); events published in {published - started:.2f}s")
    print(f"deliveries/s: {expected / (last - started):.0f}  ({receiver.requests - expected} duplicate requests)")
    print(f"emission → delivery: p50 {pct(delays, 50) * 1000:.0f}ms  p99 {pct(delays, 99) * 1000:.0f}ms  "
          f"max {max(delays) * 1000:.0f}ms")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoints", type=int, default=10)
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64, help="CRIER_WEBHOOKS_CONCURRENCY")
    p.add_argument("--per-endpoint", type=int, default=8, help="CRIER_WEBHOOKS_ENDPOINT_CONCURRENCY")
    p.add_argument("--timeout", type=float, default=300)
    asyncio.run(run(p.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
