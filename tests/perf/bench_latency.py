"""Latency: request → every target published, one post at a time and under a steady load.

Run by `bench_ingest` on its stack, after the ingest figures, so the steady load can be set at half
of the rate the pipeline delivered immediate posts at a moment before, on the same machine (the
rate it can sustain; requests alone are answered faster than the pipeline delivers them):
  - one at a time: each post sent once the previous one's three targets are all published;
  - steady: posts sent open-loop at half that delivered rate (each on its own schedule,
    whether or not the earlier ones are done), for a fixed number of seconds.
A post's latency runs from just before its request is written to the moment its last target's
`evt.target.published` reaches this process (a bus subscription, as any consumer would see it).

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import msgspec
from nats.js.api import DeliverPolicy

from crier.contracts.events import TargetPublished
from crier.kit.bus import Bus
from tests.perf.measure import pct
from tests.perf.raw_http import RawApi

ONE_AT_A_TIME = 50
STEADY_SECONDS = 15
DEADLINE_S = 60
# The ingest figures leave thousands of targets queued: the first post waits behind all of them (its
# lane is first in, first out), so its answer means the pipeline is idle again. Not measured.
DRAIN_DEADLINE_S = 600


class Published:
    """Wakes whoever waits on a post when its last target is published."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[set[str], asyncio.Future[float]]] = {}
        self.early: dict[str, float] = {}  # a target published before its post's answer was read

    async def start(self, bus: Bus) -> None:
        decoder = msgspec.json.Decoder(TargetPublished)

        async def on_published(msg) -> None:  # type: ignore[no-untyped-def]
            at = time.perf_counter()
            event = decoder.decode(msg.data)
            self._seen(event.post_id, event.target_id, at)

        await bus.js.subscribe(
            bus.subject("evt.target.published"),
            cb=on_published,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )

    def _seen(self, post_id: str, target_id: str, at: float) -> None:
        entry = self.waiting.get(post_id)
        if entry is None:
            self.early[target_id] = at
            return
        targets, done = entry
        targets.discard(target_id)
        if not targets and not done.done():
            done.set_result(at)

    def expect(self, post_id: str, target_ids: list[str]) -> asyncio.Future[float]:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        left = {t for t in target_ids if t not in self.early}
        self.waiting[post_id] = (left, done)
        if not left:
            done.set_result(max(self.early[t] for t in target_ids))
        return done


async def _one_post(
    client: RawApi, published: Published, accounts: list[str], label: str, deadline_s: float = DEADLINE_S
) -> float:
    sent = time.perf_counter()
    status, post = await asyncio.wait_for(
        client.post("/posts", {"content": f"latency {label}", "accounts": accounts}), timeout=deadline_s
    )
    if status != 201:
        raise RuntimeError(f"POST /posts answered {status}: {str(post)[:300]}")
    done_at = await asyncio.wait_for(
        published.expect(post["id"], [t["id"] for t in post["targets"]]), timeout=deadline_s
    )
    return done_at - sent


async def measure(nats_url: str, namespace: str, api_url: str, key: str, accounts: list[str], rate: float) -> list[str]:
    bus = await Bus.connect(nats_url, namespace=namespace)
    published = Published()
    await published.start(bus)
    run = secrets.token_hex(3)
    try:
        client = RawApi(int(httpx.URL(api_url).port or 80), key)
        try:
            await _one_post(client, published, accounts, f"{run} drain", DRAIN_DEADLINE_S)
            await _one_post(client, published, accounts, f"{run} warm-up")
            alone = [await _one_post(client, published, accounts, f"{run} alone {i}") for i in range(ONE_AT_A_TIME)]
            steady_rate = max(rate / 2, 1.0)
            count = int(steady_rate * STEADY_SECONDS)
            start = time.perf_counter()

            async def scheduled(i: int) -> float:
                await asyncio.sleep(max(0.0, start + i / steady_rate - time.perf_counter()))  # the load's pace
                return await _one_post(client, published, accounts, f"{run} steady {i}")

            steady = await asyncio.gather(*(scheduled(i) for i in range(count)))
        finally:
            client.close()
    finally:
        await bus.close()
    return [
        "latency: request → all 3 targets published (sandbox), seen on the bus",
        f"  one post at a time ({ONE_AT_A_TIME} posts): p50 {pct(alone, 50) * 1000:.0f} ms,"
        f" p99 {pct(alone, 99) * 1000:.0f} ms",
        f"  steady at half the delivered rate ({steady_rate:.0f} posts/s for {STEADY_SECONDS} s, {count} posts):"
        f" p50 {pct(steady, 50) * 1000:.0f} ms, p99 {pct(steady, 99) * 1000:.0f} ms",
    ]
