"""The pure timetable rules: what a created post puts on the timetable and how long to sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from crier.contracts.commands import PUBLISH_LANES, command_subject, lane_of
from crier.contracts.common import Container
from crier.contracts.events import PostCreated, TargetSpec
from crier.scheduler.domain.timetable import earliest, entries_for, queued, sleep_seconds

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


def _post(**kw: object) -> PostCreated:
    base: dict = {
        "id": "evt_1",
        "occurred_at": NOW,
        "org_id": "org_1",
        "mode": "live",
        "post_id": "post_1",
        "containers": [Container(content="root"), Container(content="first comment")],
        "targets": [
            TargetSpec(target_id="t_x", account_id="acc_x", platform="x", account_username="alice"),
            TargetSpec(target_id="t_li", account_id="acc_li", platform="linkedin", override_body="for LinkedIn"),
        ],
        "config": {"x": {"reply_settings": "following"}, "youtube": {"title": "unused"}},
    }
    return PostCreated(**{**base, **kw})


def test_one_entry_per_target_carrying_its_command() -> None:
    entries = entries_for(_post(scheduled_at=NOW + timedelta(hours=1)))
    assert [e.target_id for e in entries] == ["t_x", "t_li"]
    x, li = entries
    assert x.scheduled_at == NOW + timedelta(hours=1) and x.platform == "x" and x.mode == "live"
    assert x.command.id == "t_x" and x.command.target_id == "t_x" and x.command.account_username == "alice"
    assert x.command.config == {"reply_settings": "following"}
    assert [c.content for c in x.command.containers] == ["root", "first comment"]
    assert li.command.config == {}


def test_override_body_replaces_only_the_root_content() -> None:
    li = entries_for(_post())[1]
    assert [c.content for c in li.command.containers] == ["for LinkedIn", "first comment"]


def test_immediate_post_is_due_now_and_drafts_wait() -> None:
    assert all(e.scheduled_at is None for e in entries_for(_post()))
    assert entries_for(_post(is_draft=True)) == []


def test_naive_time_is_read_as_utc() -> None:
    entry = entries_for(_post(scheduled_at=datetime(2026, 6, 10, 16, 0)))[0]
    assert entry.scheduled_at == datetime(2026, 6, 10, 16, 0, tzinfo=UTC)


def test_queued_event_names_the_fired_command() -> None:
    command = entries_for(_post())[1].command
    event = queued(command, event_id="evt_q", at=NOW)
    assert (event.id, event.occurred_at, event.org_id, event.mode) == ("evt_q", NOW, "org_1", "live")
    assert (event.post_id, event.target_id, event.platform) == ("post_1", "t_li", "linkedin")


def test_earliest_is_none_when_anything_is_due_now() -> None:
    later = entries_for(_post(scheduled_at=NOW + timedelta(minutes=5)))
    assert earliest(later) == NOW + timedelta(minutes=5)
    assert earliest(entries_for(_post())) is None


def test_sleep_until_next_due_capped_and_never_negative() -> None:
    assert sleep_seconds(NOW + timedelta(milliseconds=250), NOW, 5.0) == 0.25
    assert sleep_seconds(NOW + timedelta(hours=2), NOW, 5.0) == 5.0
    assert sleep_seconds(NOW - timedelta(seconds=3), NOW, 5.0) == 0.0
    assert sleep_seconds(None, NOW, 5.0) == 5.0


def test_a_scheduled_command_carries_its_moment_and_takes_the_due_lane() -> None:
    lane = lane_of("org_1")
    [x, _] = [e.command for e in entries_for(_post(scheduled_at=NOW + timedelta(hours=1)))]
    assert x.due_at == NOW + timedelta(hours=1)
    assert command_subject(x) == f"cmd.publish.x.due.{lane}"
    # A redrive is a retry someone asked for, not a moment anyone set: the immediate lane.
    assert command_subject(msgspec.structs.replace(x, redrive=1)) == f"cmd.publish.x.now.{lane}"
    [now, _] = [e.command for e in entries_for(_post())]
    assert now.due_at is None and command_subject(now) == f"cmd.publish.x.now.{lane}"


def test_an_organisation_keeps_its_lane_across_processes() -> None:
    # crc32 of the id, fixed by the contract: every scheduler replica must send an org to one lane.
    assert lane_of("org_1") == 0x3D13E392 % PUBLISH_LANES
    assert {lane_of(f"org_{n}") for n in range(200)} == set(range(PUBLISH_LANES))
