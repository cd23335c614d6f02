"""Scheduler at scale: memory with 10,000 to 1,000,000 scheduled targets pending, and lateness with
100,000 targets due within one minute, beside the same firing done bare (`tests.perf.bare_scheduler`).

The pending targets are not created through the API: one template post (three sandbox targets,
scheduled 29 days ahead) is, and the rest are copies of its rows written straight into the
scheduler's timetable and the gateway's tables (`tests.perf.seed_timetable`), due from a day ahead.
At each size the gateway and the scheduler are restarted (what either loads at start-up counts),
scraped, asked for a page of posts, and their resident memory read from /proc/<pid>/status
(VmRSS now, VmHWM the high-water mark). Then 100,000 more targets (33,334 posts) are written due
over one minute starting half a minute later; lateness is measured against each due moment twice:
when the scheduler marked the target fired (its database clock, what `crier_scheduler_lateness_seconds`
records) and when the target's `evt.target.queued` event was stored in JetStream (after the outbox
relay). The bare run fires the same rows, with the same pending backlog, by the same SQL from raw
asyncpg and publishes them from a plain JetStream loop.

Only the gateway and the scheduler run while measuring: connect, the publisher and the webhooks
are stopped once the template exists (a publisher would deliver the commands at its own pace,
which is not the scheduler's; `make bench` measures delivery elsewhere). The gateway consumes the
queued events as it would.

    python -m tests.perf.bench_scheduler [--due 100000] [--pending 10000,100000,1000000]

Bounded: fixed counts, every wait has a deadline, traffic only to 127.0.0.1; the database the run
created is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from nats.js.api import DeliverPolicy, StreamConfig

from crier.kit.bus import Bus, rpc
from crier.kit.embedded import free_port
from crier.kit.service import HealthReply, health_subject
from tests.perf import bare_scheduler, seed_timetable
from tests.perf.measure import machine, pct
from tests.support.stack import Infra, Stack, close_infra, make_infra, start_stack, wait_for

MEASURED = ("scheduler", "gateway")
PENDING_STEP_S = 5.0  # a million pending targets are 333,334 posts: 19 days of them, 5 s apart
LEAD_S = 30.0  # from the end of the writing to the first due moment, beside the time writing takes


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the process, in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _pid(stack: Stack, name: str) -> int:
    proc = stack.supervisor.processes[name].proc
    assert proc is not None
    return int(proc.pid)


async def _template(stack: Stack) -> tuple[str, str]:
    """One scheduled post with three sandbox targets, through the API; (its id, the test key)."""
    org = stack.new_org("bench-sched")
    headers = {"Authorization": f"Bearer {org.test_key}"}
    async with httpx.AsyncClient(base_url=f"{stack.api_url}/api/v1", headers=headers, timeout=30) as client:
        accounts = []
        for p in ("x", "linkedin", "bluesky"):
            r = await client.post("/sandbox/social-accounts", json={"platform": p, "username": f"sched{p}"})
            r.raise_for_status()
            accounts.append(r.json()["id"])
        at = (datetime.now(UTC) + timedelta(days=29)).isoformat()
        r = await client.post("/posts", json={"content": "scheduled", "accounts": accounts, "scheduled_at": at})
        r.raise_for_status()
        return r.json()["id"], org.test_key


async def _count(url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def _until_none(url: str, sql: str, args: tuple[Any, ...], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while left := await _count(url, sql, *args):
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark gave up: {left} {what}")
        await asyncio.sleep(0.5)


async def _ready(stack: Stack, key: str) -> None:
    """The gateway answering a request (its /readyz waits for the services stopped here) and the
    scheduler its health RPC."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2, headers={"Authorization": f"Bearer {key}"}) as client:
        while True:
            try:
                if (await client.get(f"{stack.api_url}/api/v1/posts", params={"limit": 1})).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not answer after its restart")
            await asyncio.sleep(0.2)
    bus = await Bus.connect(stack.infra.nats_url, namespace=stack.namespace)
    try:
        while True:
            try:
                if (await rpc.call(bus, health_subject("scheduler"), None, HealthReply, timeout=1)).ready:
                    break
            except rpc.RpcUnavailable:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.2)
    finally:
        await bus.close()


async def _memory(stack: Stack, key: str) -> dict[str, tuple[float, float]]:
    """Restarts the measured services, uses them a little, and reads their memory."""
    for name in MEASURED:
        stack.supervisor.restart(name)
    await _ready(stack, key)
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(2):
            for name in MEASURED:
                port = stack.supervisor.processes[name].env["CRIER_METRICS_PORT"]
                (await client.get(f"http://127.0.0.1:{port}/metrics")).raise_for_status()
            r = await client.get(
                f"{stack.api_url}/api/v1/posts", params={"limit": 100}, headers={"Authorization": f"Bearer {key}"}
            )
            r.raise_for_status()
    return {name: memory_mib(_pid(stack, name)) for name in MEASURED}


class _Queued(msgspec.Struct):
    """What the lateness needs of a queued event, Crier's (`TargetQueued`) or the bare run's."""

    target_id: str


async def _stored_at(bus: Bus, subject: str, wanted: int, timeout: float) -> dict[str, datetime]:
    """When JetStream stored each target's queued event (by target id), read from the stream's start."""
    decoder = msgspec.json.Decoder(_Queued)
    seen: dict[str, datetime] = {}

    async def on_msg(msg: Any) -> None:
        seen[decoder.decode(msg.data).target_id] = msg.metadata.timestamp

    sub = await bus.js.subscribe(subject, cb=on_msg, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    deadline = time.monotonic() + timeout
    while len(seen) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(seen)} of {wanted} queued events read back from the stream")
        await asyncio.sleep(0.2)
    await sub.unsubscribe()
    return seen


async def _lateness_of(url: str, table: str, first: datetime, last: datetime) -> dict[str, tuple[datetime, float]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"SELECT target_id, due_at, extract(epoch FROM fired_at - due_at)::float8 AS late FROM {table}"
            " WHERE due_at BETWEEN $1 AND $2",
            first,
            last,
        )
    finally:
        await conn.close()
    return {r["target_id"]: (r["due_at"], r["late"]) for r in rows}


def _figures(fired: dict[str, tuple[datetime, float]], stored: dict[str, datetime]) -> dict[str, list[float]]:
    return {
        "fired": [late for _, late in fired.values()],
        "stored": [(stored[t] - due).total_seconds() for t, (due, _) in fired.items() if t in stored],
    }


async def _due_run(stack: Stack, template: str, first: int, due_targets: int, timeout: float) -> dict[str, Any]:
    posts = -(-due_targets // 3)
    step = 60.0 / posts
    url = stack.database_url
    # Writing beside a million pending rows runs at about 600 posts/s here; twice that time is left.
    start = datetime.now(UTC) + timedelta(seconds=LEAD_S + posts / 300)
    await seed_timetable.copy_post(url, template, first, first + posts - 1, start, step)
    if datetime.now(UTC) > start - timedelta(seconds=6):
        raise RuntimeError("writing the due posts took longer than the lead before the first was due")
    end = start + timedelta(seconds=step * posts)
    waiting = "SELECT count(*) FROM scheduler.timetable WHERE due_at BETWEEN $1 AND $2 AND fired_at IS NULL"
    await _until_none(url, waiting, (start, end), LEAD_S + 60 + timeout, "due targets not fired")
    await _until_none(url, "SELECT count(*) FROM scheduler.outbox", (), timeout, "messages left in the outbox")
    memory = {name: memory_mib(_pid(stack, name)) for name in MEASURED}
    fired = await _lateness_of(url, "scheduler.timetable", start, end)
    bus = await Bus.connect(stack.infra.nats_url, namespace=stack.namespace)
    try:
        stored = await _stored_at(bus, bus.subject("evt.target.queued"), len(fired), timeout)
    finally:
        await bus.close()
    return {**_figures(fired, stored), "memory": memory, "start": start, "end": end, "targets": len(fired)}


async def _bare_run(stack: Stack, crier: dict[str, Any], timeout: float) -> dict[str, list[float]]:
    url = stack.database_url
    shift = (datetime.now(UTC) + timedelta(seconds=LEAD_S) - crier["start"]).total_seconds()
    await bare_scheduler.prepare(url, crier["start"], crier["end"], shift)
    first, last = crier["start"] + timedelta(seconds=shift), crier["end"] + timedelta(seconds=shift)
    bus = await Bus.connect(stack.infra.nats_url)
    subject = f"bench.bare.{stack.namespace}"
    await bus.js.add_stream(StreamConfig(name=f"BARE_{stack.namespace}", subjects=[f"{subject}.>"]))
    try:
        await bare_scheduler.run(url, bus, subject, crier["targets"], timeout + 90)
        fired = await _lateness_of(url, "bare.timetable", first, last)
        stored = await _stored_at(bus, f"{subject}.queued", len(fired), timeout)
        return _figures(fired, stored)
    finally:
        await bus.js.delete_stream(f"BARE_{stack.namespace}")
        await bus.close()


def _start(infra: Infra) -> Stack:
    env = {"CRIER_LOG_LEVEL": "warning", "CRIER_API_RATE_LIMIT": "0"}
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-sched-")), env)
    for name in MEASURED:
        stack.supervisor.processes[name].env.update({"CRIER_METRICS_PORT": str(free_port())})
    return stack


def run(infra: Infra, pending: list[int], due_targets: int, timeout: float) -> list[str]:
    stack = _start(infra)
    try:
        template, key = asyncio.run(_template(stack))
        has_rows = "SELECT count(*) FROM scheduler.timetable WHERE post_id = $1"
        wait_for(lambda: asyncio.run(_count(stack.database_url, has_rows, template)) == 3, what="template timetabled")
        for name in ("connect", "publisher", "webhooks"):
            stack.supervisor.processes[name].terminate()
        memory, copied = {}, 0
        start = datetime.now(UTC) + timedelta(days=1)
        for size in pending:
            posts = -(-size // 3)
            if posts > copied:
                moment = start + timedelta(seconds=copied * PENDING_STEP_S)
                asyncio.run(seed_timetable.copy_post(stack.database_url, template, copied + 1, posts, moment, 5))
                copied = posts
            memory[size] = asyncio.run(_memory(stack, key))
        crier = asyncio.run(_due_run(stack, template, copied + 1, due_targets, timeout))
        bare = asyncio.run(_bare_run(stack, crier, timeout))
    finally:
        stack.supervisor.stop_all()
        asyncio.run(_drop(infra, stack.database_url))
    return _report(pending, memory, crier, bare)


async def _drop(infra: Infra, url: str) -> None:
    conn = await asyncpg.connect(infra.server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await conn.close()


def _report(pending: list[int], memory: dict, crier: dict[str, Any], bare: dict[str, list[float]]) -> list[str]:  # type: ignore[type-arg]
    lines = ["scheduler at scale (rows written straight into the database; gateway and scheduler running):"]
    for size in pending:
        m = memory[size]
        lines.append(
            f"  {size:>9,} targets pending: scheduler RSS {m['scheduler'][0]:.0f} MiB (peak {m['scheduler'][1]:.0f}),"
            f" gateway RSS {m['gateway'][0]:.0f} MiB (peak {m['gateway'][1]:.0f})"
        )
    after = crier["memory"]
    lines.append(
        f"  {crier['targets']:,} targets due in one minute on top of {pending[-1]:,} pending: scheduler RSS"
        f" {after['scheduler'][0]:.0f} MiB (peak {after['scheduler'][1]:.0f}), gateway RSS"
        f" {after['gateway'][0]:.0f} MiB (peak {after['gateway'][1]:.0f}) once all were sent"
    )
    for key, what in (("fired", "marked fired (database clock)"), ("stored", "queued event stored in JetStream")):
        c, b = crier[key], bare[key]
        lines.append(
            f"  lateness, {what}: p50 {pct(c, 50) * 1000:.0f} ms  p99 {pct(c, 99) * 1000:.0f} ms"
            f"  max {max(c) * 1000:.0f} ms  (bare asyncpg + JetStream loop: p50 {pct(b, 50) * 1000:.0f} ms"
            f"  p99 {pct(b, 99) * 1000:.0f} ms  max {max(b) * 1000:.0f} ms; p99 ratio {pct(c, 99) / pct(b, 99):.1f}x)"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--due", type=int, default=100_000, help="targets due within one minute (default 100000)")
    p.add_argument("--pending", default="10000,100000,1000000", help="pending targets at which memory is read")
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, [int(n) for n in args.pending.split(",")], args.due, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
