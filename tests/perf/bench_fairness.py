"""Fairness and priority under a burst: scheduled posts falling due while one organisation's burst
of immediate posts fills the publisher, and other organisations posting meanwhile.

On a stack whose sandbox platform takes `--slow-ms` per delivery (so the publisher, not the API, is
the bottleneck), one run measures the same scheduled posts and trickle twice:
  - bare: scheduled posts of organisation A and a trickle of organisation B's posts, nothing else;
  - contended: the same behind a burst of `--burst` immediate posts from A, while C sends a burst too.
It reports the scheduled posts' lateness (published minus scheduled_at, p50/p99), B's request →
published (p50/p99), each ratio to the bare run, and each organisation's share of the deliveries
while A's and C's bursts were both waiting. Timings come from the events on the bus.

    python -m tests.perf.bench_fairness [--burst 400] [--slow-ms 400]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
from nats.js.api import DeliverPolicy

from crier.contracts.commands import lane_of
from crier.contracts.events import TargetPublished, TargetPublishing, TargetQueued
from crier.kit.bus import Bus
from crier.publisher.settings import PublisherSettings
from tests.perf.measure import machine, pct
from tests.support.stack import Infra, Org, Stack, close_infra, make_infra, start_stack

SCHEDULED, TRICKLE, SPACING_S = 20, 20, 0.3


class Deliveries:
    """Every target published, with its organisation and moment, as the bus announces them; and when
    each was queued (fired by the scheduler) and its delivery began."""

    def __init__(self) -> None:
        self.at: dict[str, tuple[str, datetime]] = {}
        self.queued: dict[str, datetime] = {}
        self.began: dict[str, datetime] = {}

    async def start(self, bus: Bus) -> None:
        published = msgspec.json.Decoder(TargetPublished)
        queued = msgspec.json.Decoder(TargetQueued)
        publishing = msgspec.json.Decoder(TargetPublishing)

        async def on_published(msg: Any) -> None:
            e = published.decode(msg.data)
            self.at[e.target_id] = (e.org_id, e.occurred_at)

        async def on_queued(msg: Any) -> None:
            e = queued.decode(msg.data)
            self.queued[e.target_id] = e.occurred_at

        async def on_publishing(msg: Any) -> None:
            e = publishing.decode(msg.data)
            self.began.setdefault(e.target_id, e.occurred_at)

        for subject, cb in (
            ("evt.target.published", on_published),
            ("evt.target.queued", on_queued),
            ("evt.target.publishing", on_publishing),
        ):
            await bus.js.subscribe(bus.subject(subject), cb=cb, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)

    async def wait(self, targets: set[str], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while missing := len(targets - self.at.keys()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"benchmark gave up waiting for {what}: {missing} of {len(targets)} missing")
            await asyncio.sleep(0.1)


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/posts", json=body)
    if r.status_code != 201:
        raise RuntimeError(f"POST /posts answered {r.status_code}: {r.text[:300]}")
    return dict(r.json())


async def _burst(client: httpx.AsyncClient, account: str, count: int, content: str) -> set[str]:
    """`count` immediate posts, sent by eight clients at once."""
    queue = list(range(count))
    targets: set[str] = set()

    async def worker() -> None:
        while queue:
            queue.pop()
            post = await _post(client, {"content": content, "accounts": [account]})
            targets.update(t["id"] for t in post["targets"])

    await asyncio.gather(*(worker() for _ in range(8)))
    return targets


async def _trickle(client: httpx.AsyncClient, account: str, content: str) -> dict[str, datetime]:
    sent: dict[str, datetime] = {}
    start = time.monotonic()
    for i in range(TRICKLE):
        await asyncio.sleep(max(0.0, start + i * SPACING_S - time.monotonic()))  # load generation, not a wait
        at = datetime.now(UTC)
        post = await _post(client, {"content": content, "accounts": [account]})
        sent.update({t["id"]: at for t in post["targets"]})
    return sent


async def _round(stack: Stack, orgs: dict[str, tuple[Org, str]], burst: int, slow_ms: int, timeout: float) -> dict:
    bus = await Bus.connect(stack.infra.nats_url, namespace=stack.namespace)
    seen = Deliveries()
    await seen.start(bus)
    content = f"[sandbox:slow={slow_ms}] fairness"
    clients = {
        name: httpx.AsyncClient(
            base_url=f"{stack.api_url}/api/v1", timeout=60, headers={"Authorization": f"Bearer {org.test_key}"}
        )
        for name, (org, _) in orgs.items()
    }
    try:
        # A's burst is queued first; then A's scheduled posts fall due one by one from 2 s on, B
        # posts a little at a time, and C sends a burst of its own behind A's.
        a_burst = await _burst(clients["A"], orgs["A"][1], burst, content)
        first_due = datetime.now(UTC) + timedelta(seconds=2)
        due: dict[str, datetime] = {}
        for i in range(SCHEDULED):
            at = first_due + timedelta(seconds=i * SPACING_S)
            body = {"content": content, "accounts": [orgs["A"][1]], "scheduled_at": at.isoformat()}
            due.update({t["id"]: at for t in (await _post(clients["A"], body))["targets"]})
        sent, c_burst = await asyncio.gather(
            _trickle(clients["B"], orgs["B"][1], content), _burst(clients["C"], orgs["C"][1], burst // 4, content)
        )
        await seen.wait(set(due) | set(sent) | a_burst | c_burst, timeout, "every target published")
    finally:
        for client in clients.values():
            await client.aclose()
        await bus.close()
    out: dict[str, Any] = {
        "late": [(seen.at[t][1] - at).total_seconds() for t, at in due.items()],
        "b": [(seen.at[t][1] - at).total_seconds() for t, at in sent.items()],
        # The publisher's part: from the command on its lane to its delivery beginning.
        "late_wait": [(seen.began[t] - seen.queued[t]).total_seconds() for t in due],
        "b_wait": [(seen.began[t] - seen.queued[t]).total_seconds() for t in sent],
    }
    if burst:
        # While both bursts wait: from C's first target queued until either burst is all delivered.
        start = min(seen.queued[t] for t in c_burst)
        end = min(max(seen.at[t][1] for t in a_burst), max(seen.at[t][1] for t in c_burst))
        names = {org.id: name for name, (org, _) in orgs.items()}
        window = [names[o] for o, at in seen.at.values() if start <= at <= end]
        out["share"] = {n: window.count(n) / len(window) for n in sorted(orgs)}
        out["window"] = len(window)
    return out


def _org(stack: Stack, name: str, taken: set[int]) -> tuple[Org, str]:
    """An organisation whose lane no other organisation of the run hashes to, with a sandbox account."""
    while True:
        org = stack.new_org(f"fair-{name.lower()}")
        if lane_of(org.id) not in taken:
            taken.add(lane_of(org.id))
            break
    with org.test() as client:
        r = client.post("/sandbox/social-accounts", json={"platform": "x", "username": f"fair{name.lower()}"})
        r.raise_for_status()
        return org, r.json()["id"]


def run(infra: Infra, burst: int, slow_ms: int, timeout: float) -> list[str]:
    env = {"CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "0"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-fair-")), env)
    try:
        taken: set[int] = set()
        orgs = {name: _org(stack, name, taken) for name in ("A", "B", "C")}
        bare = asyncio.run(_round(stack, orgs, 0, slow_ms, timeout))
        hot = asyncio.run(_round(stack, orgs, burst, slow_ms, timeout))
    finally:
        stack.supervisor.stop_all()

    def figures(key: str) -> str:
        p50, p99 = pct(hot[key], 50), pct(hot[key], 99)
        b50, b99 = pct(bare[key], 50), pct(bare[key], 99)
        ratios = f"ratio {p50 / b50:.1f}x, {p99 / b99:.1f}x"
        return f"p50 {p50:.2f}s p99 {p99:.2f}s (bare: p50 {b50:.2f}s p99 {b99:.2f}s; {ratios})"

    share = ", ".join(f"{n} {s:.0%}" for n, s in hot["share"].items())
    slots = PublisherSettings.publisher_concurrency
    return [
        f"fairness: sandbox platform taking {slow_ms} ms a delivery ({slots} at once), A's burst of {burst}"
        f" immediate posts queued, then {SCHEDULED} of A's scheduled posts falling due every {SPACING_S:.1f}s,"
        f" B posting every {SPACING_S:.1f}s ({TRICKLE} posts) and C's burst of {burst // 4}",
        f"  scheduled posts' lateness (published − scheduled_at): {figures('late')}",
        f"    of which queued → delivery began: {figures('late_wait')}",
        f"  B's request → published: {figures('b')}",
        f"    of which queued → delivery began: {figures('b_wait')}",
        f"  shares of the {hot['window']} deliveries while A's and C's bursts both waited: {share}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--burst", type=int, default=400, help="A's immediate posts (C sends a quarter as many)")
    p.add_argument("--slow-ms", type=int, default=400, help="how long the sandbox takes per delivery")
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.burst, args.slow_ms, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
