"""Scaling one platform's publishers: live Mastodon deliveries through the real adapter to the
platform simulator (its own process), with 1, 2 and 3 `--platform mastodon` publisher processes.

Each round queues the same work while no publisher runs — `--posts` posts to `--accounts`
accounts each — then starts the round's publishers and measures deliveries/s from the first
delivery begun to the last target published (from the events on the bus, so publisher start-up is
not counted). One publisher is the baseline, measured in the same run on the same stack; the
others are reported beside it. The simulator stands in for Mastodon, so publish budgets are off
(`CRIER_PUBLISHER_BUDGETS=auto`): this measures the delivery path, not a platform's limits.

    python -m tests.perf.bench_scale [--posts 100] [--accounts 10] [--replicas 1 2 3]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from nats.js.api import DeliverPolicy

from crier.contracts.events import TargetPublished, TargetPublishing, TargetQueued
from crier.kit.bus import Bus
from tests.perf.measure import machine
from tests.support.live import Live, LiveAccount, connect_live
from tests.support.simulator import start_simulator_process
from tests.support.stack import Infra, Stack, close_infra, make_infra, start_stack


async def _round(
    stack: Stack, accounts: list[LiveAccount], posts: int, replicas: int, timeout: float
) -> tuple[float, float]:
    """Deliveries/s of `replicas` publishers working through `posts` posts queued beforehand, and
    how many deliveries were under way on average."""
    queued: set[str] = set()
    began: dict[str, datetime] = {}
    done: dict[str, datetime] = {}
    bus = await Bus.connect(stack.infra.nats_url, namespace=stack.namespace)
    publishing, published = msgspec.json.Decoder(TargetPublishing), msgspec.json.Decoder(TargetPublished)
    fired = msgspec.json.Decoder(TargetQueued)

    async def on_queued(msg: Any) -> None:
        queued.add(fired.decode(msg.data).target_id)

    async def on_publishing(msg: Any) -> None:
        e = publishing.decode(msg.data)
        began.setdefault(e.target_id, e.occurred_at)

    async def on_published(msg: Any) -> None:
        e = published.decode(msg.data)
        done[e.target_id] = e.occurred_at

    for subject, cb in (
        ("evt.target.queued", on_queued),
        ("evt.target.publishing", on_publishing),
        ("evt.target.published", on_published),
    ):
        await bus.js.subscribe(bus.subject(subject), cb=cb, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    names = [f"publisher-mastodon-{n}" for n in range(1, replicas + 1)]
    targets: set[str] = set()
    try:
        headers = {"Authorization": f"Bearer {accounts[0].org.live_key}"}
        async with httpx.AsyncClient(base_url=f"{stack.api_url}/api/v1", timeout=60, headers=headers) as client:
            for i in range(posts):
                r = await client.post("/posts", json={"content": f"scale {i}", "accounts": [a.id for a in accounts]})
                r.raise_for_status()
                targets.update(t["id"] for t in r.json()["targets"])
        # Every command on its lane before a publisher starts: the round measures publishers only.
        await _until(lambda: targets <= queued, timeout, "every target queued")
        for name in names:
            stack.supervisor.add(name, ["publisher", "--platform", "mastodon"]).start()
        await _until(lambda: targets <= done.keys(), timeout, f"every target published by {replicas} publishers")
    finally:
        for name in names:
            if name in stack.supervisor.processes:
                stack.supervisor.processes.pop(name).terminate()
        await bus.close()
    first = min(began[t] for t in targets if t in began)
    wall = (max(done[t] for t in targets) - first).total_seconds()
    # Little's law: the deliveries under way on average, over all the round's publishers.
    busy = sum((done[t] - began[t]).total_seconds() for t in targets if t in began)
    return len(targets) / wall, busy / wall


async def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark gave up waiting for {what}")
        await asyncio.sleep(0.1)


def run(infra: Infra, posts: int, account_count: int, replicas: list[int], timeout: float) -> list[str]:
    sim = start_simulator_process()
    env = {"CRIER_PLATFORM_BASE_URL": sim.base_url, "CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "0"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-scale-")), env)
    try:
        org = stack.new_org("bench-scale")
        accounts = [connect_live(Live(stack, sim, None), "mastodon", org) for _ in range(account_count)]
        # The stack's `--platform all` publisher made the lanes' consumers; from now on only each
        # round's publishers read them.
        stack.supervisor.processes.pop("publisher").terminate()
        rates = {n: asyncio.run(_round(stack, accounts, posts, n, timeout)) for n in replicas}
    finally:
        stack.supervisor.stop_all()
        sim.stop()
    base = rates[replicas[0]][0]
    lines = [
        f"scaling: live Mastodon adapter to the simulator, {posts * account_count} targets a round"
        f" ({posts} posts to {account_count} accounts) queued before the round's publishers start"
    ]
    for n, (rate, in_flight) in rates.items():
        lines.append(
            f"  {n} publisher process{'es' if n > 1 else ''}: {rate:.0f} deliveries/s ({rate / base:.2f}x),"
            f" {in_flight:.1f} deliveries under way on average"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=100)
    p.add_argument("--accounts", type=int, default=10, help="live Mastodon accounts every post goes to")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.posts, args.accounts, args.replicas, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
