"""Helpers for end-to-end tests: the whole stack as OS processes, driven over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import bluesky_pds
from tests.support.live import Live, live_stack
from tests.support.simulator import Simulator
from tests.support.stack import Infra, Stack, wait_for

TERMINAL = {"published", "partial", "failed", "canceled"}
PDS_TEST = "test_bluesky_pds.py"
PDS_INSTALL = pytest.StashKey["subprocess.Popen[bytes] | None"]()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The reference PDS test last, its install (minutes from nothing) begun now in the background."""
    pds = [item for item in items if item.path.name == PDS_TEST]
    if pds and not config.option.collectonly:
        items[:] = [item for item in items if item.path.name != PDS_TEST] + pds
        config.stash[PDS_INSTALL] = bluesky_pds.start_install_in_background()


def pytest_unconfigure(config: pytest.Config) -> None:
    bluesky_pds.stop_background_install(config.stash.get(PDS_INSTALL, None))


def sandbox_accounts(client: httpx.Client, platforms: list[str], tenant_id: str = "user_1") -> list[dict]:
    accounts = []
    for platform in platforms:
        r = client.post(
            "/sandbox/social-accounts",
            json={"platform": platform, "username": f"u{secrets.token_hex(4)}", "tenant_id": tenant_id},
        )
        assert r.status_code == 201, r.text
        accounts.append(r.json())
    return accounts


def create_post(client: httpx.Client, expect: int = 201, headers: dict | None = None, **body: Any) -> dict:
    r = client.post("/posts", json=body, headers=headers or {})
    assert r.status_code == expect, r.text
    return r.json()


def wait_post(client: httpx.Client, post_id: str, statuses: set[str] = TERMINAL, timeout: float = 30) -> dict:
    def done() -> dict | None:
        post = client.get(f"/posts/{post_id}").json()
        return post if post["status"] in statuses else None

    return wait_for(done, timeout=timeout, what=f"post {post_id} in {statuses}")


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def sql(stack: Stack, query: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def live(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A stack whose platforms are the platform simulator, one per test module."""
    yield from live_stack(infra, tmp_path_factory.mktemp("live"))


@pytest.fixture
def sim(live: Live) -> Iterator[Simulator]:
    yield live.sim
    live.sim.clear_faults()
    live.sim.clear_settings()
