"""Commands and queries the publisher's integration tests share."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.common import Container, Mode, Platform
from crier.kit.bus import Bus
from tests.support.bus import publish, target_events


def command(*contents: str, platform: Platform = "x", mode: Mode = "test", username: str = "alice") -> PublishTarget:
    target_id = f"tgt_{secrets.token_hex(6)}"
    return PublishTarget(
        id=target_id,
        occurred_at=datetime.now(UTC),
        org_id="org_1",
        mode=mode,
        post_id=f"post_{secrets.token_hex(6)}",
        target_id=target_id,
        account_id=f"acc_{secrets.token_hex(4)}",
        platform=platform,
        account_username=username,
        containers=[Container(content=c) for c in (contents or ("hello",))],
    )


async def send(bus: Bus, cmd: PublishTarget) -> None:
    await publish(bus, f"cmd.publish.{cmd.platform}", cmd, msg_id=cmd.target_id)


async def outcome(bus: Bus, target_id: str) -> list[tuple[str, object]] | None:
    """The target's events once one of them is final (published, failed, dead-lettered)."""
    events = await target_events(bus, target_id)
    final = {"evt.target.published", "evt.target.failed", "evt.target.dead_lettered"}
    return events if any(subject in final for subject, _ in events) else None


def subjects(events: list[tuple[str, object]]) -> list[str]:
    return [s.removeprefix("evt.target.") for s, _ in events]


async def target_row(db: AsyncEngine, target_id: str) -> sa.Row | None:
    async with db.connect() as conn:
        return (await conn.execute(sa.text("SELECT * FROM targets WHERE target_id = :t"), {"t": target_id})).first()


async def sandbox_posts(db: AsyncEngine, target_id: str) -> list[sa.Row]:
    async with db.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT * FROM sandbox_posts WHERE target_id = :t ORDER BY container_index"), {"t": target_id}
        )
        return list(result)


async def attempts(db: AsyncEngine, target_id: str) -> list[sa.Row]:
    async with db.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT * FROM attempts WHERE target_id = :t ORDER BY number"), {"t": target_id}
        )
        return list(result)
