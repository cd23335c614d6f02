"""The operator commands work against a running stack's database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.conftest import create_post, sandbox_accounts, wait_post
from tests.support.stack import Stack


def crier(stack: Stack, *args: str) -> str:
    env = {**os.environ, "CRIER_DATABASE_URL": stack.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "crier.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_org_and_key_commands_make_working_keys(shared_stack: Stack) -> None:
    org_id, name = crier(shared_stack, "org", "create", "cli-made").split("\t")
    assert name == "cli-made"
    test_key = crier(
        shared_stack,
        "keys",
        "create",
        "--org",
        "cli-made",
        "--test",
        "--scope",
        "view",
        "--scope",
        "publish",
        "--scope",
        "connect",
    )
    view_key = crier(shared_stack, "keys", "create", "--org", org_id, "--scope", "view")
    assert test_key.startswith("sk_test_") and view_key.startswith("sk_live_")
    with shared_stack.client(test_key) as client:
        [account] = sandbox_accounts(client, ["x"])
        post = create_post(client, content="from a CLI key", accounts=[account["id"]])
        assert wait_post(client, post["id"])["status"] == "published"
    with shared_stack.client(view_key) as viewer:
        assert viewer.get("/posts").status_code == 200
        r = viewer.post("/posts", json={"content": "x", "accounts": [account["id"]]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


def test_migrate_is_idempotent_and_rebuild_keeps_projections(shared_stack: Stack) -> None:
    assert "migrations applied" in crier(shared_stack, "migrate")
    out = crier(shared_stack, "rebuild-projections")
    assert out.startswith("rebuilt projections of ")
