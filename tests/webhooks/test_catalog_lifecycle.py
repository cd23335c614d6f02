"""The catalog's public events for a post's lifecycle after its creation: an edit is `post.updated`,
a draft published for later is `post.scheduled` as a scheduled create is, and the targets an edit
adds are remembered so their events carry their accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crier.contracts import events as evt
from crier.contracts.webhooks import EVENT_TYPES
from crier.webhooks.domain import catalog

NOW = datetime(2026, 6, 9, 10, 0, tzinfo=UTC)
TARGETS = [
    evt.TargetSpec(target_id="t1", account_id="a1", platform="x", tenant_id="u1"),
    evt.TargetSpec(target_id="t2", account_id="a2", platform="linkedin"),
]


def update(**kw: object) -> evt.PostUpdated:
    fields: dict = {
        "id": str(uuid.uuid4()),
        "occurred_at": NOW,
        "org_id": "o1",
        "mode": "live",
        "post_id": "p1",
        "version": 2,
        "status": "scheduled",
        "containers": [],
        "targets": TARGETS,
        "scheduled_at": NOW,
    }
    return evt.PostUpdated(**{**fields, **kw})


def test_an_edit_is_post_updated() -> None:
    edit = update(removed_target_ids=["t0"], external_ref="r1")
    [public] = catalog.translate("evt.post.updated", edit)
    assert (public.type, public.order_key, public.created_at) == ("post.updated", "p1", NOW)
    assert public.data == {
        "post_id": "p1",
        "status": "scheduled",
        "scheduled_at": NOW,
        "is_draft": False,
        "external_ref": "r1",
        "targets": [
            {"target_id": "t1", "account_id": "a1", "platform": "x", "tenant_id": "u1"},
            {"target_id": "t2", "account_id": "a2", "platform": "linkedin", "tenant_id": None},
        ],
        "removed_target_ids": ["t0"],
    }
    assert public.id == catalog.translate("evt.post.updated", edit)[0].id
    # A draft edited is still an edit.
    [draft] = catalog.translate("evt.post.updated", update(is_draft=True, status="draft"))
    assert draft.type == "post.updated" and draft.data["is_draft"] is True
    assert "post.updated" in EVENT_TYPES


def test_a_draft_published_for_later_is_post_scheduled_and_one_published_now_says_nothing() -> None:
    later = update(draft_published=True)
    [public] = catalog.translate("evt.post.updated", later)
    created = evt.PostCreated(
        id=str(uuid.uuid4()),
        occurred_at=NOW,
        org_id="o1",
        mode="live",
        post_id="p1",
        containers=[],
        targets=TARGETS,
        scheduled_at=NOW,
    )
    [as_created] = catalog.translate("evt.post.created", created)
    assert (public.type, public.data) == ("post.scheduled", as_created.data)
    assert catalog.translate("evt.post.updated", update(draft_published=True, scheduled_at=None, status="queued")) == []


def test_the_targets_an_edit_names_are_known() -> None:
    assert catalog.known_targets(update()) == [
        catalog.KnownTarget("t1", "a1", "u1"),
        catalog.KnownTarget("t2", "a2", None),
    ]
