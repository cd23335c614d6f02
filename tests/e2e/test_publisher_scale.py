"""A platform's publishers scale out: three Mastodon publishers and one Bluesky publisher deliver
3,000 live targets to the platform simulator, with publish budgets on, while one Mastodon replica
is SIGKILLed mid-run. Every target is published exactly once, and each of the three did a real
share of the work (its own `publisher.target_published` lines in its log)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from crier.contracts.common import Platform
from crier.publisher.settings import PublisherSettings
from tests.e2e.conftest import create_post, sql
from tests.support.live import Live, LiveAccount, connect_live, start_live, stop_live
from tests.support.stack import Infra, wait_for

# Posts × accounts: each post goes to every account, so 3,000 targets take only 100 posts.
POSTS = 100
ACCOUNTS: dict[Platform, int] = {"mastodon": 20, "bluesky": 10}
REPLICAS = ["publisher-mastodon-1", "publisher-mastodon-2", "publisher-mastodon-3"]
KILLED = "publisher-mastodon-2"

# The deliveries one replica has under way at once (CRIER_PUBLISHER_CONCURRENCY's default).
KILLED_SLOTS = PublisherSettings.publisher_concurrency


@pytest.fixture(scope="module")
def scaled(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The live stack with its `--platform all` publisher replaced by three for Mastodon and one
    for Bluesky."""
    live = start_live(infra, tmp_path_factory.mktemp("scale"), {"CRIER_PUBLISHER_BUDGETS": "on"})
    try:
        supervisor = live.stack.supervisor
        supervisor.processes.pop("publisher").terminate()
        for name in [*REPLICAS, "publisher-bluesky"]:
            supervisor.add(name, ["publisher", "--platform", name.split("-")[1]]).start()
        for name in [*REPLICAS, "publisher-bluesky"]:
            log = live.stack.log_dir / f"{name}.log"
            wait_for(lambda log=log: log.exists() and "service.ready" in log.read_text(), timeout=60, what=name)
        yield live
    finally:
        stop_live(live)


def published(live: Live) -> int:
    return int(sql(live.stack, "SELECT count(*) AS n FROM publisher.targets WHERE status = 'published'")[0]["n"])


def test_three_replicas_share_3000_targets_and_a_killed_one_loses_nothing(scaled: Live) -> None:
    org = scaled.stack.new_org("scale")
    accounts: list[LiveAccount] = [
        connect_live(scaled, platform, org) for platform, count in ACCOUNTS.items() for _ in range(count)
    ]
    began = time.monotonic()
    with org.live() as api:
        for i in range(POSTS):
            create_post(api, content=f"scale {i}", accounts=[a.id for a in accounts])
    total = POSTS * len(accounts)
    wait_for(lambda: published(scaled) >= total // 2, timeout=120, what="half the targets published")
    scaled.stack.supervisor.processes[KILLED].kill()
    wait_for(lambda: published(scaled) >= total, timeout=180, interval=0.5, what="every target published")
    elapsed = time.monotonic() - began

    rows = sql(scaled.stack, "SELECT status, count(*) AS n FROM publisher.targets GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"published": total}
    for platform, count in ACCOUNTS.items():
        made = Counter((p["author"], p["text"]) for p in scaled.sim.posts(platform))
        # Exactly once: every account got every post, and none twice — the killed replica's
        # unfinished deliveries went to the others and were looked up before being posted again.
        assert len(made) == POSTS * count, platform
        assert set(made.values()) == {1}, [k for k, n in made.items() if n > 1][:5]
    shares = {name: _published_lines(scaled, name) for name in REPLICAS}
    print(f"{total} targets published in {elapsed:.1f} s; Mastodon replicas' shares: {shares}")
    mastodon_targets = POSTS * ACCOUNTS["mastodon"]
    # Every Mastodon target is logged by the replica that published it, except those the killed one
    # had committed when the SIGKILL cut off its log line: at most one per delivery slot it had
    # (published exactly once all the same: the database and the simulator said so above).
    assert sum(shares.values()) >= mastodon_targets - KILLED_SLOTS
    # Each replica did a real share, the killed one before it died.
    assert all(n >= mastodon_targets // 10 for n in shares.values()), shares


def _published_lines(live: Live, name: str) -> int:
    text = (live.stack.log_dir / f"{name}.log").read_text(errors="replace")
    return sum(1 for line in text.splitlines() if "publisher.target_published" in line)
