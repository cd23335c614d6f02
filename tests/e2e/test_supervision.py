"""`crier up` supervises what it starts. A killed embedded NATS or PostgreSQL is started again on
its port and the services carry on (a post made afterwards is published); a second `crier up` on
a live data directory refuses; a killed `crier up` leaves nothing running, and a new one starts.

The tests share one `crier up`; the last one kills it (and leaves a new one to the fixture).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crier.kit.embedded import free_port
from tests.support.crier_up import CrierUp, answers_ready, is_gone, new_crier_up, sandbox_client
from tests.support.stack import wait_for


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrierUp]:
    up = new_crier_up(tmp_path_factory.mktemp("supervised")).start()
    try:
        up.wait_ready()
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def sandbox(up: CrierUp) -> tuple[httpx.Client, str]:
    return sandbox_client(up)


def _kill_and_wait_for_restart(up: CrierUp, server: str) -> tuple[dict[str, Any], dict[str, Any]]:
    before = up.processes()
    os.kill(before[server]["pid"], signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        now = up.processes()
        return now if now[server]["pid"] != before[server]["pid"] and now["restarts"][server] >= 1 else None

    after = wait_for(restarted, timeout=60, what=f"{server} started again")
    up.wait_ready()
    return before, after


def _a_post_publishes(sandbox: tuple[httpx.Client, str], content: str) -> str:
    client, account = sandbox
    r = client.post("/posts", json={"content": content, "accounts": [account]})
    assert r.status_code == 201, r.text
    post_id: str = r.json()["id"]
    wait_for(lambda: client.get(f"/posts/{post_id}").json()["status"] == "published", timeout=60, what="publish")
    return post_id


def _scrape(targets: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Every target's crier_* samples, by service, after checking it names itself and is ready."""
    scraped: dict[str, dict[str, float]] = {}
    for target in targets:
        [address] = target["targets"]
        service = target["labels"]["service"]
        assert httpx.get(f"http://{address}/readyz", timeout=5).status_code == 200
        text = httpx.get(f"http://{address}/metrics", timeout=5).text
        assert f'service_name="crier-{service}"' in text
        samples = [line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("crier_")]
        scraped[service] = {name: float(value) for name, value in samples}
    return scraped


# The series a stack's first post leaves, with their values (each recorded right after a commit,
# so they are waited for, not read once).
_AFTER_ONE_POST = {
    ("gateway", 'crier_posts_created_total{mode="test"}'): 1,
    ("gateway", 'crier_targets_created_total{platform="x"}'): 1,
    ("gateway", 'crier_http_requests_total{method="POST",route="/api/v1/posts",status="201"}'): 1,
    ("publisher", 'crier_deliveries_total{outcome="published",platform="x"}'): 1,
    ("publisher", 'crier_delivery_attempts_total{error_code="none",platform="x"}'): 1,
    ("scheduler", "crier_scheduler_lateness_seconds_count"): 1,
    # The gateway's consumer of target reports has read them all.
    ("gateway", 'crier_consumer_pending_messages{consumer="gateway",stream="EVENTS"}'): 0,
    # Every outbox drained once the post is out: nothing waits to be sent.
    ("gateway", "crier_outbox_backlog_messages"): 0,
    ("scheduler", "crier_outbox_backlog_messages"): 0,
    ("publisher", "crier_outbox_backlog_messages"): 0,
}


def test_every_service_is_a_prometheus_target_reporting_a_post(up: CrierUp, sandbox: tuple[httpx.Client, str]) -> None:
    targets = json.loads((up.data_dir / "prometheus-targets.json").read_text())
    assert sorted(t["labels"]["service"] for t in targets) == sorted(up.processes()["services"])
    _a_post_publishes(sandbox, "counted")  # the stack's first post: every count is exact

    def found() -> dict[tuple[str, str], float | None]:
        scraped = _scrape(targets)
        return {(service, series): scraped[service].get(series) for service, series in _AFTER_ONE_POST}

    wait_for(lambda: found() == _AFTER_ONE_POST, timeout=20, what="the post's series in every target")
    # Every service set its start-up objects aside from garbage collection (`kit.collector`).
    for service, samples in _scrape(targets).items():
        assert samples["crier_gc_frozen_objects"] > 10_000, service


def test_a_killed_nats_is_started_again_on_its_port(up: CrierUp, sandbox: tuple[httpx.Client, str]) -> None:
    before, after = _kill_and_wait_for_restart(up, "nats")
    assert after["nats"]["url"] == before["nats"]["url"]
    assert after["restarts"]["nats"] == 1
    assert not Path(f"/proc/{before['nats']['pid']}").exists(), "the killed nats-server was not reaped"
    assert f"nats (pid {before['nats']['pid']}) was killed by SIGKILL" in up.log.read_text()
    _a_post_publishes(sandbox, "after a NATS restart")


def test_a_killed_postmaster_is_started_again_on_its_port(up: CrierUp, sandbox: tuple[httpx.Client, str]) -> None:
    before, after = _kill_and_wait_for_restart(up, "postgres")
    assert after["postgres"]["port"] == before["postgres"]["port"]
    assert f"postgres (pid {before['postgres']['pid']}) was killed by SIGKILL" in up.log.read_text()
    _a_post_publishes(sandbox, "after a PostgreSQL restart")


def test_a_second_crier_up_on_a_live_data_dir_refuses(up: CrierUp) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIER_")}
    command = [sys.executable, "-m", "crier.cli", "up", "--data-dir", str(up.data_dir), "--port", str(free_port())]
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 3, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"crier up: {up.data_dir.resolve()} is in use by another crier up (pid {up.processes()['up_pid']})"
    ]
    assert up.ready()


def test_a_killed_crier_up_leaves_nothing_running_and_a_new_one_keeps_the_data(
    up: CrierUp, sandbox: tuple[httpx.Client, str]
) -> None:
    admin_key = (up.data_dir / "admin-key").read_text().strip()
    assert admin_key.startswith("sk_live_") and admin_key in up.log.read_text()  # printed at start
    client, _ = sandbox
    post_id = _a_post_publishes(sandbox, "kept")
    before = up.processes()
    pids = [before["up_pid"], before["nats"]["pid"], before["postgres"]["pid"], *before["services"].values()]
    assert up.proc is not None
    up.proc.kill()
    up.proc.wait()
    wait_for(lambda: all(is_gone(pid) for pid in pids), timeout=60, what="every process of the killed crier up gone")
    up.start().wait_ready()
    assert up.processes()["up_pid"] == up.proc.pid
    # The same data directory: the same admin key, the posts made before.
    assert (up.data_dir / "admin-key").read_text().strip() == admin_key
    assert client.get(f"/posts/{post_id}").json()["status"] == "published"
    # Ctrl-C (SIGTERM) stops everything cleanly: exit 0, the API gone, PostgreSQL shut down properly.
    up.proc.terminate()
    assert up.proc.wait(60) == 0
    assert not answers_ready(up.api), "the API still answers after crier up stopped"
    assert not (up.data_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
