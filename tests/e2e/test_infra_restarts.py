"""NATS and PostgreSQL outages delay work and lose nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crier.kit.embedded import EmbeddedNats, EmbeddedPostgres
from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, sql, wait_post
from tests.support.stack import Infra, Stack, start_stack, wait_for


@pytest.fixture
def stack_with_own_nats(infra: Infra, tmp_path: Path) -> Iterator[tuple[Stack, EmbeddedNats]]:
    nats = EmbeddedNats(tmp_path / "nats").start()
    stack = start_stack(Infra(infra.server_url, nats.url), tmp_path)
    yield stack, nats
    stack.supervisor.stop_all()
    nats.stop()


def test_posts_accepted_while_nats_is_down_are_published_after_it_returns(
    stack_with_own_nats: tuple[Stack, EmbeddedNats],
) -> None:
    stack, nats = stack_with_own_nats
    org = stack.new_org()
    with org.test() as client:
        accounts = sandbox_accounts(client, ["x", "bluesky"])
        ids = [a["id"] for a in accounts]
        scheduled = create_post(client, content="before the outage", accounts=ids, scheduled_at=in_seconds(3))
        nats.stop()
        # The gateway keeps accepting: the post and its event commit to Postgres (the outbox).
        during = [create_post(client, content=f"during {i}", accounts=ids) for i in range(3)]
        assert sql(stack, "SELECT count(*) AS n FROM gateway.outbox")[0]["n"] >= 3
        nats.start()
        posts = [wait_post(client, p["id"], timeout=60) for p in [scheduled, *during]]
    assert [p["status"] for p in posts] == ["published"] * 4
    target_ids = [t["id"] for p in posts for t in p["targets"]]
    rows = sql(
        stack,
        "SELECT target_id, count(*) AS n FROM publisher.sandbox_posts WHERE target_id = ANY($1::text[]) "
        "GROUP BY target_id",
        target_ids,
    )
    assert len(rows) == 8 and all(r["n"] == 1 for r in rows)


@pytest.fixture
def stack_with_own_postgres(infra: Infra, tmp_path: Path) -> Iterator[tuple[Stack, EmbeddedPostgres]]:
    pg = EmbeddedPostgres(tmp_path / "pg").start(fsync=False)
    stack = start_stack(Infra(pg.url("postgres"), infra.nats_url), tmp_path)
    yield stack, pg
    stack.supervisor.stop_all()
    pg.stop()


def test_a_postgres_restart_delays_scheduled_work_and_loses_nothing(
    stack_with_own_postgres: tuple[Stack, EmbeddedPostgres],
) -> None:
    stack, pg = stack_with_own_postgres
    org = stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["linkedin"])
        scheduled = create_post(
            client, content="due during the outage", accounts=[account["id"]], scheduled_at=in_seconds(2)
        )
        pg.stop()
        r = client.post("/posts", json={"content": "while the database is down", "accounts": [account["id"]]})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "service_unavailable"
        wait_for(lambda: datetime.now(UTC) > datetime.fromisoformat(scheduled["scheduled_at"]), what="due time")
        pg.start(fsync=False)
        after = wait_for(lambda: _created(client, account["id"]), timeout=60, what="the API to accept posts again")
        done = [wait_post(client, p["id"], timeout=60) for p in (scheduled, after)]
    assert [p["status"] for p in done] == ["published", "published"]


def _created(client, account_id: str) -> dict | None:  # type: ignore[no-untyped-def]
    r = client.post("/posts", json={"content": "after the outage", "accounts": [account_id]})
    return r.json() if r.status_code == 201 else None
