"""A NATS or PostgreSQL outage is two log lines per component, not a traceback per retry.

The connect service runs as a process against a NATS and a PostgreSQL of this module's own, which
the tests stop for a few seconds and start again: its outbox relay, token refresher, RPC handlers
and NATS connection each say when the outage began and when it ended, and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from crier.contracts import connect as api
from crier.kit.bus import rpc
from crier.kit.embedded import EmbeddedNats, EmbeddedPostgres
from crier.kit.service import HealthReply, health_subject
from tests.support.stack import Infra, Services, start_services, wait_for

# Long enough for a few retries at 0.5 s, 1 s, 2 s…; the log must stay quiet all along.
_OUTAGE_S = 4.0


@dataclass
class Connect:
    services: Services
    pg: EmbeddedPostgres
    nats: EmbeddedNats

    @property
    def log_path(self) -> Any:
        return self.services.log_dir / "connect.log"

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def events_since(self, offset: int) -> list[dict[str, Any]]:
        lines = (line for line in self.log_since(offset).splitlines() if line.startswith("{"))
        return [json.loads(line) for line in lines]

    def ask(self, subject: str, request: Any, reply_type: type) -> Any:
        async def call() -> Any:
            async with self.services.bus() as bus:
                return await rpc.call(bus, subject, request, reply_type, timeout=5)

        return asyncio.run(call())


@pytest.fixture(scope="module")
def connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connect]:
    root = tmp_path_factory.mktemp("outage")
    pg = EmbeddedPostgres(root / "pg").start(fsync=False)
    nats = EmbeddedNats(root / "nats").start()
    try:
        # A refresher that sweeps five times a second meets an outage at once.
        services = start_services(
            Infra(pg.url("postgres"), nats.url),
            root,
            ["connect"],
            # every loop of connect's that reads the database looks at it often enough to meet the outage
            {"CRIER_REFRESH_INTERVAL_S": "0.2", "CRIER_ACCOUNT_METRICS_SWEEP_S": "0.2"},
        )
        try:
            yield Connect(services, pg, nats)
        finally:
            services.supervisor.stop_all()
    finally:
        nats.stop()
        pg.stop()


def _accounts(connect: Connect) -> Any:
    return connect.ask(api.ACCOUNTS_LIST, api.AccountList(org_id="org_outage", mode="test"), api.AccountPage)


def _answers(connect: Connect) -> bool:
    try:
        return _accounts(connect).data == []
    except rpc.RpcUnavailable:
        return False


def _named(events: list[dict[str, Any]], suffix: str) -> list[str]:
    return sorted(e["event"] for e in events if e["event"].endswith(suffix))


def _outage_lasts(began_at: float) -> bool:
    return time.monotonic() - began_at >= _OUTAGE_S


def test_a_postgres_outage_is_logged_once_when_it_begins_and_once_when_it_ends(connect: Connect) -> None:
    offset = connect.log_path.stat().st_size
    assert _accounts(connect).data == []
    # A smart shutdown first (new connections refused, the pool's own kept), then a fast one.
    assert connect.pg.proc is not None
    connect.pg.proc.send_signal(signal.SIGTERM)
    connect.pg.stop()
    components = ["connect.refresher", "connect.metrics_collector", "outbox.relay"]
    wait_for(
        lambda: all(f'"{c}.outage_began"' in connect.log_since(offset) for c in components),
        what="the relay, the refresher and the metrics collector to notice the outage",
    )
    began_at = time.monotonic()
    # A request meanwhile is told the service is unavailable, not that it has a bug.
    with pytest.raises(rpc.RpcUnavailable):
        _accounts(connect)
    wait_for(lambda: _outage_lasts(began_at), timeout=_OUTAGE_S + 5, what="a few seconds of retries")
    connect.pg.start(fsync=False)
    components.append("rpc.handler")
    wait_for(lambda: _answers(connect), timeout=30, what="connect to answer again")
    wait_for(
        lambda: all(f'"{c}.outage_ended"' in connect.log_since(offset) for c in components),
        timeout=45,
        what="every component to notice the end of the outage",
    )

    text, events = connect.log_since(offset), connect.events_since(offset)
    assert "Traceback" not in text
    assert _named(events, ".outage_began") == sorted(f"{c}.outage_began" for c in components)
    assert _named(events, ".outage_ended") == sorted(f"{c}.outage_ended" for c in components)
    relay_ended = next(e for e in events if e["event"] == "outbox.relay.outage_ended")
    # It kept trying all along (with pauses growing from half a second), and said so only at the end.
    assert relay_ended["failures"] >= 3 and relay_ended["duration_s"] >= _OUTAGE_S
    assert not [e for e in events if e["level"] in ("warning", "error") and not e["event"].endswith("outage_began")]


def test_a_nats_outage_is_logged_once_when_it_begins_and_once_when_it_ends(connect: Connect) -> None:
    offset = connect.log_path.stat().st_size
    connect.nats.stop()
    wait_for(lambda: '"nats.outage_began"' in connect.log_since(offset), what="connect to notice NATS is gone")
    began_at = time.monotonic()
    wait_for(lambda: _outage_lasts(began_at), timeout=_OUTAGE_S + 5, what="a few seconds of reconnect attempts")
    connect.nats.start()
    wait_for(lambda: '"nats.outage_ended"' in connect.log_since(offset), timeout=30, what="connect to reconnect")
    assert connect.ask(health_subject("connect"), None, HealthReply).ready

    text, events = connect.log_since(offset), connect.events_since(offset)
    assert "Traceback" not in text
    assert _named(events, ".outage_began") == ["nats.outage_began"]
    assert _named(events, ".outage_ended") == ["nats.outage_ended"]
    ended = next(e for e in events if e["event"] == "nats.outage_ended")
    # Attempts 0.5 s, 1 s, 2 s… apart, not one every half second: fewer than one a second.
    assert 2 <= ended["reconnect_attempts"] <= 2 + ended["duration_s"]
    assert not [e for e in events if e["level"] in ("warning", "error") and not e["event"].endswith("outage_began")]
