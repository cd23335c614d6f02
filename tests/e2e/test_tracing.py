"""One trace follows a post from the HTTP request through the scheduler to the publisher."""

from __future__ import annotations

import json
import secrets

from tests.e2e.conftest import create_post, in_seconds, sandbox_accounts, wait_post
from tests.support.stack import Stack, wait_for


def _log_records(stack: Stack) -> list[dict]:
    records = []
    for path in stack.log_dir.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
    return records


def test_callers_trace_reaches_every_service(shared_stack: Stack) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    org = shared_stack.new_org()
    with org.test() as client:
        [account] = sandbox_accounts(client, ["linkedin"])
        # Scheduled, so the trace must survive a stay in the scheduler's timetable too.
        post = create_post(
            client,
            headers={"traceparent": traceparent},
            content="traced",
            accounts=[account["id"]],
            scheduled_at=in_seconds(1),
        )
        assert wait_post(client, post["id"])["status"] == "published"
    target_id = post["targets"][0]["id"]

    def traced_lines() -> dict[str, dict] | None:
        by_event = {r["event"]: r for r in _log_records(shared_stack) if r.get("trace_id") == trace_id}
        wanted = {"http.request", "scheduler.targets_added", "publisher.target_published"}
        return by_event if wanted <= set(by_event) else None

    lines = wait_for(traced_lines, what="log lines of every service carrying the caller's trace id")
    assert lines["http.request"]["service"] == "gateway"
    assert lines["scheduler.targets_added"]["service"] == "scheduler"
    assert lines["scheduler.targets_added"]["post_id"] == post["id"]
    assert lines["publisher.target_published"]["service"] == "publisher"
    assert lines["publisher.target_published"]["target_id"] == target_id
