"""Media, the same for every platform: uploaded through the public API, checked against the
platform's rules at create, delivered the way the platform's API takes it (uploads or pulls of the
signed URL, read back from the simulator byte for byte), and a platform's slow processing waited out
across a publisher SIGKILL without a second upload. What differs per platform is in
`tests.support.media_live.CASES`."""

from __future__ import annotations

from typing import Any

import pytest

from crier.contracts.common import PLATFORMS, Platform
from crier.platforms import publishing
from tests.e2e.conftest import create_post, sql, wait_post
from tests.support.live import Live, connect_live
from tests.support.media_files import noisy_jpeg
from tests.support.media_live import CASES, media_post, upload
from tests.support.simulator import Simulator
from tests.support.stack import wait_for

each_platform = pytest.mark.parametrize("platform", PLATFORMS)


def _received(sim: Simulator, platform: Platform, sha256: str, before: set[str]) -> list[dict[str, Any]]:
    """What the platform received (uploaded or pulled) with these exact bytes, since it held the
    media ids in `before` (the tests of a module share one simulator)."""
    return [m for m in sim.media(platform) if m["sha256"] == sha256 and m["id"] not in before]


def _ids(sim: Simulator, platform: Platform) -> set[str]:
    return {m["id"] for m in sim.media(platform)}


def test_every_platform_has_a_media_case() -> None:
    assert set(CASES) == set(PLATFORMS)
    assert all(publishing.publishes(p) for p in PLATFORMS)


@each_platform
def test_a_post_with_media_lands_with_the_exact_bytes(live: Live, sim: Simulator, platform: Platform) -> None:
    account = connect_live(live, platform)
    before = _ids(sim, platform)
    with account.org.live() as api:
        created, media = media_post(api, account, CASES[platform].files)
        assert created.status_code == 201, created.text
        done = wait_post(api, created.json()["id"], timeout=60)
    [target] = done["targets"]
    assert (done["status"], target["status"], target["attempts"]) == ("published", "published", 1), target
    assert target["platform_post_id"] in {p["id"] for p in sim.posts(platform)}
    for item in media:
        # Each file reached the platform once, as the bytes Crier inspected at upload.
        assert len(_received(sim, platform, item["sha256"], before)) == 1, (item, sim.media(platform))


def test_an_image_crier_reencodes_to_fit_says_so_on_the_target(live: Live, sim: Simulator) -> None:
    account = connect_live(live, "bluesky")
    before = _ids(sim, "bluesky")
    with account.org.live() as api:
        big = upload(api, noisy_jpeg(1800, 1200), alt_text="noise")
        assert big["bytes"] > 2_000_000
        post = create_post(api, containers=[{"content": "big", "media": [{"id": big["id"]}]}], accounts=[account.id])
        done = wait_post(api, post["id"], timeout=60)
    [target] = done["targets"]
    assert target["status"] == "published", target
    [note] = target["notes"]
    assert big["id"] in note and "re-encoded" in note
    # What the PDS holds is the smaller JPEG, not the original.
    [blob] = [m for m in sim.media("bluesky") if m["id"] not in before]
    assert blob["bytes"] <= 2_000_000 and blob["mime"] == "image/jpeg" and blob["sha256"] != big["sha256"]


@each_platform
def test_what_the_platform_refuses_is_a_422_at_create(live: Live, platform: Platform) -> None:
    account = connect_live(live, platform)
    files, code = CASES[platform].refused
    with account.org.live() as api:
        refused, _ = media_post(api, account, files)
        assert refused.status_code == 422, refused.text
        problems = refused.json()["error"]["details"]["accounts"][account.id]
        assert code in {p["code"] for p in problems}, problems
        if publishing.rules(platform).media.required:
            bare, _ = media_post(api, account, ())
            assert bare.status_code == 422, bare.text
            problems = bare.json()["error"]["details"]["accounts"][account.id]
            assert "media_required" in {p["code"] for p in problems}, problems


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if CASES[p].processes])
def test_slow_processing_survives_a_publisher_kill_without_a_second_upload(
    live: Live, sim: Simulator, platform: Platform
) -> None:
    account = connect_live(live, platform)
    sim.configure(platform, processing_s=600)
    before = _ids(sim, platform)
    try:
        with account.org.live() as api:
            created, media = media_post(api, account, CASES[platform].slow)
            assert created.status_code == 201, created.text
            shas = {m["sha256"] for m in media}
            [target_id] = [t["id"] for t in created.json()["targets"]]
            # Killed while the delivery waits on the platform's processing (its uploads recorded):
            # an upload the publisher dies before recording is one no platform can tell it about.
            wait_for(
                lambda: sql(
                    live.stack,
                    "SELECT 1 FROM publisher.targets WHERE target_id = $1 AND processing_since IS NOT NULL",
                    target_id,
                ),
                timeout=30,
                what=f"the delivery waiting on {platform}'s processing",
            )
            assert shas <= {m["sha256"] for m in sim.media(platform) if m["status"] == "processing"}
            publisher = live.stack.supervisor.processes["publisher"]
            publisher.kill()
            seen = len(sim.requests(platform))
            publisher.start()
            # The new publisher looks at the platform while the media is still processing ...
            wait_for(lambda: len(sim.requests(platform)) > seen, timeout=30, what="the restarted publisher's look")
            assert api.get(f"/posts/{created.json()['id']}").json()["status"] == "publishing"
            # ... and publishes once the platform is done.
            sim.advance_clock(600)
            done = wait_post(api, created.json()["id"], timeout=60)
    finally:
        sim.reset_clock()
    [target] = done["targets"]
    assert (done["status"], target["attempts"]) == ("published", 1), (target["error_code"], target["error_message"])
    for sha in shas:
        assert len(_received(sim, platform, sha, before)) == 1, sim.media(platform)
