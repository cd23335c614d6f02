"""The operator console in Chromium: sign in with an admin key, find a dead target among the failed
ones, redrive it through the confirmation page and watch it published, with the post's timeline
telling the story. Every console page is screenshotted to .artifacts/screenshots/, and none may
trip the strict Content-Security-Policy (htmx included)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import off_loop
from tests.browser.console_fixtures import console_live  # noqa: F401 (a fixture)
from tests.e2e.conftest import create_post, wait_post
from tests.support.live import PUBLISH_ENDPOINT, Live, connect_live
from tests.support.stack import wait_for


def test_sign_in_find_a_dead_target_redrive_it_and_see_it_published(
    page: Any,
    shoot: Any,
    console_live: Live,  # noqa: F811
) -> None:
    live = console_live
    account = off_loop(connect_live, live, "mastodon")
    live.sim.fault("mastodon", PUBLISH_ENDPOINT["mastodon"], "server_error", times=5)
    with account.org.live() as api:
        # An endpoint nobody listens on: its deliveries fail, for the webhooks page to show.
        hook = api.post("/webhooks", json={"url": "http://127.0.0.1:9/crier", "events": ["post.published"]})
        assert hook.status_code == 201, hook.text
        post = create_post(api, content="Back online soon", accounts=[account.id])
        dead = wait_post(api, post["id"], timeout=90)
    [target] = dead["targets"]
    assert (dead["status"], target["status"]) == ("failed", "dead")

    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    console = f"{live.stack.api_url}/console"

    page.goto(f"{console}/")
    assert page.url == f"{console}/sign-in"
    shoot(page, "sign-in")
    page.get_by_label("Admin API key").fill(account.org.live_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console}/posts")
    assert post["id"] in page.content()
    shoot(page, "posts")

    page.get_by_role("link", name="Failed targets").click()
    page.wait_for_url(f"{console}/failed")
    row = page.locator("tr", has_text=post["id"])
    assert "dead" in row.inner_text() and "mastodon" in row.inner_text()
    shoot(page, "failed-targets")
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Redrive selected…").click()
    page.get_by_role("heading", name="Redrive 1 target?").wait_for()
    shoot(page, "redrive-confirmation")
    page.get_by_role("button", name="Redrive 1 target").click()
    page.get_by_role("heading", name="Redriven").wait_for()
    shoot(page, "redriven")

    page.get_by_role("link", name=f"post {post['id']}").click()
    page.wait_for_url(f"{console}/posts/{post['id']}")

    def published() -> bool:
        page.reload()
        return page.locator("table").first.locator("tbody tr").first.inner_text().count("published") > 0

    wait_for(published, timeout=60, interval=0.5, what="the redriven target published, as the console shows it")
    timeline = page.locator("table").nth(1).inner_text()
    assert "target.dead_lettered" in timeline and "targets.redriven" in timeline and "target.published" in timeline
    shoot(page, "post-timeline")
    assert len(live.sim.posts("mastodon", author=account.user["id"])) == 1

    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(f"{console}/webhooks")
    endpoint = page.get_by_role("link", name="http://127.0.0.1:9/crier")
    endpoint.wait_for()
    shoot(page, "webhooks")
    endpoint.click()
    page.get_by_role("heading", name="Delivery log").wait_for()

    def delivery_listed() -> bool:
        page.reload()
        return page.get_by_role("button", name="Resend").count() > 0

    # The post.published delivery exists once the webhooks service has taken the event in.
    wait_for(delivery_listed, timeout=30, interval=0.5, what="the post.published delivery in the log")
    assert "post.published" in page.locator("table").inner_text()
    shoot(page, "webhook-deliveries")
    page.get_by_role("button", name="Resend").first.click()
    page.get_by_text("is queued to be sent again").wait_for()
    assert "(resend)" in page.locator("table").inner_text()
    shoot(page, "webhook-resent")

    page.get_by_role("link", name="Accounts").click()
    page.wait_for_url(f"{console}/accounts")
    page.get_by_role("link", name=f"mastodon @{account.user['username']}").click()
    page.get_by_role("link", name="Check now").click()
    page.get_by_text("Healthy").wait_for()
    shoot(page, "account")
    page.get_by_role("button", name="Make a reconnect link").click()
    link = page.get_by_label("Connect link").input_value()
    assert link.startswith(f"{live.stack.api_url}/"), link
    shoot(page, "reconnect-link")

    page.get_by_role("link", name="Live").click()
    page.wait_for_url(f"{console}/live")
    page.get_by_role("heading", name="Waiting for a publisher").wait_for()
    # The organization's one target is published: nothing of its own waits, whatever other
    # organizations on this installation have queued.
    assert "Nothing waiting." in page.locator("#live-panel").inner_text()
    page.get_by_role("heading", name="The installation's queues").wait_for()
    shoot(page, "live")
    assert blocked == []
