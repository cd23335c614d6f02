"""`crier up --gateway-processes 2`: two gateway processes serve the API's one port. Each of them
answers alone while the other is paused; a killed one is started again and serves again, and new
connections are answered all the while; each is its own Prometheus target of the `gateway` service.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crier.kit.embedded import free_port
from tests.support.crier_up import CrierUp, new_crier_up, sandbox_client
from tests.support.stack import wait_for

GATEWAYS = ("gateway", "gateway-2")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrierUp]:
    up = new_crier_up(tmp_path_factory.mktemp("gateways"), "--gateway-processes", "2").start()
    try:
        up.wait_ready()
        yield up
    finally:
        up.stop()


def _answered_on_a_new_connection(up: CrierUp) -> bool:
    # A client of its own each time: a kept-alive connection would stay with the process it reached.
    with httpx.Client(timeout=10) as client:
        return client.get(f"{up.api}/healthz").status_code == 200


def _pids(up: CrierUp) -> dict[str, int]:
    services: dict[str, int] = up.processes()["services"]
    return {name: services[name] for name in GATEWAYS}


def _pause(pids: list[int]) -> None:
    """SIGSTOP, and wait until each is stopped: the signal is delivered asynchronously, and a
    process still running could take the next connection and then sit on it."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    for pid in pids:
        wait_for(lambda pid=pid: _state(pid) == "T", timeout=10, what=f"process {pid} stopped")


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _answers_alone(up: CrierUp, name: str) -> bool:
    """Whether `name` answers new connections while every other gateway process is paused."""
    others = [pid for other, pid in _pids(up).items() if other != name]
    _pause(others)
    try:
        return all(_answered_on_a_new_connection(up) for _ in range(5))
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def test_each_gateway_process_serves_the_port(up: CrierUp) -> None:
    pids = _pids(up)
    assert len(set(pids.values())) == 2
    for name in GATEWAYS:
        assert _answers_alone(up, name), name
    # The API works through either: a post made while each in turn is the only one.
    client, account = sandbox_client(up)
    for name in GATEWAYS:
        others = [pid for other, pid in pids.items() if other != name]
        _pause(others)
        try:
            with httpx.Client(base_url=str(client.base_url), headers=dict(client.headers), timeout=15) as alone:
                r = alone.post("/posts", json={"content": f"through {name}", "accounts": [account]})
            assert r.status_code == 201, r.text
        finally:
            for pid in others:
                os.kill(pid, signal.SIGCONT)


def test_a_killed_gateway_process_is_started_again_and_the_port_answers_throughout(up: CrierUp) -> None:
    before = _pids(up)
    os.kill(before["gateway"], signal.SIGKILL)
    answered = 0

    def restarted() -> bool:
        nonlocal answered
        # The other process takes every new connection meanwhile: none is refused.
        assert _answered_on_a_new_connection(up)
        answered += 1
        now = up.processes()
        return now["services"]["gateway"] != before["gateway"] and now["restarts"]["gateway"] >= 1

    wait_for(restarted, timeout=60, what="the killed gateway process started again")
    assert answered >= 1
    wait_for(lambda: _answers_alone(up, "gateway"), timeout=60, what="the restarted process serving the port")


def test_every_gateway_process_is_a_prometheus_target_of_the_gateway(up: CrierUp) -> None:
    targets = json.loads((up.data_dir / "prometheus-targets.json").read_text())
    gateways = [t["targets"][0] for t in targets if t["labels"]["service"] == "gateway"]
    assert len(set(gateways)) == 2
    for address in gateways:
        text = httpx.get(f"http://{address}/metrics", timeout=5).text
        assert 'service_name="crier-gateway"' in text


def test_the_number_of_gateway_processes_is_checked() -> None:
    for wrong in ("0", "two"):
        done = subprocess.run(
            [sys.executable, "-m", "crier.cli", "up", "--port", str(free_port()), "--gateway-processes", wrong],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert "--gateway-processes" in done.stderr
