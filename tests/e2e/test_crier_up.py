"""`crier up` on a clean data directory: embedded servers, migrations, every service, a working API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from crier.kit.embedded import free_port
from tests.support.stack import wait_for


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "crier.cli", "up", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _ready(api: str, proc: subprocess.Popen | None = None, log: Path | None = None) -> bool:
    if proc is not None and proc.poll() is not None:
        raise AssertionError(f"crier up exited with {proc.returncode}:\n{log.read_text()[-3000:] if log else ''}")
    try:
        return httpx.get(f"{api}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_crier_up_serves_the_api_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "up.log"
    api = f"http://127.0.0.1:{port}"
    proc = _start(data_dir, port, log)
    try:
        wait_for(lambda: _ready(api, proc, log), timeout=120, interval=0.2, what="crier up")
        admin_key = (data_dir / "admin-key").read_text().strip()
        assert admin_key.startswith("sk_live_")
        # /readyz can answer a moment before `crier up` prints its banner.
        wait_for(lambda: admin_key in log.read_text(), what="the admin key in crier up's output")
        admin = httpx.Client(base_url=f"{api}/api/v1", headers={"Authorization": f"Bearer {admin_key}"}, timeout=15)
        r = admin.post("/api-keys", json={"name": "sandbox", "mode": "test", "scopes": ["view", "publish", "connect"]})
        assert r.status_code == 201, r.text
        test = httpx.Client(
            base_url=f"{api}/api/v1", headers={"Authorization": f"Bearer {r.json()['key']}"}, timeout=15
        )
        account = test.post("/sandbox/social-accounts", json={"platform": "x", "username": "up_test"}).json()
        post = test.post("/posts", json={"content": "hello", "accounts": [account["id"]]}).json()
        wait_for(lambda: test.get(f"/posts/{post['id']}").json()["status"] == "published", what="publish")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert not _ready(api), "the API still answers after crier up stopped"
        proc = _start(data_dir, port, log)
        wait_for(lambda: _ready(api, proc, log), timeout=120, interval=0.2, what="crier up after restart")
        assert (data_dir / "admin-key").read_text().strip() == admin_key
        assert test.get(f"/posts/{post['id']}").json()["status"] == "published"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
