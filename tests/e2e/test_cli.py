"""The operator commands work against a running stack's database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import create_post, sandbox_accounts, wait_post
from tests.support.stack import Stack


def crier(stack: Stack, *args: str) -> str:
    env = {
        **os.environ,
        "CRIER_DATABASE_URL": stack.database_url,
        "CRIER_NATS_URL": stack.env["CRIER_NATS_URL"],
        "CRIER_NATS_NAMESPACE": stack.namespace,
    }
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


def dead_letters(stack: Stack, *args: str) -> list[dict[str, str]]:
    """`crier dead-letters list`, its tab-separated rows by column name."""
    header, *rows = crier(stack, "dead-letters", "list", *args).split("\n")
    columns = header.split("\t")
    return [dict(zip(columns, row.split("\t"), strict=True)) for row in rows if row]


def test_dead_letters_list_shows_dead_targets_with_their_error(shared_stack: Stack) -> None:
    org = shared_stack.new_org("dead")
    with org.test() as client:
        x, linkedin = sandbox_accounts(client, ["x", "linkedin"])
        post = create_post(client, content="down [sandbox:fail]", accounts=[x["id"], linkedin["id"]])
        done = wait_post(client, post["id"])
    assert [t["status"] for t in done["targets"]] == ["dead", "dead"]
    by_platform = {t["platform"]: t["id"] for t in done["targets"]}

    mine = [r for r in dead_letters(shared_stack) if r["post_id"] == post["id"]]
    assert {r["target_id"] for r in mine} == set(by_platform.values())
    for row in mine:
        assert (row["org_id"], row["mode"], row["redrive"]) == (org.id, "test", "0")
        assert row["platform"] in by_platform and by_platform[row["platform"]] == row["target_id"]
        assert row["error_code"] == "platform_unavailable" and "[sandbox:fail]" in row["error_message"]
        assert datetime.fromisoformat(row["dead_at"]) > datetime.now(UTC) - timedelta(minutes=5)
    rows = dead_letters(shared_stack)
    assert [r["dead_at"] for r in rows] == sorted((r["dead_at"] for r in rows), reverse=True)

    only_x = [r["target_id"] for r in dead_letters(shared_stack, "--platform", "x") if r["post_id"] == post["id"]]
    assert only_x == [by_platform["x"]]
    recent = [r for r in dead_letters(shared_stack, "--since", "10m") if r["post_id"] == post["id"]]
    assert len(recent) == 2
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert [r for r in dead_letters(shared_stack, "--since", later) if r["post_id"] == post["id"]] == []
