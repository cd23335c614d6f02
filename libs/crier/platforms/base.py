"""What every platform adapter offers the publisher, and how platform failures are classified.

An adapter publishes one container at a time; the publisher records each container's result
before asking for the next, so a retry resumes after the last container that reached the platform
instead of posting the root twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from crier.contracts.common import Container, Mode, Platform
from crier.kit.errors import Problem


@dataclass(frozen=True)
class PublishedContainer:
    platform_post_id: str
    url: str | None = None


@dataclass(frozen=True)
class PublishContext:
    """Everything an adapter may need about the target being delivered.

    `conn` is the open transaction in which the publisher records this container's progress; an
    adapter with `transactional = True` is called inside it, so whatever it writes commits or
    vanishes together with the progress row.
    """

    target_id: str
    post_id: str
    org_id: str
    mode: Mode
    platform: Platform
    account_id: str
    account_username: str
    attempt: int
    # The whole post, for adapters whose behaviour depends on more than the current container
    # (thread numbering, the sandbox's magic words which live in container 0).
    containers: tuple[Container, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    conn: Any = None


class PlatformError(Exception):
    """A platform refused or failed a call. `retryable` decides between another attempt later and
    a permanent failure; `retry_after_s` is the platform's own hint (Retry-After, rate-limit reset)."""

    code = "platform_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.retryable = type(self).retryable if retryable is None else retryable
        self.retry_after_s = retry_after_s


class RateLimited(PlatformError):
    code = "rate_limited"
    retryable = True


class ContentRejected(PlatformError):
    code = "content_rejected"
    retryable = False


class TransientError(PlatformError):
    """Timeouts, 5xx, connection resets: the same request may well succeed later."""

    code = "platform_unavailable"
    retryable = True


class NotSupported(PlatformError):
    code = "platform_not_supported"
    retryable = False


@runtime_checkable
class PlatformAdapter(Protocol):
    name: str
    # True when publish_container must run inside the publisher's progress transaction (the
    # sandbox, whose "platform" is a table); real adapters make network calls outside it.
    transactional: bool

    def validate(self, containers: Sequence[Container], config: dict[str, Any]) -> list[Problem]:
        """Why the post cannot go to this platform as written, found before any network call:
        one `Problem` per reason, its field naming the container (`containers[1]`)."""
        ...

    async def publish_container(
        self,
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> PublishedContainer: ...
