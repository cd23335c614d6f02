"""Deliveries in flight, from each attempt's start and finish (the publisher's `attempts` rows)."""

from __future__ import annotations

from datetime import datetime

Span = tuple[datetime, datetime]


def in_flight(spans: list[Span]) -> int:
    """The most attempts under way at one moment."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def slot_fill(spans: list[Span], slots: int) -> float:
    """How full the slots were, on average over time, from the first attempt to the last one begun:
    until then some work was still waiting for a slot, so every empty slot was an idle one."""
    until = max(s for s, _ in spans)
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans if e < until], key=lambda x: (x[0], x[1]))
    now, busy, last = 0, 0.0, edges[0][0]
    for at, step in edges:
        busy += min(now, slots) * (at - last).total_seconds()
        now, last = now + step, at
    wall = (until - edges[0][0]).total_seconds()
    return busy / (slots * wall) if wall > 0 else 1.0
