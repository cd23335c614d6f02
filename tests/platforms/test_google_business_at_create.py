"""POST /posts refuses what Google Business Profile would refuse, before anything is stored: a first
comment or a thread, and `config.google_business` that is unknown, ill-typed or in a combination
Google does not take, all named in one 422 under the account (live and sandbox accounts alike)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, Org, gateway, org  # noqa: F401
from tests.support.stack import infra  # noqa: F401

EVENT = {"title": "Grand opening", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-16"}}


def _problems(client: httpx.Client, account: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    r = client.post("/posts", json={**body, "accounts": [account]})
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert list(details["accounts"]) == [account] and client.get("/posts").json()["data"] == []
    return [(p["field"], p["code"]) for p in details["accounts"][account]]


@pytest.mark.parametrize("mode", ["live", "test"])
def test_what_google_would_refuse_is_a_422_naming_the_account(gateway: Gateway, org: Org, mode: str) -> None:  # noqa: F811
    if mode == "live":
        account, client = gateway.live_account(org, platform="google_business"), org.live()
    else:
        account, client = gateway.sandbox_account(org, "google_business")["id"], org.test()
    with client as c:
        assert _problems(c, account, {"containers": [{"content": "post"}, {"content": "comment"}]}) == [
            ("containers[1]", "first_comment_unsupported")
        ]
        assert _problems(c, account, {"content": "x" * 1501}) == [("containers[0].content", "too_long")]
        assert _problems(c, account, {"content": "hi", "config": {"google_business": {"topic": "EVENT"}}}) == [
            ("config.google_business", "invalid_config")
        ]
        config = {"topic_type": "OFFER", "call_to_action": {"action_type": "CALL", "url": "tel:123"}}
        assert _problems(c, account, {"content": "hi", "config": {"google_business": config}}) == [
            ("config.google_business.event", "invalid_config"),
            ("config.google_business.call_to_action", "invalid_config"),
        ]
        event = {
            "topic_type": "EVENT",
            "event": EVENT,
            "call_to_action": {"action_type": "BOOK", "url": "https://e.com"},
        }
        r = c.post("/posts", json={"content": "Come by", "accounts": [account], "config": {"google_business": event}})
        assert r.status_code == 201, r.text
