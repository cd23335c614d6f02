"""Backoff, attempt verdicts and routing: the publisher's rules without I/O."""

from __future__ import annotations

import pytest

from crier.contracts.common import PLATFORMS
from crier.publisher.domain.backoff import RetryPolicy, retry_delay
from crier.publisher.domain.routing import SANDBOX, adapter_key, platforms_to_serve
from crier.publisher.domain.target import Target, Verdict, after_failure, processing_timed_out


def _delay(n: int, jitter: float, retry_after: float | None = None) -> float:
    return retry_delay(n, base_s=2.0, cap_s=300.0, retry_after_s=retry_after, jitter=jitter)


def test_backoff_ceiling_doubles_per_failed_attempt() -> None:
    assert [_delay(n, 0.999999) for n in (1, 2, 3, 4)] == pytest.approx([2.0, 4.0, 8.0, 16.0], rel=1e-5)


def test_backoff_is_full_jitter_from_zero() -> None:
    assert _delay(3, 0.0) == 0.0
    assert _delay(3, 0.5) == 4.0


def test_backoff_is_capped() -> None:
    assert _delay(20, 0.999999) == pytest.approx(300.0, rel=1e-5)


def test_retry_after_is_a_floor() -> None:
    assert _delay(1, 0.0, retry_after=7.5) == 7.5
    assert _delay(4, 0.999999, retry_after=0.1) == pytest.approx(16.0, rel=1e-5)


def test_policy_applies_the_backoff_rule() -> None:
    policy = RetryPolicy(max_attempts=5, base_s=2.0, max_s=10.0)
    assert policy.delay(3, retry_after_s=None, jitter=0.5) == 4.0
    assert policy.delay(9, retry_after_s=None, jitter=0.999999) == pytest.approx(10.0, rel=1e-5)
    assert policy.delay(1, retry_after_s=7.5, jitter=0.0) == 7.5


POLICY = RetryPolicy(max_attempts=5, base_s=2.0, max_s=300.0, rate_limit_deadline_s=3600.0)


def _after(
    target: Target, *, retryable: bool = True, rate_limited: bool = False, retry_after: float | None = None
) -> Verdict:
    return after_failure(
        target, retryable=retryable, rate_limited=rate_limited, retry_after_s=retry_after, policy=POLICY, jitter=0.5
    )


def test_a_retryable_failure_counts_and_backs_off() -> None:
    verdict = _after(Target("t", "publishing", 0, last_attempt=1))
    assert (verdict.status, verdict.counts, verdict.retry_in_s) == ("retrying", True, 1.0)
    assert _after(Target("t", "publishing", 3, last_attempt=4)).status == "retrying"


def test_the_last_counted_failure_dead_letters() -> None:
    verdict = _after(Target("t", "publishing", 4, last_attempt=9))
    assert (verdict.status, verdict.counts, verdict.retry_in_s) == ("dead", True, None)


def test_a_permanent_failure_fails_at_once() -> None:
    verdict = _after(Target("t", "publishing", 0, last_attempt=1), retryable=False)
    assert (verdict.status, verdict.retry_in_s) == ("failed", None)


def test_a_rate_limit_waits_as_asked_without_counting() -> None:
    # Four failures counted already: a fifth would dead-letter, a rate limit does not.
    target = Target("t", "publishing", 4, last_attempt=7, rate_limited_for_s=600.0)
    verdict = _after(target, rate_limited=True, retry_after=42.0)
    assert (verdict.status, verdict.counts, verdict.retry_in_s) == ("retrying", False, 42.0)


def test_a_rate_limit_without_a_hint_backs_off_by_attempt() -> None:
    verdict = _after(Target("t", "publishing", 0, last_attempt=3), rate_limited=True)
    # base 2 s · 2^(3-1) = 8 s, half of it by the jitter.
    assert (verdict.counts, verdict.retry_in_s) == (False, 4.0)


def test_rate_limits_count_once_past_the_deadline() -> None:
    target = Target("t", "publishing", 1, last_attempt=30, rate_limited_for_s=3601.0)
    verdict = _after(target, rate_limited=True, retry_after=42.0)
    assert (verdict.status, verdict.counts, verdict.retry_in_s) == ("retrying", True, 42.0)
    late = Target("t", "publishing", 4, last_attempt=31, rate_limited_for_s=4000.0)
    assert _after(late, rate_limited=True, retry_after=42.0).status == "dead"


def test_target_attempt_numbering_and_terminal_states() -> None:
    # A new attempt after a concluded one; the same attempt again when its delivery died mid-way.
    assert Target("t", "retrying", 2, last_attempt=6).next_attempt == 7
    assert Target("t", "publishing", 0, last_attempt=0).next_attempt == 1
    assert Target("t", "publishing", 0, last_attempt=3).next_attempt == 3
    assert Target("t", "publishing", 0, last_attempt=3).attempt_open
    assert not Target("t", "retrying", 0, last_attempt=3).attempt_open
    assert not Target("t", "publishing", 0).is_finished
    assert not Target("t", "retrying", 1).is_finished
    assert all(Target("t", s, 0).is_finished for s in ("published", "failed", "dead", "canceled"))


def test_test_mode_always_routes_to_the_sandbox() -> None:
    assert adapter_key("test", "x") == SANDBOX
    assert adapter_key("test", "google_business") == SANDBOX
    assert adapter_key("live", "x") == "x"


def test_platforms_to_serve() -> None:
    assert platforms_to_serve("all") == PLATFORMS
    assert platforms_to_serve("x") == ("x",)
    assert platforms_to_serve("x,bluesky") == ("x", "bluesky")
    assert platforms_to_serve("bluesky, x,x") == ("x", "bluesky")
    with pytest.raises(ValueError, match="myspace"):
        platforms_to_serve("myspace")


def test_sandbox_is_an_adapter_not_a_queue() -> None:
    # Sandbox accounts carry a real platform name, so their commands arrive on that platform's queue.
    assert SANDBOX not in platforms_to_serve("all")
    with pytest.raises(ValueError, match="sandbox"):
        platforms_to_serve("sandbox")


def test_processing_times_out_only_past_the_deadline_from_the_first_wait() -> None:
    policy = RetryPolicy(max_attempts=5, base_s=2.0, max_s=300.0, processing_deadline_s=60.0)
    assert not processing_timed_out(Target("t", "publishing", 0), policy)  # never waited: the clock starts now
    assert not processing_timed_out(Target("t", "publishing", 0, processing_for_s=60.0), policy)
    assert processing_timed_out(Target("t", "publishing", 0, processing_for_s=60.5), policy)


def test_only_an_open_attempt_resumes_a_wait() -> None:
    waiting = Target("t", "publishing", 0, last_attempt=2, waiting_on_processing=True)
    assert waiting.resumes_wait and waiting.next_attempt == 2
    # Concluded since (a redrive, a failure): the flag of a wait no longer describes an open attempt.
    assert not Target("t", "retrying", 1, last_attempt=2, waiting_on_processing=True).resumes_wait
    assert not Target("t", "publishing", 0, last_attempt=2).resumes_wait


def test_processing_wait_is_the_platforms_unless_capped_and_never_below_the_floor() -> None:
    asked = RetryPolicy(max_attempts=5, base_s=2.0, max_s=300.0)
    assert asked.processing_wait(30.0, 0.1) == 30.0
    assert asked.processing_wait(None, 0.1) == 0.1
    capped = RetryPolicy(max_attempts=5, base_s=2.0, max_s=300.0, processing_poll_max_s=0.5)
    assert capped.processing_wait(30.0, 0.1) == 0.5
    assert capped.processing_wait(0.2, 0.1) == 0.2
    assert capped.processing_wait(0.0, 0.1) == 0.1
