"""The pure choice of which lane takes a free delivery slot, and the lanes a publisher reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.commands import PUBLISH_LANES, lane_subject, publish_subject
from crier.publisher.domain.rotation import Rotation
from crier.publisher.entrypoints.consumers import _durable_of, lane_tiers

DUE = ["d0", "d1", "d2"]
NOW = ["n0", "n1", "n2", "n3", "old"]
LANES = DUE + NOW
waiting_sets = st.sets(st.sampled_from(LANES))


@given(st.lists(waiting_sets, max_size=60))
def test_the_first_tier_with_work_is_served_and_nothing_when_none_waits(steps: list[set[str]]) -> None:
    rotation = Rotation([DUE, NOW])
    for waiting in steps:
        chosen = rotation.pick(waiting)
        if not waiting:
            assert chosen is None
        else:
            assert chosen in waiting
            assert (chosen in DUE) == bool(waiting & set(DUE))


@given(st.lists(waiting_sets.filter(bool), max_size=80))
def test_a_lane_that_keeps_waiting_is_served_within_one_round_of_its_tier(steps: list[set[str]]) -> None:
    # However the others come and go, a lane waiting all along is never passed over by more picks
    # in its tier than the tier has other lanes: one organisation's burst cannot starve another's.
    rotation = Rotation([DUE, NOW])
    passed_over = dict.fromkeys(LANES, 0)
    for waiting in steps:
        chosen = rotation.pick(waiting)
        tier = DUE if chosen in DUE else NOW
        for lane in tier:
            passed_over[lane] = 0 if lane == chosen or lane not in waiting else passed_over[lane] + 1
            assert passed_over[lane] < len(tier), (lane, steps)


@given(st.integers(min_value=1, max_value=50), st.sets(st.sampled_from(NOW[1:]), min_size=1))
def test_a_burst_gets_one_slot_a_round_while_others_wait(burst: int, others: set[str]) -> None:
    queued = {"n0": burst, **dict.fromkeys(others, 1)}
    rotation = Rotation([DUE, NOW])
    served = []
    while lane := rotation.pick({lane for lane, n in queued.items() if n}):
        queued[lane] -= 1
        served.append(lane)
    # Each other lane's one command is served before the burst's second.
    assert set(served[: served.index("n0", 1) if served.count("n0") > 1 else len(served)]) >= others
    assert served.count("n0") == burst


def test_a_publisher_reads_every_lane_once_and_the_old_queue() -> None:
    tiers = lane_tiers("x")
    subjects = [s for tier in tiers for s in tier]
    assert tiers[0] == [lane_subject("x", ("due", n)) for n in range(PUBLISH_LANES)]
    assert set(tiers[1]) == {*(lane_subject("x", ("now", n)) for n in range(PUBLISH_LANES)), publish_subject("x")}
    durables = [_durable_of("x", s) for s in subjects]
    assert len(set(durables)) == len(subjects) == 2 * PUBLISH_LANES + 1
    # The old queue keeps its consumer, and with it the commands still waiting on it.
    assert _durable_of("x", publish_subject("x")) == "publisher-x"
    assert _durable_of("x", "cmd.publish.x.due.3") == "publisher-x-due-3"
