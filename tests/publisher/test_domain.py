"""Backoff, attempt verdicts and routing: the publisher's rules without I/O."""

from __future__ import annotations

import pytest

from crier.publisher.domain.backoff import retry_delay
from crier.publisher.domain.routing import ALL_PLATFORMS, SANDBOX, adapter_key, platforms_to_serve
from crier.publisher.domain.target import Status, Target, Verdict, judge_failure


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


def test_verdicts() -> None:
    assert judge_failure(1, retryable=True, max_attempts=5) is Verdict.RETRY
    assert judge_failure(4, retryable=True, max_attempts=5) is Verdict.RETRY
    assert judge_failure(5, retryable=True, max_attempts=5) is Verdict.DEAD_LETTER
    assert judge_failure(1, retryable=False, max_attempts=5) is Verdict.FAIL


def test_target_attempt_numbering_and_terminal_states() -> None:
    assert Target("t", Status.RETRYING, 2).next_attempt == 3
    assert not Target("t", Status.PUBLISHING, 0).is_finished
    assert all(Target("t", s, 0).is_finished for s in (Status.PUBLISHED, Status.FAILED, Status.DEAD, Status.CANCELED))


def test_test_mode_always_routes_to_the_sandbox() -> None:
    assert adapter_key("test", "x") == SANDBOX
    assert adapter_key("test", "google_business") == SANDBOX
    assert adapter_key("live", "x") == "x"
    assert adapter_key("live", SANDBOX) == SANDBOX


def test_platforms_to_serve() -> None:
    assert platforms_to_serve("all") == ALL_PLATFORMS
    assert SANDBOX in ALL_PLATFORMS and "x" in ALL_PLATFORMS
    assert platforms_to_serve("x") == ("x",)
    assert platforms_to_serve("x,bluesky") == ("x", "bluesky")
    with pytest.raises(ValueError):
        platforms_to_serve("myspace")
