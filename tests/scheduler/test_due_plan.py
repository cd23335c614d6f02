"""The timetable's queries bound their index scans by the database's clock: with a million targets
waiting, a look for due rows must stop at the first row not yet due instead of walking them all.

Read from PostgreSQL's plans (sequential scans off, so a table this small is read as a large one
would be), never from timings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.direct_sql import DirectStatement, fetch
from crier.scheduler.adapters import timetable


async def _plan(db: AsyncEngine, statement: DirectStatement, **params: object) -> str:
    # EXPLAIN plans the statement with the parameters bound, never runs it.
    async with db.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        rows = await fetch(conn, statement.explained(), params)
        return "\n".join(r[0] for r in rows)


def _scan_of_waiting_rows(plan: str) -> list[str]:
    """The index scan on the waiting rows and the conditions under it."""
    lines = plan.splitlines()
    start = next(i for i, line in enumerate(lines) if "timetable_waiting" in line)
    depth = len(lines[start]) - len(lines[start].lstrip())
    below = [line for line in lines[start + 1 :] if len(line) - len(line.lstrip()) > depth]
    return [lines[start], *below[:3]]


async def test_due_rows_are_found_by_an_index_range(db: AsyncEngine) -> None:
    scan = _scan_of_waiting_rows(await _plan(db, timetable._FIRE, limit=1000))
    assert any("Index Cond" in line and "due_at <=" in line for line in scan), scan
    assert not any("Filter" in line and "due_at" in line for line in scan), scan


async def test_waiting_posts_are_counted_from_an_index_range(db: AsyncEngine) -> None:
    scan = _scan_of_waiting_rows(await _plan(db, timetable._PENDING_POSTS))
    assert any("Index Cond" in line and "due_at >" in line for line in scan), scan
