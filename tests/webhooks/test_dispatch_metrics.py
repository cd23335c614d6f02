"""What one attempt records in the service's metrics: its outcome (delivered, failed and retried,
or given up) and its duration, on the registry its Context was given. Fakes only: no network."""

from __future__ import annotations

from dataclasses import replace

from crier.kit.crypto import Keyring
from crier.kit.metrics import Metrics
from crier.webhooks.domain.delivery import MAX_ATTEMPTS, Outcome
from crier.webhooks.handlers.context import Meters
from crier.webhooks.handlers.dispatch import attempt_delivery
from tests.webhooks.test_dispatch import FakeSender, _claim, _context


def _count(metrics: Metrics, name: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"outcome": outcome})


async def test_each_attempt_is_counted_and_timed_by_where_it_leaves_its_delivery() -> None:
    keyring = Keyring(Keyring.generate_spec())
    metrics = Metrics("webhooks")
    meters = Meters.on(metrics)
    answers = [
        (Outcome(200, None), 0),  # delivered
        (Outcome(503, "http_503"), 0),  # failed, retried later
        (Outcome(None, "timeout"), 2),  # failed, retried later
        (Outcome(503, "http_503"), MAX_ATTEMPTS - 1),  # the last attempt: given up
        (Outcome(410, "http_410"), 0),  # refused for good: given up at once
    ]
    for answer, attempts_made in answers:
        ctx = replace(_context(FakeSender(answer), keyring), meters=meters)
        await attempt_delivery(ctx, _claim(keyring, attempts_made, "whsec_a"))

    totals = {o: _count(metrics, "crier_webhook_deliveries_total", o) for o in ("delivered", "failed", "gave_up")}
    assert totals == {"delivered": 1.0, "failed": 2.0, "gave_up": 2.0}
    timed = {o: _count(metrics, "crier_webhook_delivery_duration_seconds_count", o) for o in totals}
    assert timed == totals


async def test_contexts_built_without_meters_do_not_share_counts() -> None:
    keyring = Keyring(Keyring.generate_spec())
    first, second = (_context(FakeSender(Outcome(200, None)), keyring) for _ in range(2))
    await attempt_delivery(first, _claim(keyring, 0, "whsec_a"))
    assert first.meters is not second.meters
    assert first.meters.deliveries.labels(outcome="delivered")._value.get() == 1.0
    assert second.meters.deliveries.labels(outcome="delivered")._value.get() == 0.0
