from __future__ import annotations

from dataclasses import dataclass

from crier.kit.settings import CommonSettings


@dataclass(frozen=True)
class SchedulerSettings(CommonSettings):
    # Longest the alarm sleeps without looking at the timetable again. Wake-ups make firing
    # precise; this only bounds the delay for rows another replica inserted.
    scheduler_max_wait_s: float = 5.0
    # Targets fired per transaction; a larger backlog is fired in consecutive batches.
    scheduler_batch_size: int = 1000
    # Post events (created, updated, canceled, redriven) handled at once: one post's in stream
    # order, different posts' side by side. One at a time, a burst of immediate posts queued here.
    scheduler_event_concurrency: int = 8
