"""Commands: requests in the imperative, sent on the PUBLISH work queue under `cmd.…`."""

from __future__ import annotations

from typing import Any

from crier.contracts.common import Container, Message, Platform


class PublishTarget(Message, kw_only=True, frozen=True):
    """Deliver one target of a post to its platform. `id` is the target id, so a replay dedupes."""

    post_id: str
    target_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    containers: list[Container]
    config: dict[str, Any] = {}


def publish_subject(platform: str) -> str:
    return f"cmd.publish.{platform}"


def dead_subject(platform: str) -> str:
    return f"dead.publish.{platform}"
