"""Media retention, run by the gateway's housekeeping use case in this process against the gateway's
own database and media store, with its clock moved forward: what no pending post needs goes (row
and bytes), what one does stays, and an upload interrupted mid-way is failed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from crier.gateway.handlers.context import Context
from crier.gateway.handlers.housekeeping import Purged, purge
from crier.gateway.settings import SCHEMA, GatewaySettings
from crier.kit.bus import Bus
from crier.kit.db import create_engine
from crier.kit.media.store import MediaMissing, open_store
from crier.kit.settings import load
from crier.kit.uow import UnitOfWork
from tests.gateway.conftest import Gateway, Org
from tests.gateway.test_media_api import new_media_org, start_media_gateway, stop_media_gateway, upload
from tests.support import media_files
from tests.support.stack import Infra


@pytest.fixture(scope="module")
def media_gw(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_media_gateway(infra, tmp_path_factory.mktemp("media-retention"))
    yield gw
    stop_media_gateway(gw)


async def _purge_at(gw: Gateway, at: datetime, keys: Sequence[str]) -> tuple[Purged, dict[str, bool]]:
    """Housekeeping as the gateway runs it, at `at`; then which of `keys` still have a row, and
    whether their bytes are still in the store (always both or neither)."""
    settings = load(GatewaySettings, gw.services.env)
    bus = await Bus.connect(gw.services.nats_url, namespace=gw.services.namespace)
    store = await open_store(settings, bus)
    engine = create_engine(gw.database_url, SCHEMA, pool_size=1)
    try:
        ctx = Context(uow=UnitOfWork(engine, consumer="gateway"), clock=lambda: at, media_store=store)
        purged = await purge(ctx)
        async with engine.connect() as conn:
            rows = {r[0] for r in (await conn.exec_driver_sql("SELECT id FROM media")).all()}
        kept = {k: await _exists(store, k) for k in keys}
        assert all(kept[k] == (k in rows) for k in keys), (kept, rows)
        return purged, {k: True for k in keys if kept[k]}
    finally:
        await engine.dispose()
        await store.close()
        await bus.close()


async def _exists(store: object, key: str) -> bool:
    try:
        async for _ in store.chunks(key):  # type: ignore[attr-defined]
            return True
    except MediaMissing:
        return False
    return True


def purge_at(gw: Gateway, at: datetime, keys: Sequence[str] = ()) -> tuple[Purged, dict[str, bool]]:
    return asyncio.run(_purge_at(gw, at, keys))


async def _sql(gw: Gateway, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(gw.database_url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


def test_retention_deletes_what_no_pending_post_needs(media_gw: Gateway) -> None:
    org: Org = new_media_org(media_gw)
    later = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    with org.test() as c:
        unused, recent, scheduled, canceled = (upload(c, media_files.png(20 + i, 20)).json()["id"] for i in range(4))

        def post_with(media_id: str) -> str:
            body = {
                "containers": [{"content": "p", "media": [{"id": media_id}]}],
                "accounts": [org.accounts["x"]],
                "scheduled_at": later,
            }
            made = c.post("/posts", json=body)
            assert made.status_code == 201, made.text
            return str(made.json()["id"])

        post_with(scheduled)
        assert c.delete(f"/posts/{post_with(canceled)}").status_code == 200
    now = datetime.now(UTC)
    # `recent` was uploaded "just now" from the clock's point of view below; the others a day ago.
    asyncio.run(
        _sql(
            media_gw,
            "UPDATE gateway.media SET created_at = created_at - interval '2 days' WHERE id = ANY($1)",
            [unused, scheduled, canceled],
        )
    )

    every = [unused, recent, scheduled, canceled]
    purged, stored = purge_at(media_gw, now + timedelta(hours=1), every)
    assert purged.media == 1
    assert unused not in stored
    assert stored == {recent: True, scheduled: True, canceled: True}

    # The canceled post went out of use "now": its media stays for the retention (7 days) after that.
    purged, stored = purge_at(media_gw, now + timedelta(days=6), every)
    assert canceled in stored and recent not in stored
    purged, stored = purge_at(media_gw, now + timedelta(days=7, hours=1), every)
    assert stored == {scheduled: True}
    with org.test() as c:
        assert c.get(f"/media/{canceled}").status_code == 404
        assert c.get(f"/media/{scheduled}").status_code == 200


def test_an_upload_interrupted_mid_way_is_failed(media_gw: Gateway) -> None:
    org = new_media_org(media_gw)
    with org.test() as c:
        media_id = upload(c, media_files.png()).json()["id"]
    asyncio.run(
        _sql(
            media_gw,
            "UPDATE gateway.media SET status = 'processing', created_at = now() - interval '2 hours' WHERE id = $1",
            media_id,
        )
    )
    purged, _ = purge_at(media_gw, datetime.now(UTC))
    assert purged.media_interrupted == 1
    with org.test() as c:
        got = c.get(f"/media/{media_id}").json()
    assert (got["status"], got["failure_reason"]) == ("failed", "interrupted")


def test_a_logo_of_the_hosted_connect_pages_is_kept_while_it_is_named(media_gw: Gateway) -> None:
    org: Org = new_media_org(media_gw)
    with org.test() as c:
        logo = upload(c, media_files.png(40, 40)).json()["id"]
        assert c.put("/org-settings", json={"connect_display": {"logo_media_id": logo}}).status_code == 200
    asyncio.run(
        _sql(media_gw, "UPDATE gateway.media SET created_at = created_at - interval '2 days' WHERE id = $1", logo)
    )
    _, stored = purge_at(media_gw, datetime.now(UTC) + timedelta(hours=1), [logo])
    assert stored == {logo: True}
    with org.test() as c:
        assert c.put("/org-settings", json={"connect_display": None}).status_code == 200
    _, stored = purge_at(media_gw, datetime.now(UTC) + timedelta(hours=1), [logo])
    assert stored == {}
