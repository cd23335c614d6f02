"""Publish budgets across replicas: two publishers for one platform, a tiny budget, and a burst to
one account — the platform never sees more than the budget within its window, and every post
still goes out, later, without a failed attempt."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import create_post, wait_post
from tests.support.live import Live, connect_live, start_live, stop_live
from tests.support.stack import Infra, wait_for

POSTS, WINDOW_S = 3, 2.0
BUDGET_ENV = {
    "CRIER_PUBLISHER_BUDGETS": "on",
    "CRIER_PUBLISHER_BUDGET_LIMITS": f"mastodon.account={POSTS}/{WINDOW_S:g}",
    "CRIER_PUBLISHER_BUDGET_SLACK_S": "1",
}


@pytest.fixture(scope="module")
def budget_live(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The stack's `--platform all` publisher and a second one for Mastodon alone."""
    live = start_live(infra, tmp_path_factory.mktemp("budgets"), BUDGET_ENV)
    try:
        second = live.stack.supervisor.add("publisher-mastodon", ["publisher", "--platform", "mastodon"])
        second.start()
        log = live.stack.log_dir / "publisher-mastodon.log"
        wait_for(lambda: log.exists() and "service.ready" in log.read_text(), what="the second publisher")
        yield live
    finally:
        stop_live(live)


def most_within(moments: list[float], window_s: float) -> int:
    """The most moments in any window of `window_s` seconds (a window starts at a moment)."""
    return max(sum(1 for t in moments if start <= t < start + window_s) for start in moments)


def test_a_burst_to_one_account_never_passes_the_budget_and_is_all_published(budget_live: Live) -> None:
    account = connect_live(budget_live, "mastodon")
    since = time.time()
    with account.org.live() as api:
        posts = [create_post(api, content=f"burst {i}", accounts=[account.id]) for i in range(12)]
        done = [wait_post(api, p["id"], timeout=90) for p in posts]
    assert [p["status"] for p in done] == ["published"] * 12
    # Waiting for the budget is no attempt: each target went out on its first.
    assert [t["attempts"] for p in done for t in p["targets"]] == [1] * 12
    made = [
        r["at"]
        for r in budget_live.sim.requests("mastodon", "statuses")
        if r["method"] == "POST" and r["at"] >= since and r["authorization"]
    ]
    assert len(made) == 12
    assert most_within(made, WINDOW_S) <= POSTS
    logs = "".join(p.read_text() for p in budget_live.stack.log_dir.glob("publisher*.log"))
    assert "publisher.budget_wait" in logs
