"""A target only moves forward, whatever order its delivery reports arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crier.gateway.domain import events as ev
from crier.gateway.domain import target as tg
from crier.gateway.domain.target import Target, advance

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def target(status: str = tg.PENDING, attempts: int = 0) -> Target:
    return Target(id="t1", position=0, account_id="a1", platform="x", status=status, attempts=attempts, updated_at=T0)


def queued(s: int = 1, r: int = 0) -> ev.TargetQueued:
    return ev.TargetQueued(at=at(s), target_id="t1", redrive=r)


def publishing(attempt: int, s: int = 2, r: int = 0) -> ev.TargetPublishing:
    return ev.TargetPublishing(at=at(s), target_id="t1", attempt=attempt, redrive=r)


def attempt_failed(attempt: int, s: int = 3, r: int = 0) -> ev.TargetAttemptFailed:
    return ev.TargetAttemptFailed(
        at=at(s), target_id="t1", attempt=attempt, error_code="rate_limited", error_message="slow down", redrive=r
    )


def published(attempt: int, s: int = 9, r: int = 0) -> ev.TargetPublished:
    return ev.TargetPublished(
        at=at(s),
        target_id="t1",
        attempt=attempt,
        platform_post_id="p-1",
        platform_post_url="https://x.example/p-1",
        redrive=r,
    )


def failed(attempt: int, s: int = 9, r: int = 0) -> ev.TargetFailed:
    return ev.TargetFailed(
        at=at(s), target_id="t1", attempt=attempt, error_code="content_rejected", error_message="no", redrive=r
    )


def dead(attempt: int, s: int = 9, r: int = 0) -> ev.TargetDeadLettered:
    return ev.TargetDeadLettered(
        at=at(s), target_id="t1", attempt=attempt, error_code="timeout", error_message="gave up", redrive=r
    )


def redriven(r: int = 1, s: int = 20, target_ids: tuple[str, ...] = ("t1",)) -> ev.TargetsRedriven:
    return ev.TargetsRedriven(at=at(s), target_ids=list(target_ids), redrive=r)


def run(events: list[ev.AnyPostEvent], start: Target | None = None) -> Target:
    t = start or target()
    for e in events:
        t = advance(t, e)  # type: ignore[arg-type]
    return t


def test_the_happy_path() -> None:
    t = run([queued(), publishing(1)])
    assert (t.status, t.attempts) == (tg.PUBLISHING, 1)
    t = advance(t, published(1))
    assert t.status == tg.PUBLISHED and t.platform_post_id == "p-1" and t.published_at == at(9)


def test_retry_then_publish_keeps_the_attempt_count_and_clears_the_error() -> None:
    t = run([queued(), publishing(1, 2), attempt_failed(1, 3)])
    assert (t.status, t.attempts, t.error_code) == (tg.RETRYING, 1, "rate_limited")
    t = run([publishing(2, 4)], t)
    assert (t.status, t.attempts) == (tg.PUBLISHING, 2)
    t = run([published(2, 5)], t)
    assert (t.status, t.attempts, t.error_code, t.error_message) == (tg.PUBLISHED, 2, None, None)


def test_a_late_publishing_after_published_is_ignored() -> None:
    done = run([queued(), publishing(1), published(1)])
    assert advance(done, publishing(1, 20)) is done
    assert advance(done, queued(21)) is done


def test_a_late_publishing_of_an_earlier_attempt_does_not_undo_a_failure_report() -> None:
    t = run([publishing(1, 2), attempt_failed(1, 3)])
    assert advance(t, publishing(1, 4)) is t


def test_queued_arriving_after_publishing_is_ignored() -> None:
    t = run([publishing(1)])
    assert advance(t, queued()) is t


def test_failed_and_dead_are_terminal_and_record_the_error() -> None:
    t = run([publishing(1), failed(1)])
    assert (t.status, t.error_code) == (tg.FAILED, "content_rejected")
    assert advance(t, publishing(2)) is t and advance(t, published(2)) is t
    t = run([publishing(5), dead(5)])
    assert (t.status, t.attempts) == (tg.DEAD, 5)


def test_cancel_stops_only_waiting_targets() -> None:
    cancel = ev.PostCanceled(at=at(5), target_ids=["t1"])
    assert advance(target(tg.PENDING), cancel).status == tg.CANCELED
    assert advance(target(tg.QUEUED), cancel).status == tg.CANCELED
    in_flight = target(tg.PUBLISHING, 1)
    assert advance(in_flight, cancel) is in_flight
    assert advance(target(tg.PENDING), ev.PostCanceled(at=at(5), target_ids=["other"])).status == tg.PENDING


def test_a_publish_that_beat_the_cancel_is_recorded_as_published() -> None:
    t = run([ev.PostCanceled(at=at(5), target_ids=["t1"]), published(1, 6)])
    assert t.status == tg.PUBLISHED


RETRY_HISTORY = [
    queued(1),
    publishing(1, 2),
    attempt_failed(1, 3),
    publishing(2, 4),
    attempt_failed(2, 5),
    publishing(3, 6),
]


def _rank(t: Target) -> tuple[int, int, int, int]:
    if t.status in tg.TERMINAL:
        return (t.redrive, 1, 0, 0)
    phase = {tg.PENDING: 0, tg.QUEUED: 1, tg.PUBLISHING: 2, tg.RETRYING: 3}[t.status]
    return (t.redrive, 0, t.attempts if t.status in tg.IN_FLIGHT else 0, phase)


@given(st.permutations([*RETRY_HISTORY, published(3, 7)]))
def test_any_order_of_a_successful_history_ends_published(order: list[ev.TargetEvent]) -> None:
    t = run(order)
    assert t.status == tg.PUBLISHED and t.platform_post_id == "p-1" and t.attempts == 3


@given(
    st.permutations(
        [*RETRY_HISTORY, attempt_failed(3, 7), publishing(4, 8), attempt_failed(4, 9), publishing(5, 10), dead(5, 11)]
    )
)
def test_any_order_of_a_dead_lettered_history_ends_dead(order: list[ev.TargetEvent]) -> None:
    t = run(order)
    assert (t.status, t.attempts, t.error_code) == (tg.DEAD, 5, "timeout")


@given(st.lists(st.sampled_from([*RETRY_HISTORY, attempt_failed(3, 7), published(3, 8), failed(2, 8)]), max_size=12))
def test_no_event_ever_moves_a_target_backwards(events: list[ev.TargetEvent]) -> None:
    t = target()
    for e in events:
        after = advance(t, e)
        assert _rank(after) >= _rank(t)
        assert after.attempts >= t.attempts
        t = after


# A target that died in generation 0, redriven: what the gateway's store holds up to that point.
DEAD_THEN_REDRIVEN = [
    *RETRY_HISTORY,
    attempt_failed(3, 7),
    publishing(4, 8),
    attempt_failed(4, 9),
    publishing(5, 10),
    dead(5, 11),
    redriven(1, 20),
]
# Reports of generation 0 that arrive late or again, after the redrive.
STALE = [publishing(5, 10), attempt_failed(4, 9), dead(5, 11), published(5, 12), failed(5, 12), queued(1)]
REDRIVEN_HISTORY = [
    queued(21, r=1),
    publishing(1, 22, r=1),
    attempt_failed(1, 23, r=1),
    publishing(2, 24, r=1),
]


def test_a_redrive_sends_a_dead_target_back_to_queued_with_a_fresh_count() -> None:
    t = run(DEAD_THEN_REDRIVEN)
    assert (t.status, t.attempts, t.redrive, t.error_code, t.error_message) == (tg.QUEUED, 0, 1, None, None)
    assert t.updated_at == at(20)
    # Attempt 1 of generation 1 comes after attempt 5 of generation 0.
    t = run([publishing(1, 22, r=1)], t)
    assert (t.status, t.attempts, t.redrive) == (tg.PUBLISHING, 1, 1)
    t = run([published(1, 23, r=1)], t)
    assert (t.status, t.attempts, t.platform_post_id) == (tg.PUBLISHED, 1, "p-1")


def test_a_failed_target_is_redriven_too_but_nothing_else_is() -> None:
    t = run([publishing(1), failed(1), redriven(1)])
    assert (t.status, t.redrive) == (tg.QUEUED, 1)
    for status in (tg.PENDING, tg.QUEUED, tg.PUBLISHING, tg.RETRYING, tg.PUBLISHED, tg.CANCELED):
        other = target(status, 1)
        assert advance(other, redriven(1)) is other
    assert advance(run([publishing(1), failed(1)]), redriven(1, target_ids=("other",))).status == tg.FAILED


def test_a_redrive_of_a_generation_already_reached_changes_nothing() -> None:
    t = run([*DEAD_THEN_REDRIVEN, publishing(1, 22, r=1), dead(5, 30, r=1), redriven(2, 40)])
    assert (t.status, t.redrive) == (tg.QUEUED, 2)
    assert advance(t, redriven(2, 41)) is t
    assert advance(run([publishing(1, 42, r=2), failed(1, 43, r=2)], t), redriven(1, 44)).status == tg.FAILED


def test_reports_of_the_replaced_delivery_are_ignored_after_a_redrive() -> None:
    t = run(DEAD_THEN_REDRIVEN)
    for stale in STALE:
        assert advance(t, stale) is t
    t = run([publishing(1, 22, r=1), attempt_failed(1, 23, r=1)], t)
    for stale in STALE:
        assert advance(t, stale) is t


@given(st.permutations([*REDRIVEN_HISTORY, published(2, 25, r=1), *STALE]))
def test_any_order_after_a_redrive_ends_published_in_the_new_generation(order: list[ev.TargetEvent]) -> None:
    t = run([*DEAD_THEN_REDRIVEN, *order])
    assert (t.status, t.attempts, t.redrive, t.platform_post_id) == (tg.PUBLISHED, 2, 1, "p-1")
    assert t.error_code is None


@given(
    st.permutations(
        [
            *REDRIVEN_HISTORY,
            attempt_failed(2, 25, r=1),
            publishing(3, 26, r=1),
            attempt_failed(3, 27, r=1),
            publishing(4, 28, r=1),
            attempt_failed(4, 29, r=1),
            publishing(5, 30, r=1),
            dead(5, 31, r=1),
            *STALE,
        ]
    )
)
def test_any_order_after_a_redrive_ends_dead_again_after_five_fresh_attempts(order: list[ev.TargetEvent]) -> None:
    t = run([*DEAD_THEN_REDRIVEN, *order])
    assert (t.status, t.attempts, t.redrive, t.updated_at) == (tg.DEAD, 5, 1, at(31))


@given(
    st.lists(
        st.sampled_from(
            [*STALE, *REDRIVEN_HISTORY, published(2, 25, r=1), failed(2, 25, r=1), redriven(1, 20), redriven(2, 26)]
        ),
        max_size=12,
    )
)
def test_no_event_moves_a_redriven_target_backwards(events: list[ev.AnyPostEvent]) -> None:
    t = run(DEAD_THEN_REDRIVEN)
    for e in events:
        after = advance(t, e)  # type: ignore[arg-type]
        assert _rank(after) >= _rank(t)
        assert after.redrive >= t.redrive
        t = after
