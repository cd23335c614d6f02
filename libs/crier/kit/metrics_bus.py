"""Consumer lag as metrics: what a JetStream consumer still has to do, read at scrape time.

The same two numbers the KEDA `nats-jetstream` scaler reads from the NATS monitoring endpoint
(`num_pending`, `num_ack_pending`), so a dashboard shows what the autoscaler acts on.
"""

from __future__ import annotations

from crier.kit.bus import Bus
from crier.kit.bus.streams import StreamSpec
from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import CONSUMER_ACK_PENDING, CONSUMER_PENDING


def watch_consumer(metrics: Metrics, bus: Bus, stream: StreamSpec, durable: str) -> None:
    """Report the durable consumer's pending and unacknowledged messages on every scrape. Labels use
    the stream's name without the bus namespace, so dashboards read the same in every stack."""
    pending = CONSUMER_PENDING.on(metrics).labels(stream=stream.name, consumer=durable)
    ack_pending = CONSUMER_ACK_PENDING.on(metrics).labels(stream=stream.name, consumer=durable)

    async def refresh() -> None:
        info = await bus.js.consumer_info(bus.stream(stream), durable)
        pending.set(info.num_pending or 0)
        ack_pending.set(info.num_ack_pending or 0)

    metrics.on_scrape(refresh)
