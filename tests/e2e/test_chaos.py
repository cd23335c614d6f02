"""The fault suite's short version, as CI runs it: `crier up` under load while its publisher, its
NATS server and its PostgreSQL are SIGKILLed in turn; every accepted post is published, once per
target on the platform, with its webhooks, and everything came back (see tests/chaos)."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.run import SHORT, run


def test_killing_the_publisher_nats_and_postgres_under_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    outcome = run(SHORT, tmp_path)
    assert outcome.ok, outcome.report
