"""Delivery: one publisher process beside the same work done bare, and its deliveries in flight.

  1. bare: a JetStream pull+ack loop over N commands that commits, per message, one small database
     transaction the shape of a delivery's writes (an attempt row and an outbox row), with as many
     messages handled at once as the publisher has slots (`CRIER_PUBLISHER_CONCURRENCY`, 16);
  2. Crier: one `crier serve publisher --platform x` process delivering N sandbox targets whose
     commands were put on their lane before it started, from its first attempt to its last;
  3. the live Mastodon adapter with the platform simulator answering in 200 ms, one
     `--platform mastodon` process with 600 slots: the most deliveries it had in flight at once
     (from its attempts' start and finish), and how full its slots were while work was waiting.

    python -m tests.perf.bench_delivery [--targets 3000] [--live-posts 100] [--live-accounts 10]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg
import msgspec
from nats.js.api import StreamConfig

from crier.contracts.commands import command_subject
from crier.kit.bus import Bus, streams
from tests.perf.delivery_spans import in_flight, slot_fill
from tests.perf.measure import machine
from tests.publisher.factories import command
from tests.support.live import Live, connect_live
from tests.support.simulator import start_simulator_process
from tests.support.stack import Infra, close_infra, make_infra, start_services, start_stack, wait_for

SLOTS = 16
LIVE_SLOTS = 600
# More for the live publisher's environment (e.g. its database pool), to see what bounds it.
LIVE_ENV: dict[str, str] = {}
_ATTEMPTS = """SELECT min(started_at), max(finished_at), count(*) FILTER (WHERE outcome = 'published')
               FROM publisher.attempts"""


async def _bare(infra: Infra, database_url: str, n: int) -> float:
    """Messages/s of a pull+ack loop committing an attempt row and an outbox row per message."""
    bus = await Bus.connect(infra.nats_url, namespace=f"b{secrets.token_hex(4)}")
    db = await asyncpg.create_pool(database_url.replace("+asyncpg", ""), min_size=10, max_size=20)
    stream, subject = f"BARE_{secrets.token_hex(4)}", f"bare.{secrets.token_hex(4)}"
    try:
        await db.execute(
            "CREATE TABLE bare_attempts (target_id text, number int, started_at timestamptz DEFAULT now(),"
            " PRIMARY KEY (target_id, number));"
            "CREATE TABLE bare_outbox (id bigserial PRIMARY KEY, subject text, payload bytea)"
        )
        await bus.js.add_stream(StreamConfig(name=stream, subjects=[subject]))
        for _ in range(n):
            await bus.js.publish(subject, msgspec.json.encode(command("bare")))
        sub = await bus.js.pull_subscribe(subject, durable="bare", stream=stream)
        decoder = msgspec.json.Decoder(type=dict)
        free, fetched, freed = SLOTS, 0, asyncio.Event()

        async def handle(msg) -> None:  # type: ignore[no-untyped-def]
            nonlocal free
            cmd = decoder.decode(msg.data)
            async with db.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO bare_attempts (target_id, number) VALUES ($1, 1)", cmd["target_id"])
                await conn.execute("INSERT INTO bare_outbox (subject, payload) VALUES ($1, $2)", "evt", msg.data)
            await msg.ack()
            free += 1
            freed.set()

        began = time.perf_counter()
        tasks = []
        # As the publisher's intake does: each free slot is filled by the next fetch.
        while fetched < n:
            if free == 0:
                freed.clear()
                await freed.wait()
                continue
            msgs = await sub.fetch(min(free, n - fetched), timeout=5)
            fetched, free = fetched + len(msgs), free - len(msgs)
            tasks += [asyncio.create_task(handle(m)) for m in msgs]
        await asyncio.gather(*tasks)
        return n / (time.perf_counter() - began)
    finally:
        await db.execute("DROP TABLE IF EXISTS bare_attempts; DROP TABLE IF EXISTS bare_outbox")
        await db.close()
        await bus.js.delete_stream(stream)
        await bus.close()


async def _queue(nats_url: str, namespace: str, n: int, platform: str) -> None:
    bus = await Bus.connect(nats_url, namespace=namespace)
    try:
        await bus.ensure_streams()
        for _ in range(n):
            cmd = command("delivered", platform=platform)  # type: ignore[arg-type]
            await bus.js.publish(
                bus.subject(command_subject(cmd)), msgspec.json.encode(cmd), headers={"Nats-Msg-Id": cmd.target_id}
            )
    finally:
        await bus.close()


async def _attempts(database_url: str) -> asyncpg.Record:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return await conn.fetchrow(_ATTEMPTS)
    finally:
        await conn.close()


def _crier(infra: Infra, n: int, timeout: float) -> tuple[float, str]:
    """Sandbox targets/s of one `--platform x` publisher, and the database it ran on."""
    services = start_services(infra, Path(tempfile.mkdtemp(prefix="crier-bench-delivery-")), [])
    from crier.cli.services import migrations_dir
    from crier.kit.migrations import upgrade

    upgrade(migrations_dir("publisher"), services.database_url)
    asyncio.run(_queue(infra.nats_url, services.namespace, n, "x"))
    env = {"CRIER_LOG_LEVEL": "warning", "CRIER_PUBLISHER_CONCURRENCY": str(SLOTS)}
    services.supervisor.add("publisher-x", ["publisher", "--platform", "x"], env).start()
    try:
        row = wait_for(
            lambda: (r := asyncio.run(_attempts(services.database_url)))[2] >= n and r,
            timeout=timeout,
            what=f"{n} sandbox targets published:\n{services.logs()}",
            interval=0.5,
        )
    finally:
        services.supervisor.stop_all()
    return n / (row[1] - row[0]).total_seconds(), services.database_url


def _live(infra: Infra, posts: int, account_count: int, timeout: float) -> tuple[int, float, float, int]:
    """Peak deliveries in flight, the mean slot fill while work waited, deliveries/s, and targets."""
    import httpx

    sim = start_simulator_process()
    env = {"CRIER_PLATFORM_BASE_URL": sim.base_url, "CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "0"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-inflight-")), env)
    try:
        sim.configure("mastodon", latency_ms=200)
        org = stack.new_org("bench-inflight")
        accounts = [connect_live(Live(stack, sim, None), "mastodon", org) for _ in range(account_count)]
        stack.supervisor.processes.pop("publisher").terminate()
        headers = {"Authorization": f"Bearer {org.live_key}"}
        with httpx.Client(base_url=f"{stack.api_url}/api/v1", timeout=60, headers=headers) as client:
            for i in range(posts):
                client.post("/posts", json={"content": f"inflight {i}", "accounts": [a.id for a in accounts]})
        total = posts * account_count
        wait_for(lambda: _lag(stack) >= total, timeout=timeout, what="every command on its lane", interval=0.5)
        conc = {"CRIER_PUBLISHER_CONCURRENCY": str(LIVE_SLOTS), **LIVE_ENV}
        stack.supervisor.add("publisher-mastodon", ["publisher", "--platform", "mastodon"], conc).start()
        wait_for(
            lambda: asyncio.run(_attempts(stack.database_url))[2] >= total,
            timeout=timeout,
            what=f"{total} live targets published",
            interval=0.5,
        )
        spans = asyncio.run(_spans(stack.database_url))
    finally:
        stack.supervisor.stop_all()
        sim.stop()
    wall = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
    return in_flight(spans), slot_fill(spans, LIVE_SLOTS), total / wall, total


def _lag(stack) -> int:  # type: ignore[no-untyped-def]
    async def pending() -> int:
        bus = await Bus.connect(stack.infra.nats_url, namespace=stack.namespace)
        try:
            return (await bus.js.stream_info(bus.stream(streams.PUBLISH))).state.messages
        finally:
            await bus.close()

    return asyncio.run(pending())


async def _spans(database_url: str) -> list:  # type: ignore[type-arg]
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return [(r[0], r[1]) for r in await conn.fetch("SELECT started_at, finished_at FROM publisher.attempts")]
    finally:
        await conn.close()


def run(infra: Infra, targets: int, live_posts: int, live_accounts: int, timeout: float) -> list[str]:
    crier, database_url = _crier(infra, targets, timeout)
    bare = asyncio.run(_bare(infra, database_url, targets))
    lines = [
        f"delivery, {targets} sandbox targets queued before one `--platform x` publisher starts ({SLOTS} slots):",
        f"  bare JetStream pull+ack, one attempt + outbox transaction per message: {bare:.0f} msgs/s",
        f"  Crier publisher: {crier:.0f} targets/s ({crier / bare:.0%} of bare)",
    ]
    if live_posts:
        peak, fill, rate, total = _live(infra, live_posts, live_accounts, timeout)
        lines.append(
            f"  live Mastodon adapter, 200 ms platform latency, {total} targets, {LIVE_SLOTS} slots:"
            f" peak {peak} deliveries in flight, slots {fill:.0%} full while work waited, {rate:.0f} deliveries/s"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", type=int, default=3000)
    p.add_argument("--live-posts", type=int, default=100, help="posts to every live account (0: skip)")
    p.add_argument("--live-accounts", type=int, default=10)
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.targets, args.live_posts, args.live_accounts, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
