"""Ingest: `POST /api/v1/posts` with three targets, against what the stack underneath does bare.

In one run, on this machine:
  - echo: a bare Litestar app served exactly as the gateway is (`gateway.entrypoints.main`'s
    server settings and event loop), answering a 1 kB JSON body with itself, 32 connections;
  - raw asyncpg: the rows a create writes (its event, post, three targets and outbox message, copied
    from a post Crier made) inserted by hand in one transaction, 16 connections;
  - Crier, drafts and immediate posts (the pipeline publishing beside the ingest), 32 connections,
    each request with an Idempotency-Key and an external_ref, and the per-key rate limit counting;
  - Crier's reads, 32 connections: one post with its targets, and a page of 20 posts;
  - the rate the pipeline delivers immediate posts at, end to end (the rate it can sustain), and
    the latency figures of `bench_latency`, its steady load at half that rate.
Crier's figures are printed with their ratios to both baselines. Every client is the same minimal
HTTP/1.1 keep-alive client, so the load generator costs each side alike.

    python -m tests.perf.bench_ingest [--posts 2000]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from nats.aio.msg import Msg

from crier.contracts.events import TargetPublished
from crier.kit.bus import Bus
from crier.kit.embedded import free_port
from tests.perf import bench_latency
from tests.perf.measure import machine, pct
from tests.perf.raw_http import open_connection, read_response, request_bytes
from tests.support.stack import Infra, close_infra, make_infra, start_stack

ECHO_CONNECTIONS, DB_CONNECTIONS, API_CONNECTIONS = 32, 16, 32
# How long a burst of immediate posts may take to be delivered, after its last request.
DELIVERY_DEADLINE_S = 600


async def _load(
    port: int, requests: list[bytes], connections: int, ok: int, bodies: list[bytes] | None = None
) -> tuple[float, list[float]]:
    """Sends every request over `connections` keep-alive connections; seconds taken, and each
    request's latency. Any answer but `ok` stops the run. The answers' bodies go to `bodies`."""
    pending = iter(requests)
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await open_connection(port)
        try:
            for request in pending:
                sent = time.perf_counter()
                writer.write(request)
                status, body = await read_response(reader)
                if status != ok:
                    raise RuntimeError(f"answered {status}: {body[:300]!r}")
                latencies.append(time.perf_counter() - sent)
                if bodies is not None:
                    bodies.append(body)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start, latencies


def serve_echo(port: int) -> None:
    """The bare app, in a process of its own, like the gateway's."""
    import uvicorn
    from litestar import Litestar, post

    from crier.gateway.entrypoints.main import run_on_fastest_loop, server_config

    @post("/echo")
    async def echo(data: dict[str, Any]) -> dict[str, Any]:
        return data

    async def serve() -> int:
        await uvicorn.Server(server_config(Litestar([echo], logging_config=None), "127.0.0.1", port)).serve()
        return 0

    run_on_fastest_loop(serve())


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port}")


def measure_echo(count: int) -> tuple[float, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.perf.bench_ingest", "--serve-echo", str(port)])
    try:
        _wait_port(port)
        body = json.dumps({"content": "x" * 960, "accounts": ["a", "b", "c"]}).encode()
        requests = [request_bytes(port, "POST", "/echo", body, {})] * count
        asyncio.run(_load(port, requests[: count // 10], ECHO_CONNECTIONS, 201))  # warm up
        elapsed, latencies = asyncio.run(_load(port, requests, ECHO_CONNECTIONS, 201))
        return count / elapsed, pct(latencies, 50)
    finally:
        proc.terminate()
        proc.wait(10)


async def measure_asyncpg(database_url: str, post_id: str, count: int) -> float:
    """The rows Crier wrote for `post_id`, written again `count` times under new ids, into copies
    of the gateway's tables (same columns, keys and indexes) that no relay or consumer reads."""
    setup = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    event = await setup.fetchrow("SELECT * FROM post_events WHERE post_id = $1", post_id)
    post = await setup.fetchrow("SELECT * FROM posts WHERE id = $1", post_id)
    targets = await setup.fetch("SELECT * FROM post_targets WHERE post_id = $1 ORDER BY position", post_id)
    await setup.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE; CREATE SCHEMA bench_raw")
    for table in ("post_events", "posts", "post_targets", "outbox"):
        await setup.execute(f"CREATE TABLE bench_raw.{table} (LIKE gateway.{table} INCLUDING ALL)")
    await setup.close()
    # The outbox message carries the post's created event, about the size of the stored one.
    payload, headers = event["data"].encode(), json.dumps({"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"})

    def insert(table: str, row: Any) -> tuple[str, list[str]]:
        cols = list(row.keys())
        marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", cols

    ev_sql, ev_cols = insert("post_events", event)
    post_sql, post_cols = insert("posts", post)
    t_sql, t_cols = insert("post_targets", targets[0])
    out_sql = "INSERT INTO outbox (msg_id, subject, payload, headers) VALUES ($1, $2, $3, $4)"
    remaining = iter(range(count // 10))  # the warm-up's

    async def worker(conn: asyncpg.Connection) -> None:
        for _ in remaining:
            pid = str(uuid.uuid4())
            target_rows = [
                [pid if c == "post_id" else str(uuid.uuid4()) if c == "id" else t[c] for c in t_cols] for t in targets
            ]
            async with conn.transaction():
                await conn.execute(ev_sql, *[pid if c == "post_id" else event[c] for c in ev_cols])
                await conn.execute(post_sql, *[pid if c == "id" else post[c] for c in post_cols])
                await conn.executemany(t_sql, target_rows)
                await conn.execute(out_sql, str(uuid.uuid4()), "evt.post.created", payload, headers)

    conns = [
        await asyncpg.connect(database_url, server_settings={"search_path": "bench_raw"}) for _ in range(DB_CONNECTIONS)
    ]
    try:
        await asyncio.gather(*(worker(c) for c in conns))
        remaining = iter(range(count))
        start = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        return count / (time.perf_counter() - start)
    finally:
        for c in conns:
            await c.close()


def measure_reads(port: int, key: str, post_id: str, count: int) -> dict[str, tuple[float, float]]:
    """What API clients poll: one post with its three targets, `count` times, and the newest page
    of 20 of the organization's posts (the drafts just made), a quarter as often. Each warmed up
    first. Rate and p50 of each."""
    auth = {"authorization": f"Bearer {key}"}
    figures = {}
    for label, path, times in (
        ("GET one post", f"/api/v1/posts/{post_id}", count),
        ("GET a page of 20 posts", "/api/v1/posts?limit=20", count // 4),
    ):
        requests = [request_bytes(port, "GET", path, b"", auth)] * times
        asyncio.run(_load(port, requests[: times // 10], API_CONNECTIONS, 200))
        elapsed, latencies = asyncio.run(_load(port, requests, API_CONNECTIONS, 200))
        figures[label] = (times / elapsed, pct(latencies, 50))
    return figures


async def measure_immediate(
    nats_url: str, namespace: str, port: int, key: str, accounts: list[str], posts: int
) -> tuple[float, float, float]:
    """Immediate posts: the rate requests are answered at, their p50, and the rate the pipeline
    delivers them at: posts / (last target published - first request sent). Ingest alone outruns
    the pipeline (its queues grow while the burst lasts), so the delivered rate is the one the
    installation can sustain, and the steady latency load is set at half of it."""
    bus = await Bus.connect(nats_url, namespace=namespace)
    waiting: dict[str, int] = {}
    published: list[float] = []
    decoder = msgspec.json.Decoder(TargetPublished)

    async def on_published(msg: Msg) -> None:
        event = decoder.decode(msg.data)
        waiting[event.post_id] = waiting.get(event.post_id, 0) + 1
        if waiting[event.post_id] == len(accounts):
            published.append(time.perf_counter())

    # A core subscription sees every message the stream stores, as it is stored.
    sub = await bus.nc.subscribe(bus.subject("evt.target.published"), cb=on_published, pending_msgs_limit=-1)
    try:
        figures = (0.0, 0.0, 0.0)
        for count in (posts // 10, posts):  # a warm-up, drained before the measured burst
            bodies: list[bytes] = []
            waiting.clear()
            published.clear()
            start = time.perf_counter()
            elapsed, latencies = await _load(
                port, _posts(port, key, accounts, count, False), API_CONNECTIONS, 201, bodies
            )
            ids = {json.loads(b)["id"] for b in bodies}
            deadline = time.monotonic() + DELIVERY_DEADLINE_S
            while sum(1 for i in ids if waiting.get(i) == len(accounts)) < count:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the pipeline did not deliver {count} posts in {DELIVERY_DEADLINE_S} s")
                await asyncio.sleep(0.1)  # polls a condition with a deadline
            figures = (count / elapsed, pct(latencies, 50), count / (max(published) - start))
        return figures
    finally:
        await sub.unsubscribe()
        await bus.close()


async def _analyze(database_url: str) -> None:
    """Statistics for the tables a create reads, filled by the warm-up, as autovacuum gathers them
    within its first minute on a new database. Until then a plan PostgreSQL caches for a
    connection's prepared statement, made while the tables were nearly empty, may be one that is
    wrong at the burst's size, and it is kept until the tables are analyzed: in one run the
    create's read scanned the organization's posts (index `posts_scheduled`) instead of looking its
    external_ref up, 357 us a call instead of 31-44. On a new database the figure depended on which
    plan each connection happened to cache. Only those tables: the delivery's tables are still
    empty here, and statistics saying so would plan the immediate posts' burst as if they stayed
    empty (ANALYZE of every table: 286 -> 130 posts/s delivered)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ANALYZE gateway.posts, gateway.idempotency_keys, gateway.accounts")
    finally:
        await conn.close()


def _posts(port: int, key: str, accounts: list[str], count: int, draft: bool) -> list[bytes]:
    run = secrets.token_hex(4)
    out = []
    for i in range(count):
        body: dict[str, Any] = {"content": f"ingest {run} {i}", "accounts": accounts, "external_ref": f"{run}-{i}"}
        if draft:
            body["is_draft"] = True
        headers = {"authorization": f"Bearer {key}", "idempotency-key": f"{run}-{i}"}
        out.append(request_bytes(port, "POST", "/api/v1/posts", json.dumps(body).encode(), headers))
    return out


def run(infra: Infra, posts: int, echo_requests: int) -> list[str]:
    echo_rate, echo_p50 = measure_echo(echo_requests)
    # The default limit, raised only so one key can send the whole burst: every request is counted.
    env = {"CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "1000000"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-ingest-")), env)
    try:
        org = stack.new_org("ingest")
        with org.test() as client:
            accounts = []
            for p in ("x", "linkedin", "bluesky"):
                r = client.post(
                    "/sandbox/social-accounts", json={"platform": p, "username": f"in{secrets.token_hex(3)}"}
                )
                r.raise_for_status()
                accounts.append(r.json()["id"])
            template = client.post("/posts", json={"content": "template " + "y" * 40, "accounts": accounts})
            template.raise_for_status()
        port = int(httpx.URL(stack.api_url).port or 80)
        db_rate = asyncio.run(measure_asyncpg(stack.database_url, template.json()["id"], posts))
        figures = {}
        asyncio.run(_load(port, _posts(port, org.test_key, accounts, posts // 10, True), API_CONNECTIONS, 201))
        asyncio.run(_analyze(stack.database_url))
        elapsed, latencies = asyncio.run(
            _load(port, _posts(port, org.test_key, accounts, posts, True), API_CONNECTIONS, 201)
        )
        figures["drafts"] = (posts / elapsed, pct(latencies, 50))
        reads = measure_reads(port, org.test_key, template.json()["id"], posts)
        rate, p50, delivered = asyncio.run(
            measure_immediate(infra.nats_url, stack.namespace, port, org.test_key, accounts, posts)
        )
        figures["immediate"] = (rate, p50)
        latency = asyncio.run(
            bench_latency.measure(infra.nats_url, stack.namespace, stack.api_url, org.test_key, accounts, delivered)
        )
    finally:
        stack.supervisor.stop_all()
    lines = [
        f"ingest: POST /api/v1/posts, 3 sandbox targets, Idempotency-Key and external_ref on each, {posts} posts",
        f"  bare Litestar echo (1 kB JSON, {ECHO_CONNECTIONS} connections): {echo_rate:.0f} req/s,"
        f" p50 {echo_p50 * 1000:.1f} ms",
        f"  raw asyncpg, a create's rows in one transaction ({DB_CONNECTIONS} connections): {db_rate:.0f} tx/s",
    ]
    for label, (rate, p50) in figures.items():
        lines.append(
            f"  Crier {label} ({API_CONNECTIONS} connections): {rate:.0f} posts/s, p50 {p50 * 1000:.0f} ms"
            f" — {rate / echo_rate:.0%} of the echo, {rate / db_rate:.0%} of raw asyncpg"
        )
    for label, (rate, p50) in reads.items():
        lines.append(
            f"  Crier {label} ({API_CONNECTIONS} connections): {rate:.0f} req/s, p50 {p50 * 1000:.0f} ms"
            f" — {rate / echo_rate:.0%} of the echo"
        )
    lines.append(
        f"  Crier immediate, delivered end to end: {delivered:.0f} posts/s"
        f" ({posts} posts / first request to last target published): the rate it can sustain"
    )
    return lines + latency


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=2000, help="posts per Crier figure, and raw transactions")
    p.add_argument("--echo-requests", type=int, default=20_000)
    p.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.posts, args.echo_requests):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
