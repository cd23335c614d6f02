"""Posting slots over HTTP: the declarative slot set, find-slot, queue mode on create (a slot
reserved inside the create, never shared by concurrent creates, freed by a cancel), and posting
to an end user by platform."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from crier.contracts import events as contract
from crier.gateway.domain.slots import Slot, candidates
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def next_local(zone: str, minute_of_day: int, after: datetime) -> datetime:
    """The first instant after `after` at which the wall clock in `zone` reads `minute_of_day`."""
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date()
    while True:
        local = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=tz)
        if local.astimezone(UTC) > after:
            return local.astimezone(UTC)
        day += timedelta(days=1)


def minute_in(zone: str, hours_ahead: float) -> int:
    """A minute of the day in `zone` that is `hours_ahead` from now: far from the clock's edge."""
    local = (datetime.now(UTC) + timedelta(hours=hours_ahead)).astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


def put_slots(c: httpx.Client, slots: list[dict[str, Any]]) -> httpx.Response:
    return c.put("/scheduling/slots", json={"slots": slots})


def problems(r: httpx.Response) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in r.json()["error"]["details"]["fields"]]


def test_slots_are_replaced_as_a_whole_and_validated(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        assert c.get("/scheduling/slots").json() == {"slots": []}
        wanted = [
            {"weekday": 1, "minute_of_day": 540},
            {"weekday": None, "minute_of_day": 1020},
            {"weekday": 3, "minute_of_day": 540, "social_account_id": x},
        ]
        r = put_slots(c, wanted)
        assert r.status_code == 200, r.text
        stored = [
            {"weekday": None, "minute_of_day": 1020, "social_account_id": None},
            {"weekday": 1, "minute_of_day": 540, "social_account_id": None},
            {"weekday": 3, "minute_of_day": 540, "social_account_id": x},
        ]
        assert r.json() == {"slots": stored} and c.get("/scheduling/slots").json() == {"slots": stored}
        for bad, expected in (
            ([{"weekday": 7, "minute_of_day": 0}], ("slots[0].weekday", "out_of_range")),
            ([{"weekday": -1, "minute_of_day": 0}], ("slots[0].weekday", "out_of_range")),
            ([{"minute_of_day": 1440}], ("slots[0].minute_of_day", "out_of_range")),
            ([{"minute_of_day": 5}, {"weekday": None, "minute_of_day": 5}], ("slots[1]", "duplicate")),
        ):
            r = put_slots(c, bad)
            assert r.status_code == 422 and problems(r) == [expected], r.text
        r = put_slots(c, [{"minute_of_day": 5, "social_account_id": "nope"}])
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"
        assert r.json()["error"]["details"]["accounts"] == ["nope"]
        assert c.put("/scheduling/slots", json={"slots": [{"minute_of_day": 5, "hour": 1}]}).status_code in (400, 422)
        # A refused set changes nothing; the empty set clears it.
        assert c.get("/scheduling/slots").json() == {"slots": stored}
        assert put_slots(c, []).json() == {"slots": []}
    with sandbox.live() as c:
        # Slots belong to one mode: the live side has its own (empty) set.
        assert c.get("/scheduling/slots").json() == {"slots": []}


def test_slots_need_manage_to_change_and_view_to_read(gateway: Gateway, org: Org) -> None:
    from crier.gateway.entrypoints import admin

    viewer = admin.create_api_key(gateway.database_url, org=org.id, name="v", mode="test", scopes=["view"])["key"]
    with gateway.client(viewer) as c:
        assert c.get("/scheduling/slots").status_code == 200
        r = put_slots(c, [])
        assert r.status_code == 403 and r.json()["error"]["details"]["required_scope"] == "manage"
        assert c.post("/scheduling/find-slot", json={}).status_code == 422  # allowed, but no slots yet
    publisher = admin.create_api_key(gateway.database_url, org=org.id, name="p", mode="test", scopes=["publish"])
    with gateway.client(publisher["key"]) as c:
        assert c.get("/scheduling/slots").status_code == 403


def test_find_slot_walks_the_slots_in_the_zone_and_skips_taken_instants(gateway: Gateway, sandbox: Org) -> None:
    zone, x, linkedin = "America/Los_Angeles", sandbox.accounts["x"], sandbox.accounts["linkedin"]
    minute = minute_in(zone, 3)
    with sandbox.test() as c:
        assert put_slots(c, [{"minute_of_day": minute}]).status_code == 200
        r = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [x], "min_lead_minutes": 30})
        assert r.status_code == 200, r.text
        first = next_local(zone, minute, datetime.now(UTC))
        assert r.json() == {
            "scheduled_at": first.isoformat().replace("+00:00", "Z"),
            "timezone": zone,
            "slot": {"weekday": None, "minute_of_day": minute, "social_account_id": None},
        }
        # A post scheduled by hand at that instant to x takes it for x, not for linkedin.
        made = c.post("/posts", json={"content": "by hand", "accounts": [x], "scheduled_at": r.json()["scheduled_at"]})
        assert made.status_code == 201, made.text
        again = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [x]}).json()
        assert instant(again["scheduled_at"]) == first + timedelta(days=1)
        other = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [linkedin]}).json()
        assert instant(other["scheduled_at"]) == first
        # `from` and the lead move the start; four hours of lead is past today's slot.
        later = c.post(
            "/scheduling/find-slot", json={"timezone": zone, "accounts": [linkedin], "min_lead_minutes": 240}
        )
        assert instant(later.json()["scheduled_at"]) == first + timedelta(days=1)
        start = (first + timedelta(days=2)).isoformat()
        assert instant(
            c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [linkedin], "from": start}).json()[
                "scheduled_at"
            ]
        ) == first + timedelta(days=2)
        # An account's own slot is offered for it alone.
        own = minute_in(zone, 1)
        put_slots(c, [{"minute_of_day": minute}, {"minute_of_day": own, "social_account_id": linkedin}])
        mine = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [linkedin]}).json()
        assert mine["slot"] == {"weekday": None, "minute_of_day": own, "social_account_id": linkedin}
        theirs = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [x]}).json()
        assert theirs["slot"]["social_account_id"] is None


def test_find_slot_refusals(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        r = c.post("/scheduling/find-slot", json={"timezone": "UTC"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_posting_slots"
        put_slots(c, [{"weekday": 2, "minute_of_day": 600}])
        r = c.post("/scheduling/find-slot", json={"timezone": "Mars/Olympus_Mons"})
        assert r.status_code == 422 and problems(r) == [("timezone", "unknown_timezone")]
        r = c.post("/scheduling/find-slot", json={"timezone": "UTC", "from": "2026-06-10T15:00:00"})
        assert r.status_code == 422 and problems(r) == [("from", "missing_offset")]
        r = c.post("/scheduling/find-slot", json={"min_lead_minutes": -5})
        assert r.status_code == 422 and problems(r) == [("min_lead_minutes", "out_of_range")]
        r = c.post("/scheduling/find-slot", json={"accounts": ["nope"]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"
        # Beyond 30 days nothing is offered; the calendar's edges are refused, not failed on.
        far = (datetime.now(UTC) + timedelta(days=31)).isoformat()
        r = c.post("/scheduling/find-slot", json={"accounts": [x], "from": far})
        assert r.status_code == 422 and problems(r) == [("from", "too_far_ahead")]
        for edge in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+01:00"):
            r = c.post("/scheduling/find-slot", json={"from": edge})
            assert r.status_code == 422 and problems(r)[0][0] == "from", r.text
        # Every Tuesday 10:00 of the window taken by posts scheduled by hand: none is free.
        for found in range(6):
            r = c.post("/scheduling/find-slot", json={"accounts": [x]})
            if r.status_code == 422:
                break
            at = r.json()["scheduled_at"]
            assert (
                c.post("/posts", json={"content": f"t{found}", "accounts": [x], "scheduled_at": at}).status_code == 201
            )
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_free_slot" and found >= 4


def test_queue_mode_takes_the_next_free_slot_and_a_cancel_frees_it(gateway: Gateway, sandbox: Org) -> None:
    zone, x = "Europe/Berlin", sandbox.accounts["x"]
    minute = minute_in(zone, 2)
    first = next_local(zone, minute, datetime.now(UTC))
    body = {"content": "queued", "accounts": [x], "queued_from_account": x, "queue_timezone": zone}
    with sandbox.test() as c:
        put_slots(c, [{"minute_of_day": minute}])
        one = c.post("/posts", json=body)
        assert one.status_code == 201, one.text
        post = one.json()
        assert post["status"] == "scheduled" and instant(post["scheduled_at"]) == first
        assert post["slot"] == {"social_account_id": None, "weekday": None, "minute_of_day": minute, "timezone": zone}
        assert c.get(f"/posts/{post['id']}").json() == post
        assert [p.get("slot") for p in c.get("/posts").json()["data"]] == [post["slot"]]
        # The same account by username, and the other spelling of the zone's field.
        username = c.get(f"/social-accounts/{x}").json()["username"]
        two = c.post("/posts", json={**body, "queued_from_account": username, "queue_timezone": None, "timezone": zone})
        assert two.status_code == 201, two.text
        assert instant(two.json()["scheduled_at"]) == first + timedelta(days=1)
        assert c.delete(f"/posts/{post['id']}").status_code == 200
        three = c.post("/posts", json=body).json()
        assert instant(three["scheduled_at"]) == first
        # Find-slot sees what queue mode took.
        found = c.post("/scheduling/find-slot", json={"timezone": zone, "accounts": [x]}).json()
        assert instant(found["scheduled_at"]) == first + timedelta(days=2)


def test_queue_mode_refusals(gateway: Gateway, sandbox: Org) -> None:
    x, linkedin = sandbox.accounts["x"], sandbox.accounts["linkedin"]
    body = {"content": "queued", "accounts": [x], "queued_from_account": x}
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with sandbox.test() as c:
        r = c.post("/posts", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_posting_slots"
        put_slots(c, [{"minute_of_day": 0}])
        for extra, expected in (
            ({"scheduled_at": soon}, [("queued_from_account", "conflicts_with_scheduled_at")]),
            ({"is_draft": True}, [("queued_from_account", "conflicts_with_is_draft")]),
            ({"queue_timezone": "Mars/Base"}, [("queue_timezone", "unknown_timezone")]),
            ({"queue_timezone": "UTC", "timezone": "Europe/Paris"}, [("queue_timezone", "conflicting_timezones")]),
            ({"queued_from_account": linkedin}, [("queued_from_account", "not_in_accounts")]),
        ):
            r = c.post("/posts", json={**body, **extra})
            assert r.status_code == 422 and problems(r) == expected, r.text
        r = c.post("/posts", json={"content": "now", "accounts": [x], "timezone": "UTC"})
        assert r.status_code == 422 and problems(r) == [("queue_timezone", "queue_mode_only")]
        assert c.get("/posts").json()["data"] == []


async def test_fifty_concurrent_queued_creates_take_fifty_distinct_slots(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    minutes = [m * 144 + 7 for m in range(10)]  # ten slots a day, 2 h 24 min apart
    with sandbox.test() as c:
        assert put_slots(c, [{"minute_of_day": m} for m in minutes]).status_code == 200
    headers = {"Authorization": f"Bearer {sandbox.test_key}"}
    body = {"accounts": [x], "queued_from_account": x, "queue_timezone": "UTC"}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=f"{gateway.api_url}/api/v1", timeout=60, limits=limits) as c:
        before = datetime.now(UTC)
        responses = await asyncio.gather(
            *(c.post("/posts", json={**body, "content": f"drip {i}"}, headers=headers) for i in range(50))
        )
        after = datetime.now(UTC)
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    taken = sorted(instant(r.json()["scheduled_at"]) for r in responses)
    assert len(set(taken)) == 50
    # And no slot was skipped: they are the first fifty slot instants from when the creates began
    # (give or take one that the clock passed while they ran).
    slots = [Slot(m) for m in minutes]
    offered = [p.at for p in candidates(slots, ZoneInfo("UTC"), before, before + timedelta(days=30))]
    late = [p.at for p in candidates(slots, ZoneInfo("UTC"), after, after + timedelta(days=30))]
    assert taken in (offered[:50], late[:50])


def test_posting_to_an_end_user_by_platform(gateway: Gateway, org: Org) -> None:
    x = gateway.sandbox_account(org, "x", tenant_id="user_42")["id"]
    li = gateway.sandbox_account(org, "linkedin", tenant_id="user_42")["id"]
    gateway.sandbox_account(org, "linkedin", tenant_id="user_7")
    with org.test() as c:
        r = c.post("/posts", json={"content": "hi", "tenant_id": "user_42", "platforms": ["linkedin", "twitter"]})
        assert r.status_code == 201, r.text
        assert r.json()["accounts"] == [li, x] and [t["platform"] for t in r.json()["targets"]] == ["linkedin", "x"]
        r = c.post("/posts", json={"content": "hi", "tenant_id": "user_42", "platforms": ["x", "mastodon", "bluesky"]})
        assert r.status_code == 422 and problems(r) == [("platforms", "no_account_on_platform")]
        assert "mastodon, bluesky" in r.json()["error"]["message"]
        r = c.post("/posts", json={"content": "hi", "tenant_id": "user_42", "platforms": ["x"], "accounts": [x]})
        assert r.status_code == 422 and problems(r) == [("platforms", "accounts_or_platforms")]
        r = c.post("/posts", json={"content": "hi", "platforms": ["x"]})
        assert r.status_code == 422 and problems(r) == [("tenant_id", "required")]
        r = c.post("/posts", json={"content": "hi", "tenant_id": "user_42", "platforms": ["myspace"]})
        assert r.status_code == 422 and problems(r) == [("platforms[0]", "unknown_platform")]
        # An account whose grant expired is not one to post to.
        now = datetime.now(UTC)
        gateway.driver.publish(
            contract.AccountTokenExpired(
                id=str(uuid.uuid4()),
                occurred_at=now,
                org_id=org.id,
                mode="test",
                account_id=x,
                platform="x",
                tenant_id="user_42",
                updated_at=now,
            )
        )
        wait_for(lambda: c.get(f"/social-accounts/{x}").json()["status"] != "active", what="x's grant expired")
        r = c.post("/posts", json={"content": "hi", "tenant_id": "user_42", "platforms": ["x"]})
        assert r.status_code == 422 and problems(r) == [("platforms", "no_account_on_platform")]
        # With queue mode, the end user's account is named by its username.
        username = c.get(f"/social-accounts/{li}").json()["username"]
        put_slots(c, [{"minute_of_day": 0}])
        r = c.post(
            "/posts",
            json={"content": "q", "tenant_id": "user_42", "platforms": ["linkedin"], "queued_from_account": username},
        )
        assert r.status_code == 201 and r.json()["slot"]["minute_of_day"] == 0, r.text


def test_the_api_description_names_the_fields_as_sent(gateway: Gateway) -> None:
    with gateway.client() as c:
        spec = c.get("/openapi.json").json()
    ops = {op["operationId"]: op for path in spec["paths"].values() for op in path.values() if "operationId" in op}
    assert {"replacePostingSlots", "listPostingSlots", "findPostingSlot"} <= set(ops)
    schemas = spec["components"]["schemas"]
    assert {"timezone", "accounts", "from", "min_lead_minutes"} == set(schemas["FindSlot"]["properties"])
    create = schemas["PostCreate"]["properties"]
    assert {"tenant_id", "platforms", "queued_from_account", "queue_timezone", "timezone"} <= set(create)
