"""`crier up` as a user runs it: a subprocess on a data directory, embedded servers (every
CRIER_* variable removed), driven over HTTP and through its processes.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from crier.kit.embedded import free_port
from tests.support.stack import wait_for


@dataclass
class CrierUp:
    data_dir: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    # More `crier up` options, e.g. ["--gateway-processes", "2"].
    options: tuple[str, ...] = ()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CrierUp:
        self.proc = start_up(self.data_dir, self.port, self.log, self.options)
        return self

    def wait_ready(self) -> None:
        wait_for(self.ready, timeout=120, interval=0.2, what="crier up to be ready")

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"crier up exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        return answers_ready(self.api)

    def processes(self) -> dict[str, Any]:
        processes: dict[str, Any] = json.loads((self.data_dir / "processes.json").read_text())
        return processes

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def new_crier_up(tmp: Path, *options: str) -> CrierUp:
    return CrierUp(tmp / "data", free_port(), tmp / "up.log", options=options)


def start_up(data_dir: Path, port: int, log: Path, options: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIER_")}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crier.cli", "up", "--data-dir", str(data_dir), "--port", str(port), *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def answers_ready(api: str) -> bool:
    try:
        return httpx.get(f"{api}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sandbox_client(up: CrierUp) -> tuple[httpx.Client, str]:
    """A test-mode client made with the admin key, and a sandbox X account of it."""
    admin_key = (up.data_dir / "admin-key").read_text().strip()
    admin = httpx.Client(base_url=f"{up.api}/api/v1", headers={"Authorization": f"Bearer {admin_key}"}, timeout=15)
    r = admin.post("/api-keys", json={"name": "sandbox", "mode": "test", "scopes": ["view", "publish", "connect"]})
    assert r.status_code == 201, r.text
    client = httpx.Client(
        base_url=f"{up.api}/api/v1", headers={"Authorization": f"Bearer {r.json()['key']}"}, timeout=15
    )
    account = client.post("/sandbox/social-accounts", json={"platform": "x", "username": "up_test"})
    assert account.status_code == 201, account.text
    return client, account.json()["id"]


def is_gone(pid: int) -> bool:
    """Exited (a zombie waiting for its new parent to reap it counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
