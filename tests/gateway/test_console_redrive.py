"""Failed and dead targets in the console: a post's timeline shows each failure, and a redrive —
of one, a selection or a filter — changes nothing until its confirmation is submitted."""

from __future__ import annotations

import re
from typing import Any

from tests.gateway.conftest import Gateway, Org
from tests.gateway.test_api_retry import current, dead, failed, post_with_targets, wait_status
from tests.gateway.test_console import signed_in


def failed_post(gateway: Gateway, org: Org) -> dict[str, Any]:
    """A post whose x target is dead and whose linkedin target failed."""
    post = post_with_targets(org)
    dead(gateway, org, post, 0)
    failed(gateway, org, post, 1)
    wait_status(org, post["id"], "failed")
    return post


def statuses(org: Org, post_id: str) -> list[str]:
    return [t["status"] for t in current(org, post_id)["targets"]]


def test_the_timeline_shows_each_failure_with_its_error(gateway: Gateway, sandbox: Org) -> None:
    post = failed_post(gateway, sandbox)
    with signed_in(gateway, sandbox.test_key) as console:
        page = console.get(f"/posts/{post['id']}").text
    assert "post.created" in page and "target.dead_lettered" in page and "target.failed" in page
    assert "platform_unavailable: 503" in page and "content_rejected: no" in page


def test_a_selected_target_is_redriven_only_once_confirmed(gateway: Gateway, sandbox: Org) -> None:
    post = failed_post(gateway, sandbox)
    x_target = post["targets"][0]["id"]
    with signed_in(gateway, sandbox.test_key) as console:
        listing = console.get("/failed", status="failed").text
        assert f'value="{post["id"]}/{x_target}"' in listing
        confirm = console.submit("/redrive/confirm", [("target", f"{post['id']}/{x_target}")])
        assert confirm.status_code == 200 and "Redrive 1 target?" in confirm.text
        assert statuses(sandbox, post["id"]) == ["dead", "failed"]
        # The confirmation without its token does nothing.
        refused = console.submit("/redrive", [("target", f"{post['id']}/{x_target}")], csrf=False)
        assert refused.status_code == 403 and statuses(sandbox, post["id"]) == ["dead", "failed"]
        done = console.submit("/redrive", [("target", f"{post['id']}/{x_target}")])
        assert done.status_code == 200 and "now <span" in done.text
    assert statuses(sandbox, post["id"]) == ["queued", "failed"]


def test_a_redrive_by_filter_confirms_exactly_what_it_found(gateway: Gateway, sandbox: Org) -> None:
    post = failed_post(gateway, sandbox)
    linkedin_target = post["targets"][1]["id"]
    with signed_in(gateway, sandbox.test_key) as console:
        confirm = console.submit(
            "/redrive/confirm", [("scope", "filter"), ("status", "failed"), ("platform", "linkedin")]
        )
        assert confirm.status_code == 200
        chosen = set(console_targets(confirm.text))
        assert f"{post['id']}/{linkedin_target}" in chosen
        assert not any(t.endswith(post["targets"][0]["id"]) for t in chosen)
        assert statuses(sandbox, post["id"]) == ["dead", "failed"]
        done = console.submit("/redrive", [("target", t) for t in sorted(chosen)])
        assert done.status_code == 200
    assert statuses(sandbox, post["id"]) == ["dead", "queued"]


def test_another_organizations_target_cannot_be_redriven(gateway: Gateway, sandbox: Org) -> None:
    post = failed_post(gateway, sandbox)
    pair = f"{post['id']}/{post['targets'][0]['id']}"
    intruder = gateway.new_org("intruder")
    with signed_in(gateway, intruder.test_key) as console:
        confirm = console.submit("/redrive/confirm", [("target", pair)])
        assert "Redrive 0 targets?" in confirm.text and post["id"] not in confirm.text
        done = console.submit("/redrive", [("target", pair)])
        assert done.status_code == 200 and "Not redriven" in done.text
    assert statuses(sandbox, post["id"]) == ["dead", "failed"]


def console_targets(html: str) -> list[str]:
    """The `post/target` values a confirmation page will submit."""
    return re.findall(r'type="hidden" name="target" value="([^"]+)"', html)
