"""The run's two tables, as Markdown: what was done step by step, and what the checks found."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.chaos.checks import Finding
from tests.chaos.load import Accepted
from tests.chaos.receiver import Delivery


@dataclass
class Step:
    name: str
    killed: str  # what was SIGKILLed, with its pid; "-" for none
    downtime_s: float | None  # from the kill until /readyz and a new process; None: never within the deadline
    accepted: int = 0
    errors: Counter[str] | None = None
    skipped: bool = False  # the stack was not ready to begin with: nothing was killed

    @property
    def recovered(self) -> bool:
        return self.killed == "-" or (self.downtime_s is not None and not self.skipped)

    def row(self) -> list[str]:
        if self.killed == "-" or self.skipped:
            downtime = "-"
        else:
            downtime = f"{self.downtime_s:.1f} s" if self.downtime_s is not None else "not recovered"
        errors = ", ".join(f"{kind} ×{n}" for kind, n in sorted((self.errors or Counter()).items())) or "none"
        return [self.name, self.killed, downtime, str(self.accepted), errors]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def render(steps: list[Step], findings: list[Finding], summary: str) -> str:
    done = table(
        ["step", "killed (SIGKILL)", "downtime until ready", "posts accepted during", "errors seen by the client"],
        [step.row() for step in steps],
    )
    found = table(
        ["check", "expected", "found", "ok"],
        [[f.check, f.expected, f.found, "yes" if f.ok else "NO"] for f in findings],
    )
    details = [f"  {f.check}: {line}" for f in findings if not f.ok for line in f.details]
    return "\n\n".join(part for part in (summary, done, found, "\n".join(details)) if part)


def publish_lag(accepted: list[Accepted], posts: dict[str, dict[str, Any]]) -> str:
    """From a post's creation (or its due time) to its last target on the platform, as Crier recorded:
    how long the faults held the posts up."""
    lags: list[tuple[float, int, str]] = []
    for post in accepted:
        shown = posts.get(post.post_id)
        if not shown or not shown.get("published_at"):
            continue
        start = max(_at(shown["created_at"]), _at(shown.get("scheduled_at") or shown["created_at"]))
        lags.append(((_at(shown["published_at"]) - start).total_seconds(), post.step, post.post_id))
    if not lags:
        return "no post published"
    worst, step, post_id = max(lags)
    median = statistics.median(lag for lag, _, _ in lags)
    return f"publish lag p50 {median:.1f} s, max {worst:.1f} s (post {post_id}, accepted in step {step or 'warm-up'})"


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def webhook_lag(deliveries: list[Delivery]) -> str:
    """From an event's creation to its first arrival at the endpoint."""
    first: dict[str, float] = {}
    for delivery in deliveries:
        created = delivery.event.get("created_at")
        if created and delivery.webhook_id not in first:
            first[delivery.webhook_id] = (delivery.received_at - _at(created)).total_seconds()
    if not first:
        return "no webhook arrived"
    return f"webhook lag p50 {statistics.median(first.values()):.1f} s, max {max(first.values()):.1f} s"
