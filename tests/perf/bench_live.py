"""Live-adapter delivery: posts to live Mastodon accounts, published through the real adapter over
HTTP to the platform simulator (its own process), with the platform answering at once and with
200 ms of latency per call. Reports deliveries/s, request → published, and how many deliveries
the publisher process had in flight on average (the sum of publishing → published times over the
wall time: Little's law).

    python -m tests.perf.bench_live [--posts 300] [--accounts 4] [--latency-ms 0 200]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from nats.js.api import DeliverPolicy

from crier.contracts.events import TargetPublished, TargetPublishing
from crier.kit.bus import Bus
from tests.perf.measure import machine, pct
from tests.support.live import Live, connect_live
from tests.support.simulator import start_simulator_process
from tests.support.stack import Infra, close_infra, make_infra, start_stack


async def _deliver(live: Live, accounts: list[Any], posts: int, timeout: float) -> dict[str, float]:
    publishing: dict[str, datetime] = {}
    published: dict[str, datetime] = {}
    bus = await Bus.connect(live.stack.infra.nats_url, namespace=live.stack.namespace)
    started_d = msgspec.json.Decoder(TargetPublishing)
    done_d = msgspec.json.Decoder(TargetPublished)

    async def on_publishing(msg: Any) -> None:
        e = started_d.decode(msg.data)
        publishing.setdefault(e.target_id, e.occurred_at)

    async def on_published(msg: Any) -> None:
        e = done_d.decode(msg.data)
        published[e.target_id] = e.occurred_at

    for subject, cb in (("evt.target.publishing", on_publishing), ("evt.target.published", on_published)):
        await bus.js.subscribe(bus.subject(subject), cb=cb, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    org = accounts[0].org
    sent: dict[str, datetime] = {}
    async with httpx.AsyncClient(
        base_url=f"{live.stack.api_url}/api/v1", timeout=60, headers={"Authorization": f"Bearer {org.live_key}"}
    ) as client:
        first = time.perf_counter()
        for i in range(posts):
            at = datetime.now(UTC)
            r = await client.post("/posts", json={"content": f"live {i}", "accounts": [a.id for a in accounts]})
            r.raise_for_status()
            for t in r.json()["targets"]:
                sent[t["id"]] = at
        deadline = time.monotonic() + timeout
        while len([t for t in sent if t in published]) < len(sent):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(sent) - len(published)} of {len(sent)} targets never published")
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - first
    await bus.close()
    busy = sum((published[t] - publishing[t]).total_seconds() for t in sent if t in publishing)
    return {
        "targets": len(sent),
        "per_s": len(sent) / wall,
        "p50": pct([(published[t] - sent[t]).total_seconds() for t in sent], 50),
        "p99": pct([(published[t] - sent[t]).total_seconds() for t in sent], 99),
        "in_flight": busy / wall,
    }


def run(infra: Infra, posts: int, account_count: int, latencies: list[int], timeout: float) -> list[str]:
    sim = start_simulator_process()
    stack = start_stack(
        infra,
        Path(tempfile.mkdtemp(prefix="crier-bench-live-")),
        {"CRIER_PLATFORM_BASE_URL": sim.base_url, "CRIER_LOG_LEVEL": "warning"},
    )
    lines = []
    try:
        live = Live(stack, sim, None)
        org = stack.new_org("bench-live")
        accounts = [connect_live(live, "mastodon", org) for _ in range(account_count)]
        for latency in latencies:
            sim.configure("mastodon", latency_ms=latency)
            got = asyncio.run(_deliver(live, accounts, posts, timeout))
            lines.append(
                f"live Mastodon adapter, {latency} ms platform latency, {got['targets']:.0f} targets:"
                f" {got['per_s']:.0f} deliveries/s, request → published p50 {got['p50']:.3f}s"
                f" p99 {got['p99']:.3f}s, {got['in_flight']:.1f} deliveries in flight on average"
            )
    finally:
        stack.supervisor.stop_all()
        sim.stop()
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=300)
    p.add_argument("--accounts", type=int, default=4, help="live accounts every post goes to")
    p.add_argument("--latency-ms", type=int, nargs="+", default=[0, 200])
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.posts, args.accounts, args.latency_ms, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
