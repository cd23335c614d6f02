"""Commands: requests in the imperative, sent on the PUBLISH work queue under `cmd.…`."""

from __future__ import annotations

from typing import Any

from crier.contracts.common import Container, Message, Platform


class PublishTarget(Message, kw_only=True, frozen=True):
    """Deliver one target of a post to its platform. `id` is the target id; the message id is the
    target id too (`<target_id>:r<n>` for redrive generation n), so a replay dedupes."""

    post_id: str
    target_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    containers: list[Container]
    config: dict[str, Any] = {}
    # The redrive generation: 0 for the target's first delivery, n when the post's n-th redrive
    # sends it out again. A publisher starts a fresh attempt count for a generation higher than
    # the one it last delivered, and settles a lower one without effect.
    redrive: int = 0


def publish_subject(platform: str) -> str:
    return f"cmd.publish.{platform}"


def publish_msg_id(cmd: PublishTarget) -> str:
    """A redriven command must not be swallowed by JetStream's duplicate window as a replay of
    the target's earlier command, so each generation has a message id of its own."""
    return cmd.target_id if cmd.redrive == 0 else f"{cmd.target_id}:r{cmd.redrive}"


def dead_subject(platform: str) -> str:
    return f"dead.publish.{platform}"
