"""`make bench`: throughput and latency of a whole Crier stack on loopback.

Starts a stack (embedded servers unless CRIER_TEST_DATABASE_URL / CRIER_TEST_NATS_URL are set),
then measures, for sandbox posts with three targets each:
  1. accepted posts/s at the API (concurrent POST /posts),
  2. end-to-end seconds from request to all targets published (p50/p99),
  3. scheduler lateness (p50/p99) for N posts due within the same minute: the moment a target is
     queued (its `evt.target.queued` event) minus its scheduled_at;
then, on a second stack whose platforms are the platform simulator, 4. live-adapter delivery to
Mastodon accounts with 0 ms and 200 ms of platform latency (`tests.perf.bench_live`); and on a
third, 5. a 500 MB media upload's throughput and the gateway's peak memory during it, beside a bare
Litestar app reading the same upload (`tests.perf.bench_media`); and on a fourth, 6. scheduled
posts' lateness and other organisations' share while one organisation's burst fills a slow
platform, beside the same posts with no burst (`tests.perf.bench_fairness`); and on a fifth, 7. live
delivery throughput with 1, 2 and 3 publisher processes of one platform (`tests.perf.bench_scale`);
and on a sixth, 8. the scheduler's and the gateway's memory with 10,000 to 1,000,000 scheduled targets
pending and the lateness of 100,000 targets due in one minute, beside the same firing done bare
(`tests.perf.bench_scheduler`); and 9. one publisher process's sandbox deliveries/s beside a bare
JetStream pull+ack loop committing the same shape of transaction, and its deliveries in flight with
200 ms of platform latency (`tests.perf.bench_delivery`).
Timings come from the events on the bus, so the benchmark observes the system without slowing it.
Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
from nats.js.api import DeliverPolicy

from crier.contracts.events import TargetPublished, TargetQueued
from crier.kit.bus import Bus
from tests.perf import (
    bench_delivery,
    bench_fairness,
    bench_ingest,
    bench_live,
    bench_media,
    bench_scale,
    bench_scheduler,
)
from tests.perf.measure import machine, pct
from tests.perf.raw_http import RawApi
from tests.support.stack import close_infra, make_infra, start_stack


class Observer:
    """Collects target events from the bus as they happen."""

    def __init__(self) -> None:
        self.published: dict[str, datetime] = {}
        self.queued: dict[str, datetime] = {}

    async def start(self, bus: Bus) -> None:
        pub = msgspec.json.Decoder(TargetPublished)
        que = msgspec.json.Decoder(TargetQueued)

        async def on_published(msg) -> None:  # type: ignore[no-untyped-def]
            e = pub.decode(msg.data)
            self.published[e.target_id] = e.occurred_at

        async def on_queued(msg) -> None:  # type: ignore[no-untyped-def]
            e = que.decode(msg.data)
            self.queued[e.target_id] = e.occurred_at

        await bus.js.subscribe(
            bus.subject("evt.target.published"),
            cb=on_published,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )
        await bus.js.subscribe(
            bus.subject("evt.target.queued"), cb=on_queued, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
        )


async def wait_until(wanted: dict | set, seen: dict, timeout: float, what: str) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while missing := sum(1 for t in wanted if t not in seen):
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark gave up waiting for {what}: {missing} of {len(wanted)} missing")
        await asyncio.sleep(0.1)


async def create_posts(
    client: RawApi, bodies: list[dict], concurrency: int
) -> tuple[float, list[tuple[dict, datetime]]]:
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    created: list[tuple[dict, datetime]] = []

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            sent = datetime.now(UTC)
            status, post = await asyncio.wait_for(client.post("/posts", body), timeout=60)
            if status != 201:
                raise RuntimeError(f"POST /posts answered {status}: {str(post)[:300]}")
            created.append((post, sent))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, created


async def run(args: argparse.Namespace, infra, stack) -> None:  # type: ignore[no-untyped-def]
    if True:
        org = stack.new_org("bench")
        bus = await Bus.connect(infra.nats_url, namespace=stack.namespace)
        observer = Observer()
        await observer.start(bus)
        # Only for the accounts: the posts go through `RawApi`, below.
        async with httpx.AsyncClient(
            base_url=f"{stack.api_url}/api/v1",
            timeout=60,
            headers={"Authorization": f"Bearer {org.test_key}"},
        ) as client:
            accounts = []
            for p in ("x", "linkedin", "bluesky"):
                r = await client.post(
                    "/sandbox/social-accounts", json={"platform": p, "username": f"bench{secrets.token_hex(3)}"}
                )
                r.raise_for_status()
                accounts.append(r.json()["id"])

            # 1 + 2: immediate posts, sent by the benchmarks' minimal client (`raw_http`): httpx's
            # CPU, on the same two cores, was what bound the accepted rate.
            poster = RawApi(int(httpx.URL(stack.api_url).port or 80), org.test_key)
            bodies = [{"content": f"bench {i}", "accounts": accounts} for i in range(args.posts)]
            elapsed, created = await create_posts(poster, bodies, args.concurrency)
            rate = len(created) / elapsed
            targets = {t["id"]: (post["id"], sent) for post, sent in created for t in post["targets"]}
            await wait_until(targets, observer.published, args.timeout, "immediate posts")
            done_at: dict[str, datetime] = {}
            for target_id, (post_id, _) in targets.items():
                done_at[post_id] = max(
                    done_at.get(post_id, observer.published[target_id]), observer.published[target_id]
                )
            e2e = [(done_at[post["id"]] - sent).total_seconds() for post, sent in created]

            # 3: scheduled posts due within the same minute.
            create_s = args.scheduled / rate * 1.5 + 15
            base = datetime.now(UTC) + timedelta(seconds=create_s)
            base = base.replace(second=0, microsecond=0) + timedelta(minutes=1)
            step = 60 / max(1, args.scheduled)
            sched_bodies = [
                {
                    "content": f"sched {i}",
                    "accounts": accounts,
                    "scheduled_at": (base + timedelta(seconds=i * step)).isoformat(),
                }
                for i in range(args.scheduled)
            ]
            _, sched_created = await create_posts(poster, sched_bodies, args.concurrency)
            poster.close()
            created_by = datetime.now(UTC)
            due = {
                t["id"]: datetime.fromisoformat(post["scheduled_at"].replace("Z", "+00:00"))
                for post, _ in sched_created
                for t in post["targets"]
            }
            await wait_until(due, observer.queued, args.timeout + 120, "scheduled posts")
            lateness = [(observer.queued[t] - d).total_seconds() for t, d in due.items()]
            await wait_until(due, observer.published, args.timeout, "scheduled posts to publish")
        await bus.close()

    print(f"machine: {machine()}")
    nats = "(external)" if os.environ.get("CRIER_TEST_NATS_URL") else ""
    postgres = "(external)" if os.environ.get("CRIER_TEST_DATABASE_URL") else "(embedded, fsync off)"
    print(f"stack: every service as its own process, embedded NATS {nats} and PostgreSQL {postgres}")
    print(
        f"accepted posts/s at the API (3 targets each, {args.posts} posts, {args.concurrency} concurrent clients):"
        f" {rate:.0f}"
    )
    print(f"end-to-end request → all targets published: p50 {pct(e2e, 50):.3f}s  p99 {pct(e2e, 99):.3f}s")
    print(
        f"scheduler lateness, {args.scheduled} posts ({len(due)} targets) due in one minute"
        f" (all created {(base - created_by).total_seconds():.0f}s before the first was due):"
        f" p50 {pct(lateness, 50) * 1000:.0f}ms  p99 {pct(lateness, 99) * 1000:.0f}ms"
        f"  max {max(lateness) * 1000:.0f}ms  early {sum(1 for s in lateness if s < 0)}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=1000, help="immediate posts (default 1000)")
    p.add_argument("--scheduled", type=int, default=10_000, help="scheduled posts due in one minute (default 10000)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--live-posts", type=int, default=300, help="posts to 4 live Mastodon accounts per latency")
    p.add_argument("--media-mb", type=int, default=500, help="size of the media upload in MB (default 500)")
    p.add_argument("--ingest-posts", type=int, default=2000, help="posts per ingest figure (tests.perf.bench_ingest)")
    args = p.parse_args()
    infra = make_infra()
    # One key sends the whole burst: the per-key rate limit is not what is measured here.
    env = {"CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "0"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-")), env)
    try:
        asyncio.run(run(args, infra, stack))
        stack.supervisor.stop_all()
        for line in bench_ingest.run(infra, args.ingest_posts, echo_requests=20_000):
            print(line)
        for line in bench_delivery.run(infra, targets=3000, live_posts=100, live_accounts=10, timeout=args.timeout):
            print(line)
        for line in bench_live.run(infra, args.live_posts, 4, [0, 200], args.timeout):
            print(line)
        for line in bench_media.run(infra, args.media_mb, args.timeout):
            print(line)
        for line in bench_fairness.run(infra, burst=400, slow_ms=400, timeout=args.timeout):
            print(line)
        for line in bench_scale.run(infra, posts=100, account_count=10, replicas=[1, 2, 3], timeout=args.timeout):
            print(line)
        for line in bench_scheduler.run(infra, [10_000, 100_000, 1_000_000], 100_000, args.timeout):
            print(line)
    finally:
        stack.supervisor.stop_all()
        close_infra(infra)


if __name__ == "__main__":
    sys.exit(main())
