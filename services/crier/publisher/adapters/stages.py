"""Each container's stage (`crier.platforms.base.Stage`): what an adapter keeps between deliveries
of one target while a container is under way, in the `container_stages` table.

A delivery loads every stage of its target once, with the progress, and answers `get` from that;
`save` commits at once in a short transaction of its own, apart from any the publisher holds open,
so an upload recorded there survives a crash (or a rolled-back sandbox post) right after it.

Stages outlive a failed or dead target, whose redrive must not upload again what the platform
already holds; they are deleted once the target is published, when nothing can need them (by the
success's own statement, `targets.record_successes`).
"""

from __future__ import annotations

import copy
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.kit.uow import UnitOfWork
from crier.publisher.adapters.tables import TS, container_stages

_now = sa.func.now(type_=TS)


async def stages_of(conn: AsyncConnection, target_id: str) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(
        sa.select(container_stages.c.container_index, container_stages.c.state).where(
            container_stages.c.target_id == target_id
        )
    )
    return {r.container_index: dict(r.state) for r in rows}


async def save(conn: AsyncConnection, target_id: str, index: int, state: dict[str, Any]) -> None:
    upsert = pg_insert(container_stages).values(
        target_id=target_id, container_index=index, state=state, updated_at=_now
    )
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[container_stages.c.target_id, container_stages.c.container_index],
            set_={"state": upsert.excluded.state, "updated_at": _now},
        )
    )


class TargetStage:
    """One target's stages during one delivery."""

    def __init__(self, uow: UnitOfWork, target_id: str, loaded: dict[int, dict[str, Any]]) -> None:
        self._uow = uow
        self._target_id = target_id
        self._states = loaded

    def get(self, index: int) -> dict[str, Any]:
        # A copy: an adapter changing what it got must not change what counts as saved.
        return copy.deepcopy(self._states.get(index, {}))

    async def save(self, index: int, state: dict[str, Any]) -> None:
        async with self._uow.begin() as tx:
            await save(tx.conn, self._target_id, index, state)
        self._states[index] = copy.deepcopy(state)
