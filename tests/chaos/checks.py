"""What the run must find afterwards, read from the outside: the API, the platforms' own record (the
simulator) and the webhook endpoint. Each check is a `Finding`; stragglers are named in `details`."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.load import Accepted
from tests.chaos.receiver import Delivery
from tests.support.simulator import Simulator

FINAL = {"published", "partial", "failed", "canceled"}
SHOWN = 8  # stragglers named per check


@dataclass
class Finding:
    check: str
    expected: str
    found: str
    ok: bool
    details: list[str] = field(default_factory=list)


def settle(api_url: str, accepted: list[Accepted], timeout: float) -> dict[str, dict[str, Any]]:
    """Every accepted post as the API shows it, polled until each is final or the deadline passes."""
    latest: dict[str, dict[str, Any]] = {}
    pending = {a.post_id: a for a in accepted}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        while pending and time.monotonic() < deadline:
            for post_id, post in list(pending.items()):
                try:
                    answer = http.get(f"/posts/{post_id}", headers={"Authorization": f"Bearer {post.org.key}"})
                except httpx.TransportError:
                    continue
                if answer.status_code == 200:
                    latest[post_id] = answer.json()
                    if latest[post_id]["status"] in FINAL:
                        del pending[post_id]
            if pending:
                time.sleep(0.5)  # between polling passes
    return latest


def all_published(accepted: list[Accepted], posts: dict[str, dict[str, Any]]) -> Finding:
    late = [a.post_id for a in accepted if posts.get(a.post_id, {}).get("status") not in FINAL]
    unpublished = [
        a.post_id
        for a in accepted
        if a.post_id not in late
        and (
            posts[a.post_id]["status"] != "published"
            or any(t["status"] != "published" for t in posts[a.post_id]["targets"])
        )
    ]
    details = [_post_line(p, posts.get(p)) for p in (late + unpublished)[:SHOWN]]
    published = len(accepted) - len(late) - len(unpublished)
    found = f"{published} published, {len(late)} not final, {len(unpublished)} not published"
    return Finding(
        "every accepted post final", f"{len(accepted)} published", found, not late and not unpublished, details
    )


def published_once(accepted: list[Accepted], posts: dict[str, dict[str, Any]], sim: Simulator, run_id: str) -> Finding:
    """Each target on its platform exactly once, by the marker in its text, and no post of the run,
    accepted or not, twice on any platform; Crier's `platform_post_id` is the platform's post."""
    pattern = re.compile(rf"\[{re.escape(run_id)}-\d{{5}}\]")
    copies: dict[tuple[str, str], list[str]] = defaultdict(list)
    for platform in sorted({t["platform"] for a in accepted for t in a.targets}):
        for post in sim.posts(platform):
            # A thread's replies would share the marker; only the post that starts one counts.
            if post.get("reply_to") is None and (match := pattern.search(post.get("text") or "")):
                copies[(platform, match.group(0))].append(post["id"])
    targets = [(t["platform"], a.marker) for a in accepted for t in a.targets]
    missing = [t for t in targets if not copies.get(t)]
    twice = [t for t, ids in copies.items() if len(ids) > 1]
    named = [
        (t["platform"], a.marker, t.get("platform_post_id"))
        for a in accepted
        for t in posts.get(a.post_id, {}).get("targets", [])
        if t.get("platform_post_id")
    ]
    astray = [(p, m) for p, m, named_id in named if named_id not in copies.get((p, m), [])]
    details = (
        [f"missing on {p}: {m}" for p, m in missing[:SHOWN]]
        + [f"{len(copies[t])} times on {t[0]}: {t[1]}" for t in twice[:SHOWN]]
        + [f"Crier names another {p} post for {m}" for p, m in astray[:SHOWN]]
    )
    found = f"{len(targets) - len(missing)} once, {len(missing)} missing, {len(twice)} twice"
    found += f"; Crier names {len(named) - len(astray)} of them" + (f", {len(astray)} wrongly" if astray else "")
    ok = not missing and not twice and not astray
    return Finding("each target on its platform once", f"{len(targets)} once", found, ok, details)


def webhooks_arrived(accepted: list[Accepted], received: Callable[[], list[Delivery]], timeout: float) -> Finding:
    """A post.published per target and a post.scheduled per scheduled post, signed; repeats allowed."""
    expected = {("post.published", a.post_id, t["id"]) for a in accepted for t in a.targets}
    expected |= {("post.scheduled", a.post_id, None) for a in accepted if a.scheduled}
    deadline = time.monotonic() + timeout
    while True:
        deliveries = received()
        seen = {_event_key(d.event) for d in deliveries if d.signed}
        if expected <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # between polling passes
    missing = sorted(expected - seen, key=str)
    unsigned = sum(1 for d in deliveries if not d.signed)
    repeats = len(deliveries) - len({d.webhook_id for d in deliveries})
    ours = [d.event for d in deliveries if _event_key(d.event) in expected]
    twins = len({e.get("id") for e in ours}) - len({_event_key(e) for e in ours})
    details = [f"missing {kind} of {post} {target or ''}".rstrip() for kind, post, target in missing[:SHOWN]]
    found = (
        f"{len(expected) - len(missing)} arrived, {len(missing)} missing, {unsigned} badly signed; "
        f"{repeats} redelivered, {twins} sent as two events"
    )
    return Finding(
        "every webhook event arrived", f"{len(expected)} signed", found, not missing and not unsigned, details
    )


def nothing_down(
    kills: list[tuple[str, bool]],
    pids: dict[str, int | None],
    restarts: dict[str, int],
    alive: Callable[[int], bool],
    ready: bool,
) -> Finding:
    """`kills`: what was killed and whether it came back; `restarts`: the supervisor's own count
    (empty when `crier up` does not write it)."""
    down = sorted(name for name, pid in pids.items() if pid is None or not alive(pid))
    unrecovered = [name for name, back in kills if not back]
    uncounted = [name for name, _ in kills if restarts and restarts.get(name, 0) < 1]
    found = f"{len(kills) - len(unrecovered)} of {len(kills)} back; down now: {', '.join(down) or 'none'}"
    found += "; ready" if ready else "; /readyz not ready"
    if restarts:
        found += f"; restarts counted: {sum(restarts.values())}"
    details = [f"not back: {name}" for name in unrecovered] + [f"restart not counted: {n}" for n in uncounted]
    ok = not down and not unrecovered and not uncounted and ready
    return Finding("no service stayed down", f"{len(kills)} back, {len(pids)} up, ready", found, ok, details)


def _event_key(event: dict[str, Any]) -> tuple[str, str | None, str | None]:
    data = event.get("data") or {}
    target = data.get("target_id") if event.get("type") == "post.published" else None
    return (event.get("type", ""), data.get("post_id"), target)


def _post_line(post_id: str, post: dict[str, Any] | None) -> str:
    if post is None:
        return f"{post_id}: never read"
    targets = ", ".join(f"{t['platform']} {t['status']}" for t in post["targets"])
    return f"{post_id}: {post['status']} ({targets})"
