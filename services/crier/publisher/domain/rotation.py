"""Which lane's waiting command takes the next free delivery slot.

A platform's queue is split into lanes (see `crier.contracts.commands`), grouped in tiers, most
urgent first: the due lanes of scheduled targets, then the lanes of immediate ones. A free slot
goes to the first tier with a command waiting, and within it to the lanes in turn, starting after
the lane served last. A lane with a long burst so gets one slot a round while other lanes have work
— its organisation's share, not the whole platform — and all of them once the others are empty.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


class Rotation:
    def __init__(self, tiers: Sequence[Sequence[str]]) -> None:
        self.tiers = [list(tier) for tier in tiers]
        # Per tier, the position the next search starts from: one past the lane served last.
        self._start = [0] * len(self.tiers)

    def pick(self, waiting: Collection[str]) -> str | None:
        """The lane to serve among those with a command `waiting`; None when none has."""
        for t, tier in enumerate(self.tiers):
            for step in range(len(tier)):
                at = (self._start[t] + step) % len(tier)
                if tier[at] in waiting:
                    self._start[t] = (at + 1) % len(tier)
                    return tier[at]
        return None
