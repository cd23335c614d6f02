"""An imported post in the Post aggregate: published from its first event, and never acted on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crier.gateway.domain import events as ev
from crier.gateway.domain import revision
from crier.gateway.domain.post import cancel, redrive, replay
from crier.kit.errors import Conflict

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def imported() -> ev.PostImported:
    return ev.PostImported(
        at=AT,
        post_id="p1",
        org_id="o1",
        mode="live",
        import_id="imp_1",
        content="Hello from before Crier",
        target=ev.PlannedTarget(id="t1", account_id="a1", platform="x", account_username="jane", tenant_id="u9"),
        platform_post_id="1800",
        platform_post_url="https://x.com/jane/status/1800",
        imported_at=datetime(2026, 6, 1, tzinfo=UTC),
    )


def test_an_imported_post_is_published_with_the_platforms_id_and_time() -> None:
    post = replay([ev.decode(ev.encode(imported())[1])])
    assert post is not None
    [target] = post.targets
    assert (post.status, post.source, post.published_at, post.created_at) == ("published", "imported", AT, AT)
    assert (target.status, target.platform_post_id, target.tenant_id) == ("published", "1800", "u9")
    assert post.containers[0].content == "Hello from before Crier"


@pytest.mark.parametrize(
    "act",
    [
        lambda p: cancel(p, AT),
        lambda p: redrive(p, None, AT),
        lambda p: revision.check_editable(p, AT),
        lambda p: revision.check_draft(p),
    ],
)
def test_crier_never_acts_on_an_imported_post(act: object) -> None:
    post = replay([imported()])
    with pytest.raises(Conflict) as refused:
        act(post)  # type: ignore[operator]
    assert refused.value.code == "post_imported"
