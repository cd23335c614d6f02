"""The pure rules: retry schedule, signing, the event catalog, endpoint fields."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crier.contracts import events as evt
from crier.contracts.webhooks import EVENT_TYPES
from crier.kit.errors import Problem
from crier.webhooks.domain import catalog, signing
from crier.webhooks.domain.delivery import (
    MAX_ATTEMPTS,
    RETRY_SCHEDULE_S,
    Outcome,
    after_attempt,
    parse_retry_after,
    should_disable,
)
from crier.webhooks.domain.endpoint import check_events, new_signing_secret, parse_url

NOW = datetime(2026, 6, 9, 10, 0, tzinfo=UTC)
FAIL = Outcome(http_status=500, error="http_500")


def test_schedule_spans_about_a_day() -> None:
    assert MAX_ATTEMPTS == 8
    assert 24 * 3600 <= sum(RETRY_SCHEDULE_S) <= 30 * 3600


@given(st.integers(1, MAX_ATTEMPTS - 1), st.floats(0, 0.999999), st.sampled_from([0.001, 1.0]))
def test_retry_delay_is_the_schedule_with_bounded_jitter(attempts: int, draw: float, scale: float) -> None:
    step = after_attempt(attempts, FAIL, scale=scale, jitter_draw=draw)
    base = RETRY_SCHEDULE_S[attempts - 1] * scale
    assert step.status == "retrying" and step.delay_s is not None
    assert base * 0.8 - 1e-9 <= step.delay_s <= base * 1.2 + 1e-9


def test_outcomes() -> None:
    ok = Outcome(http_status=204, error=None)
    assert after_attempt(1, ok, scale=1, jitter_draw=0.5).status == "delivered"
    assert after_attempt(MAX_ATTEMPTS, FAIL, scale=1, jitter_draw=0.5).status == "failed"
    for permanent in (
        Outcome(410, "http_410"),
        Outcome(400, "http_400"),
        Outcome(None, "blocked_address"),
        Outcome(301, "http_301"),
    ):
        assert after_attempt(1, permanent, scale=1, jitter_draw=0.5).status == "failed"
    for retryable in (
        Outcome(None, "timeout"),
        Outcome(None, "connection_error"),
        Outcome(429, "http_429"),
        Outcome(408, "http_408"),
        Outcome(409, "http_409"),
        Outcome(425, "http_425"),
    ):
        assert after_attempt(1, retryable, scale=1, jitter_draw=0.5).status == "retrying"


def test_retry_after_wins_only_when_longer() -> None:
    slow = Outcome(429, "http_429", retry_after_s=600)
    assert after_attempt(1, slow, scale=1, jitter_draw=0.5).delay_s == 600
    assert after_attempt(3, slow, scale=1, jitter_draw=0.5).delay_s == RETRY_SCHEDULE_S[2]
    assert after_attempt(1, slow, scale=0.001, jitter_draw=0.5).delay_s == pytest.approx(0.6)
    absurd = Outcome(503, "http_503", retry_after_s=10**9)
    assert after_attempt(1, absurd, scale=1, jitter_draw=0.5).delay_s == 24 * 3600


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Tue, 09 Jun 2026 10:05:00 GMT", NOW) == 300
    assert parse_retry_after("Tue, 09 Jun 2026 09:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_disables_after_five_scaled_days() -> None:
    assert not should_disable(NOW - timedelta(days=4, hours=23), NOW, scale=1)
    assert should_disable(NOW - timedelta(days=5), NOW, scale=1)
    assert should_disable(NOW - timedelta(seconds=433), NOW, scale=0.001)


@given(st.text(max_size=2000), st.integers(1_600_000_000, 2_000_000_000))
def test_signatures_match_the_standard_library(body: str, timestamp: int) -> None:
    old, new = new_signing_secret(), new_signing_secret()
    headers = signing.headers([new, old], "msg_1", timestamp, body.encode())
    when = datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
    assert headers["webhook-signature"].split(" ") == [Webhook(s).sign("msg_1", when, body) for s in (new, old)]


def test_signature_verifies_now_and_fails_when_tampered() -> None:
    secret, body = new_signing_secret(), b'{"id":"evt_1","type":"ping"}'
    headers = signing.headers([secret], "msg_2", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "type": "ping"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"ping", b"pong"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(body, headers)


def _meta(**kw: object) -> dict:
    return {"id": str(uuid.uuid4()), "occurred_at": NOW, "org_id": "org_1", "mode": "live", **kw}


def test_catalog_translation() -> None:
    target = catalog.KnownTarget("tgt_1", "acc_1", "user_1")
    base = {"post_id": "p1", "target_id": "tgt_1", "platform": "x"}
    dead = evt.TargetDeadLettered(**_meta(), **base, attempt=5, error_code="e", error_message="m")
    error, lettered = catalog.translate("evt.target.dead_lettered", dead, target)
    assert (error.type, lettered.type) == ("post.error", "target.dead_lettered")
    assert error.data["will_retry"] is False and error.data["target_status"] == "dead"
    # Keyed by post: a target's events queue behind the post's post.scheduled at each endpoint.
    assert error.data["account_id"] == "acc_1" and error.order_key == "p1" and error.id != lettered.id
    # Stable: the same internal event always yields the same public ids.
    assert [e.id for e in catalog.translate("evt.target.dead_lettered", dead, target)] == [error.id, lettered.id]

    retry = evt.TargetAttemptFailed(**_meta(), **base, attempt=2, error_code="e", error_message="m", retry_in_seconds=8)
    [public] = catalog.translate("evt.target.attempt_failed", retry)
    assert public.data["will_retry"] is True and public.data["retry_in_seconds"] == 8
    assert public.data["account_id"] is None

    draft = evt.PostCreated(**_meta(), post_id="p1", containers=[], targets=[], scheduled_at=NOW, is_draft=True)
    now_post = evt.PostCreated(**_meta(), post_id="p1", containers=[], targets=[])
    assert catalog.translate("evt.post.created", draft) == []
    assert catalog.translate("evt.post.created", now_post) == []
    for status, public_type in (("failed", "post.failed"), ("partial", "post.partial"), ("canceled", "post.canceled")):
        changed = evt.PostStatusChanged(**_meta(), post_id="p1", status=status, previous_status="publishing")
        [e] = catalog.translate("evt.post.status_changed", changed)
        assert e.type == public_type and e.order_key == "p1"
    published = evt.PostStatusChanged(**_meta(), post_id="p1", status="published", previous_status="publishing")
    assert catalog.translate("evt.post.status_changed", published) == []

    gone = evt.AccountTokenExpired(**_meta(), account_id="acc_1", platform="x", updated_at=NOW)
    [e] = catalog.translate("evt.account.token_expired", gone)
    assert e.type == "account.token_expired" and e.data == {"account_id": "acc_1", "platform": "x", "tenant_id": None}

    imported = {**_meta(), "occurred_at": NOW.isoformat(), "import_id": "imp_1", "account_id": "acc_1", "count": 3}
    [e] = catalog.translate("evt.import.completed", imported)
    assert e.type == "import.completed" and e.data == {"import_id": "imp_1", "account_id": "acc_1", "count": 3}
    assert e.created_at == NOW
    assert {"import.completed", "import.failed"} <= set(EVENT_TYPES)


def test_body_is_the_documented_envelope() -> None:
    ping = catalog.ping("wh_1", NOW)
    body = ping.body()
    assert body.startswith(b'{"id":"evt_') and b'"type":"ping","created_at":"2026-06-09T10:00:00Z"' in body


def test_endpoint_fields() -> None:
    assert check_events(["*"]) == ["*"]
    with pytest.raises(Problem):
        check_events(["post.published", "ping"])
    url = parse_url("https://Hooks.Example.com:8443/in?x=1")
    assert (url.scheme, url.host, url.port) == ("https", "hooks.example.com", 8443)
    assert parse_url("http://[2606:2800::1]/x").host == "2606:2800::1"
    for bad in ("https://", "https://a b.com/", "https://x.com/#frag", "https://x.com:99999/"):
        with pytest.raises(Problem):
            parse_url(bad)
