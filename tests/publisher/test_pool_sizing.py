"""The publisher keeps a database connection open for each delivery slot, within the most the
operator allows (pool + overflow), so deliveries never open and close connections one by one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crier.publisher.entrypoints.main import steady_pool
from crier.publisher.settings import PublisherSettings


@pytest.mark.parametrize(
    ("pool", "overflow", "slots", "kept", "extra"),
    [
        (10, 10, 16, 20, 0),  # the defaults: every slot's connection stays open, the ceiling unchanged
        (10, 10, 4, 10, 10),  # few slots: as configured
        (10, 10, 600, 20, 0),  # many slots: never past the ceiling the operator set
        (30, 5, 16, 30, 5),  # a larger pool already covers the slots
    ],
)
def test_the_pool_keeps_a_connection_per_slot_within_the_ceiling(
    pool: int, overflow: int, slots: int, kept: int, extra: int
) -> None:
    settings = replace(
        PublisherSettings(), database_pool_size=pool, database_max_overflow=overflow, publisher_concurrency=slots
    )
    sized = steady_pool(settings)
    assert (sized.database_pool_size, sized.database_max_overflow) == (kept, extra)
