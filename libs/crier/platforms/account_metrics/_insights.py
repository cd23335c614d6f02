"""Reading Meta's insights answers (Facebook Pages, Instagram, Threads), which all come as
`{"data": [{"name", "period", "values": [{"value", "end_time"}, …]} | {"name", "total_value":
{"value"}}, …]}`."""

from __future__ import annotations

from typing import Any

from crier.platforms.account_metrics import count, dig, mapping


def latest(body: Any, name: str) -> int | None:
    """The metric's total, or its most recent value (the last of `values`, which run oldest first)."""
    for metric in dig(body, "data") or []:
        metric = mapping(metric)
        if metric.get("name") != name:
            continue
        total = dig(metric, "total_value", "value")
        if total is not None:
            return count(total)
        values = metric.get("values")
        if isinstance(values, list) and values:
            return count(mapping(values[-1]).get("value"))
    return None
