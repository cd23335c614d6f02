"""The console's live view: one organization's deliveries in one mode, from the gateway's own
records of them, so no organization's figures show another's work.

- Waiting: targets due and not yet delivered (queued, publishing, retrying) per platform, from
  the projections. Targets scheduled for later are not counted: they are not due.
- The last minute: what the publishers reported per platform (published, an attempt failed and
  will be retried, failed for good, dead-lettered), from the post event store by when it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crier.gateway.adapters import post_queries
from crier.gateway.domain.api_key import Principal
from crier.gateway.handlers.context import Context

WINDOW = timedelta(minutes=1)
WAITING = post_queries.WAITING
# Each outcome's name on the page, by the event type that records it.
OUTCOMES = {
    "target.published": "published",
    "target.attempt_failed": "attempt failed",
    "target.failed": "failed",
    "target.dead_lettered": "dead-lettered",
}


@dataclass(frozen=True)
class LiveFigures:
    at: datetime
    # platform → status → targets; every status of WAITING present, platforms sorted.
    waiting: dict[str, dict[str, int]]
    # platform → outcome name → events; every outcome present, platforms sorted.
    last_minute: dict[str, dict[str, int]]

    def waiting_total(self, status: str) -> int:
        return sum(counts[status] for counts in self.waiting.values())

    def last_minute_total(self, outcome: str) -> int:
        return sum(counts[outcome] for counts in self.last_minute.values())


async def live_figures(ctx: Context, who: Principal) -> LiveFigures:
    at = ctx.now()
    async with ctx.uow.read() as conn:
        waiting = await post_queries.waiting_targets(conn, who.org_id, who.mode)
        outcomes = await post_queries.outcomes_since(conn, who.org_id, who.mode, at - WINDOW)
    return LiveFigures(
        at=at,
        waiting=_table(waiting, {s: s for s in WAITING}),
        last_minute=_table(outcomes, OUTCOMES),
    )


def _table(rows: list[tuple[str, str, int]], columns: dict[str, str]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for platform, kind, count in rows:
        table.setdefault(platform, dict.fromkeys(columns.values(), 0))[columns[kind]] += count
    return dict(sorted(table.items()))
