"""Every JetStream stream Crier uses, declared in one place."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

DAY = 24 * 3600


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    retention: RetentionPolicy
    max_age_s: float = 0
    duplicate_window_s: float = 120


EVENTS = StreamSpec("EVENTS", ("evt.>",), RetentionPolicy.LIMITS, max_age_s=30 * DAY)
PUBLISH = StreamSpec("PUBLISH", ("cmd.>",), RetentionPolicy.WORK_QUEUE)
DEAD = StreamSpec("DEAD", ("dead.>",), RetentionPolicy.LIMITS, max_age_s=90 * DAY)
ALL = (EVENTS, PUBLISH, DEAD)


def config_for(spec: StreamSpec, namespace: str, replicas: int = 1) -> StreamConfig:
    prefix = f"{namespace}." if namespace else ""
    return StreamConfig(
        name=f"{namespace}_{spec.name}" if namespace else spec.name,
        subjects=[prefix + s for s in spec.subjects],
        retention=spec.retention,
        storage=StorageType.FILE,
        max_age=spec.max_age_s or None,
        duplicate_window=spec.duplicate_window_s,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
    )
