"""The Post aggregate's fold with the lifecycle events (a draft published, a post edited, a cancel
that gives the external_ref back), and the decisions behind them, with plain values: the API tests
beside this one drive the same code through a running gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.common import Container
from crier.gateway.domain import events as ev
from crier.gateway.domain import post as p
from crier.gateway.domain import target as tg
from crier.gateway.domain.post import apply, cancel, replay
from crier.gateway.domain.revision import PostPatch, as_request, edit, publish
from crier.kit.errors import Conflict

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)


def planned(i: int, override: str | None = None) -> ev.PlannedTarget:
    return ev.PlannedTarget(id=f"t{i}", account_id=f"a{i}", platform="x", override_body=override)


def created(n: int = 3, *, draft: bool = False, scheduled: bool = True) -> ev.PostCreated:
    return ev.PostCreated(
        at=T0,
        post_id="p1",
        org_id="o1",
        mode="live",
        containers=[Container(content="v1")],
        targets=[planned(i) for i in range(n)],
        scheduled_at=LATER if scheduled else None,
        is_draft=draft,
        external_ref="ref",
    )


# Keep t0, drop t1 and t2, add t3 in front, with a new text, time, config and reference.
EDIT = ev.PostEdited(
    at=T0 + timedelta(minutes=1),
    containers=[Container(content="v2"), Container(content="comment")],
    targets=[planned(3), planned(0, "for a0")],
    scheduled_at=LATER + timedelta(hours=1),
    config={"x": {"reply_settings": "following"}},
    external_ref="ref-2",
)


def delivery(target: str, minute: int) -> list[ev.AnyPostEvent]:
    at = T0 + timedelta(days=3, minutes=minute)
    return [
        ev.TargetQueued(at=at, target_id=target),
        ev.TargetPublishing(at=at + timedelta(seconds=1), target_id=target, attempt=1),
        ev.TargetPublished(at=at + timedelta(seconds=2), target_id=target, attempt=1, platform_post_id=f"x-{target}"),
    ]


def test_an_edit_replaces_content_and_targets_and_keeps_the_state_of_those_that_stay() -> None:
    post = apply(apply(None, created()), EDIT)
    assert post.version == 2 and post.status == p.SCHEDULED and post.updated_at == EDIT.at
    assert [c.content for c in post.containers] == ["v2", "comment"]
    assert (post.scheduled_at, post.config, post.external_ref) == (EDIT.scheduled_at, EDIT.config, "ref-2")
    assert [(t.id, t.position, t.status, t.override_body) for t in post.targets] == [
        ("t3", 0, tg.PENDING, None),
        ("t0", 1, tg.PENDING, "for a0"),
    ]
    assert post.created_at == T0 and not post.is_draft


def test_a_published_draft_waits_for_its_time_or_goes_out_at_once() -> None:
    draft = apply(None, created(2, draft=True, scheduled=False))
    assert draft.status == p.DRAFT
    later = apply(draft, publish(draft, LATER, T0 + timedelta(seconds=5), seen=draft.updated_at))
    assert (later.status, later.is_draft, later.scheduled_at) == (p.SCHEDULED, False, LATER)
    assert [t.status for t in later.targets] == [tg.PENDING, tg.PENDING]
    now = apply(draft, publish(draft, None, T0 + timedelta(seconds=5), seen=draft.updated_at))
    assert now.status == p.QUEUED and [t.status for t in now.targets] == [tg.QUEUED, tg.QUEUED]
    assert now.updated_at == T0 + timedelta(seconds=5)
    with pytest.raises(Conflict) as info:
        publish(now, None, T0, seen=now.updated_at)
    assert (info.value.code, info.value.details) == ("post_not_draft", {"status": p.QUEUED})


def test_edits_are_refused_once_a_post_is_on_its_way_or_when_it_changed_since() -> None:
    post = apply(None, created())
    kw = {"containers": [], "targets": [], "scheduled_at": None, "config": {}, "external_ref": None, "at": T0}
    with pytest.raises(Conflict) as info:
        edit(post, **kw, seen=T0 - timedelta(seconds=1))
    assert info.value.code == "post_modified" and info.value.details["updated_at"] == T0.isoformat()
    # Its time has come: the scheduler may be sending it out before the gateway hears of it.
    with pytest.raises(Conflict) as info:
        edit(post, **{**kw, "at": LATER}, seen=post.updated_at)
    assert (info.value.code, info.value.details) == ("post_not_editable", {"status": p.SCHEDULED})
    queued = apply(post, ev.TargetQueued(at=T0, target_id="t0"))
    canceled = apply(post, cancel(post, T0))
    for refused in (queued, canceled, apply(None, created(scheduled=False))):
        with pytest.raises(Conflict) as info:
            edit(refused, **kw, seen=refused.updated_at)
        assert (info.value.code, info.value.details) == ("post_not_editable", {"status": refused.status})


def test_a_target_whose_queued_report_overtook_the_edit_keeps_its_state() -> None:
    post = apply(apply(None, created()), ev.TargetQueued(at=T0, target_id="t0"))
    after = apply(post, EDIT)
    assert [(t.id, t.status) for t in after.targets] == [("t3", tg.PENDING), ("t0", tg.QUEUED)]
    assert after.status == p.QUEUED


@given(st.permutations([*delivery("t0", 0), *delivery("t3", 1), *delivery("t1", 2), *delivery("t2", 3)]))
def test_reordered_deliveries_after_an_edit_give_one_post(events: list[ev.AnyPostEvent]) -> None:
    """Reports of targets the edit removed change nothing, whenever they come; the others give the
    same post in any order."""
    expected = replay([created(), EDIT, *delivery("t0", 0), *delivery("t3", 1)])
    post = replay([created(), EDIT, *events])
    assert post is not None and expected is not None
    assert post.targets == expected.targets and post.status == expected.status == p.PUBLISHED
    assert post.published_at == expected.published_at and {t.id for t in post.targets} == {"t0", "t3"}


@given(st.booleans(), st.permutations(delivery("t0", 0)[1:]))
def test_a_cancel_gives_the_reference_back_for_good(published_late: bool, late: list[ev.AnyPostEvent]) -> None:
    post = apply(None, created(1, scheduled=False))
    post = apply(post, cancel(post, T0 + timedelta(seconds=1)))
    assert post.status == p.CANCELED and post.canceled_at == T0 + timedelta(seconds=1)
    # The publisher had it already: the truth wins, but the reference stays given back.
    for event in late if published_late else late[:1]:
        post = apply(post, event)
    assert post.canceled_at == T0 + timedelta(seconds=1)
    assert apply(None, created()).canceled_at is None


def test_the_lifecycle_events_survive_storage_and_replay() -> None:
    draft = created(2, draft=True)
    events: list[ev.AnyPostEvent] = [draft, EDIT, ev.DraftPublished(at=T0 + timedelta(minutes=2), scheduled_at=LATER)]
    for event in events:
        kind, data = ev.encode(event)
        assert data["type"] == kind and ev.decode(data) == event and ev.decode(msgspec.json.encode(data)) == event
    step = None
    for event in events:
        step = apply(step, event)
    assert replay([ev.decode(ev.encode(e)[1]) for e in events]) == step
    assert step is not None and step.status == p.SCHEDULED and step.scheduled_at == LATER


def test_a_patch_leaves_what_it_does_not_name() -> None:
    post = apply(apply(None, created(2)), EDIT)
    same = as_request(post)
    assert (same.accounts, same.content, same.containers) == (["a3", "a0"], None, post.containers)
    assert same.overrides == {"a0": "for a0"} and same.scheduled_at == EDIT.scheduled_at.isoformat()
    assert (same.config, same.external_ref, same.is_draft) == (EDIT.config, "ref-2", False)
    # Text in place of the thread; an account removed takes its override with it.
    changed = as_request(post, PostPatch(content="v3", accounts=["a3"], scheduled_at=None, external_ref=None))
    assert (changed.content, changed.containers, changed.overrides) == ("v3", None, {})
    assert (changed.scheduled_at, changed.external_ref) == (None, None)
    draft = apply(None, created(1, draft=True))
    assert as_request(draft).is_draft and not as_request(draft, publish=True).is_draft
