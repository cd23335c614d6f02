"""The Post aggregate: its state from its events, its status from its targets, and cancel decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.common import Container, TargetStatus
from crier.gateway.domain import events as ev
from crier.gateway.domain import post as p
from crier.gateway.domain import target as tg
from crier.gateway.domain.post import Post, apply, cancel, redrive, replay, roll_up
from crier.kit.errors import Conflict, NotFound

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def created(n: int = 2, *, scheduled: bool = False, draft: bool = False) -> ev.PostCreated:
    return ev.PostCreated(
        at=T0,
        post_id="p1",
        org_id="o1",
        mode="live",
        containers=[Container(content="hi")],
        targets=[ev.PlannedTarget(id=f"t{i}", account_id=f"a{i}", platform="x") for i in range(n)],
        scheduled_at=T0 + timedelta(days=1) if scheduled else None,
        is_draft=draft,
    )


def with_statuses(*statuses: TargetStatus) -> Post:
    post = apply(None, created(len(statuses)))
    targets = tuple(msgspec.structs.replace(t, status=s) for t, s in zip(post.targets, statuses, strict=True))
    return msgspec.structs.replace(post, targets=targets)


def test_initial_status_follows_the_kind_of_post() -> None:
    assert apply(None, created()).status == p.QUEUED
    assert {t.status for t in apply(None, created()).targets} == {tg.QUEUED}
    scheduled = apply(None, created(scheduled=True))
    assert scheduled.status == p.SCHEDULED and {t.status for t in scheduled.targets} == {tg.PENDING}
    draft = apply(None, created(scheduled=True, draft=True))
    assert draft.status == p.DRAFT and {t.status for t in draft.targets} == {tg.PENDING}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((tg.PUBLISHED, tg.PUBLISHED), p.PUBLISHED),
        ((tg.PUBLISHED, tg.FAILED), p.PARTIAL),
        ((tg.PUBLISHED, tg.DEAD), p.PARTIAL),
        ((tg.PUBLISHED, tg.CANCELED), p.PARTIAL),
        ((tg.FAILED, tg.DEAD), p.FAILED),
        ((tg.FAILED, tg.CANCELED), p.FAILED),
        ((tg.CANCELED, tg.CANCELED), p.CANCELED),
        ((tg.PUBLISHED, tg.QUEUED), p.PUBLISHING),
        ((tg.RETRYING, tg.QUEUED), p.PUBLISHING),
        ((tg.PENDING, tg.QUEUED), p.QUEUED),
        ((tg.QUEUED, tg.QUEUED), p.QUEUED),
    ],
)
def test_roll_up(statuses: tuple[str, ...], expected: str) -> None:
    assert roll_up(with_statuses(*statuses)) == expected


@given(st.lists(st.sampled_from(sorted(tg.TERMINAL)), min_size=1, max_size=6))
def test_all_terminal_targets_give_a_terminal_post(statuses: list[str]) -> None:
    status = roll_up(with_statuses(*statuses))
    assert status in p.TERMINAL
    assert (status == p.PUBLISHED) == all(s == tg.PUBLISHED for s in statuses)
    assert (status in (p.PUBLISHED, p.PARTIAL)) == any(s == tg.PUBLISHED for s in statuses)


def test_events_update_targets_and_versions() -> None:
    post = apply(None, created())
    post = apply(post, ev.TargetPublishing(at=T0 + timedelta(seconds=1), target_id="t0", attempt=1))
    assert post.version == 2 and post.status == p.PUBLISHING and post.updated_at == T0 + timedelta(seconds=1)
    post = apply(
        post, ev.TargetPublished(at=T0 + timedelta(seconds=2), target_id="t0", attempt=1, platform_post_id="x1")
    )
    post = apply(
        post,
        ev.TargetFailed(at=T0 + timedelta(seconds=3), target_id="t1", attempt=1, error_code="e", error_message="m"),
    )
    assert post.status == p.PARTIAL and post.published_at == T0 + timedelta(seconds=2) and post.version == 4


def test_an_ignored_event_changes_no_timestamp() -> None:
    post = apply(None, created(1))
    post = apply(
        post, ev.TargetPublished(at=T0 + timedelta(seconds=5), target_id="t0", attempt=1, platform_post_id="x")
    )
    late = apply(post, ev.TargetPublishing(at=T0 + timedelta(seconds=9), target_id="t0", attempt=1))
    assert late.updated_at == post.updated_at and late.targets == post.targets and late.version == post.version + 1


def test_replay_equals_step_by_step_application() -> None:
    events: list[ev.AnyPostEvent] = [
        created(),
        ev.TargetQueued(at=T0, target_id="t0"),
        ev.TargetPublishing(at=T0 + timedelta(seconds=1), target_id="t0", attempt=1),
    ]
    assert replay(events) == apply(apply(apply(None, events[0]), events[1]), events[2])
    assert replay([ev.decode(ev.encode(e)[1]) for e in events]) == replay(events)


def test_events_survive_storage_round_trip() -> None:
    for event in (
        created(scheduled=True),
        ev.PostCanceled(at=T0, target_ids=["t0"]),
        ev.TargetAttemptFailed(at=T0, target_id="t0", attempt=2, error_code="e", error_message="m"),
        ev.TargetsRedriven(at=T0, target_ids=["t0", "t1"], redrive=2),
        ev.TargetPublishing(at=T0, target_id="t0", attempt=1, redrive=2),
    ):
        kind, data = ev.encode(event)
        assert data["type"] == kind and ev.decode(data) == event
        assert ev.decode(msgspec.json.encode(data)) == event


def test_cancel_decisions() -> None:
    post = apply(None, created(scheduled=True))
    decision = cancel(post, T0 + timedelta(seconds=1))
    assert decision.target_ids == ["t0", "t1"]
    assert apply(post, decision).status == p.CANCELED
    for refused in (
        apply(post, decision),
        with_statuses(tg.PUBLISHING, tg.QUEUED),
        with_statuses(tg.RETRYING, tg.QUEUED),
        with_statuses(tg.PUBLISHED, tg.FAILED),
    ):
        with pytest.raises(Conflict) as info:
            cancel(refused, T0)
        assert info.value.code == "post_not_cancelable" and info.value.details == {"status": refused.status}
    # Something already went out, the rest has not started: cancel what is left.
    partial = cancel(with_statuses(tg.PUBLISHED, tg.QUEUED), T0)
    assert partial.target_ids == ["t1"]


def test_events_before_creation_are_refused() -> None:
    with pytest.raises(ValueError):
        apply(None, ev.TargetQueued(at=T0, target_id="t0"))
    with pytest.raises(ValueError):
        apply(apply(None, created()), created())


def test_an_event_stored_before_redrive_existed_is_of_generation_zero() -> None:
    stored = {"type": "target.publishing", "at": T0.isoformat(), "target_id": "t0", "attempt": 3}
    assert ev.decode(stored) == ev.TargetPublishing(at=T0, target_id="t0", attempt=3, redrive=0)


def finished(*outcomes: str) -> Post:
    """A post whose targets t0, t1, … each ended as told: published, failed or dead."""
    post = apply(None, created(len(outcomes)))
    for i, outcome in enumerate(outcomes):
        at = T0 + timedelta(seconds=i + 1)
        if outcome == "published":
            post = apply(post, ev.TargetPublished(at=at, target_id=f"t{i}", attempt=1, platform_post_id=f"x{i}"))
        elif outcome == "failed":
            post = apply(post, ev.TargetFailed(at=at, target_id=f"t{i}", attempt=1, error_code="e", error_message="m"))
        else:
            post = apply(
                post, ev.TargetDeadLettered(at=at, target_id=f"t{i}", attempt=5, error_code="e", error_message="m")
            )
    return post


def test_redrive_every_failed_and_dead_target_of_a_failed_post() -> None:
    post = finished("failed", "dead")
    assert post.status == p.FAILED
    decision = redrive(post, None, T0 + timedelta(minutes=1))
    assert (decision.target_ids, decision.redrive) == (["t0", "t1"], 1)
    after = apply(post, decision)
    assert after.status == p.QUEUED and after.updated_at == T0 + timedelta(minutes=1)
    assert [(t.status, t.attempts, t.redrive, t.error_code) for t in after.targets] == [(tg.QUEUED, 0, 1, None)] * 2


def test_redrive_of_a_partial_post_rolls_it_up_as_publishing_again() -> None:
    post = finished("published", "dead", "failed")
    assert post.status == p.PARTIAL
    after = apply(post, redrive(post, ["t1"], T0 + timedelta(minutes=1)))
    assert after.status == p.PUBLISHING and after.published_at == post.published_at
    assert [t.status for t in after.targets] == [tg.PUBLISHED, tg.QUEUED, tg.FAILED]
    # Each redrive is the post's next generation, whichever targets it takes.
    second = redrive(after, None, T0 + timedelta(minutes=2))
    assert (second.target_ids, second.redrive) == (["t2"], 2)
    after = apply(after, second)
    assert [t.redrive for t in after.targets] == [0, 1, 2]
    # The redriven targets' new deliveries report in their own generation, attempts from 1.
    after = apply(after, ev.TargetPublished(at=T0, target_id="t1", attempt=1, platform_post_id="x1", redrive=1))
    after = apply(after, ev.TargetPublished(at=T0, target_id="t2", attempt=1, platform_post_id="x2", redrive=2))
    assert after.status == p.PUBLISHED and [t.attempts for t in after.targets] == [1, 1, 1]


def test_redrive_refusals() -> None:
    post = finished("published", "dead")
    with pytest.raises(Conflict) as info:
        redrive(post, ["t0"], T0)
    assert info.value.code == "target_not_retryable"
    assert info.value.details == {"target_id": "t0", "status": tg.PUBLISHED}
    with pytest.raises(NotFound):
        redrive(post, ["t9"], T0)
    # Named together with one that cannot be retried, a retryable one is not retried either.
    with pytest.raises(Conflict):
        redrive(post, ["t1", "t0"], T0)
    for nothing_to_retry in (
        apply(None, created()),
        finished("published", "published"),
        apply(post, redrive(post, None, T0)),
    ):
        with pytest.raises(Conflict) as info:
            redrive(nothing_to_retry, None, T0)
        assert info.value.code == "post_not_retryable"
        assert info.value.details == {"status": nothing_to_retry.status}


def test_replay_of_a_redriven_history_equals_its_step_by_step_application() -> None:
    post = finished("dead", "failed")
    decision = redrive(post, ["t0"], T0 + timedelta(minutes=1))
    events: list[ev.AnyPostEvent] = [
        created(),
        ev.TargetFailed(at=T0, target_id="t1", attempt=1, error_code="e", error_message="m"),
        ev.TargetDeadLettered(at=T0, target_id="t0", attempt=5, error_code="e", error_message="m"),
        decision,
        ev.TargetPublishing(at=T0 + timedelta(minutes=2), target_id="t0", attempt=1, redrive=1),
    ]
    step = None
    for e in events:
        step = apply(step, e)
    assert replay(events) == step
    assert replay([ev.decode(ev.encode(e)[1]) for e in events]) == step
    assert step is not None and step.status == p.PUBLISHING and step.targets[0].attempts == 1
