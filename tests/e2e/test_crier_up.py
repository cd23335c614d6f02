"""`crier up` on a clean data directory: embedded servers, migrations, every service, a working API."""

from __future__ import annotations

from pathlib import Path

from tests.support.crier_up import answers_ready, new_crier_up, sandbox_client
from tests.support.stack import wait_for


def test_crier_up_serves_the_api_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    up = new_crier_up(tmp_path).start()
    try:
        up.wait_ready()
        admin_key = (up.data_dir / "admin-key").read_text().strip()
        assert admin_key.startswith("sk_live_")
        # /readyz can answer a moment before `crier up` prints its banner.
        wait_for(lambda: admin_key in up.log.read_text(), what="the admin key in crier up's output")
        test, account = sandbox_client(up)
        post = test.post("/posts", json={"content": "hello", "accounts": [account]}).json()
        wait_for(lambda: test.get(f"/posts/{post['id']}").json()["status"] == "published", what="publish")
        assert up.proc is not None
        up.proc.terminate()
        assert up.proc.wait(60) == 0
        assert not answers_ready(up.api), "the API still answers after crier up stopped"
        assert not (up.data_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
        up.start().wait_ready()
        assert (up.data_dir / "admin-key").read_text().strip() == admin_key
        assert test.get(f"/posts/{post['id']}").json()["status"] == "published"
    finally:
        up.stop()
