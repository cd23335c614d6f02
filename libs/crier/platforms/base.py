"""What every platform adapter offers the publisher, and how platform failures are classified.

An adapter publishes one container at a time; the publisher records each container's result
before asking for the next, so a retry resumes after the last container that reached the platform
instead of posting the root twice. When a call's outcome is unknown (a timeout, a crash between the
platform's answer and the record), the next delivery first asks the adapter to `find_published` the
container on the platform and adopts it instead of posting it again.

Adapters act as the account with the token in `PublishContext.account`, which the publisher asks
connect for at delivery. A platform that refuses the token raises `TokenRejected`; the publisher
then asks connect for one forced refresh and tries once more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from crier.contracts.common import Container, MediaRef, Mode, Platform
from crier.contracts.connect import AccountToken
from crier.kit.settings import CommonSettings


@dataclass(frozen=True)
class PlatformSettings:
    """How Crier reaches the platforms (`CRIER_PLATFORM_BASE_URL`, `CRIER_LINKEDIN_VERSION`, …),
    shared by connect and the publisher."""

    # Replaces every platform host with `<base>/<platform>`, keeping the real paths (a stand-in).
    base_url_override: str = ""
    # The API versions the calls carry: settings with a current default, never frozen in code.
    linkedin_version: str = "202607"
    graph_api_version: str = "v23.0"
    # Threads has a version line of its own on graph.threads.net.
    threads_api_version: str = "v1.0"
    timeout_s: float = 15.0

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> PlatformSettings:
        """What a service's `CRIER_PLATFORM_*` and version settings say."""
        return cls(
            base_url_override=settings.platform_base_url,
            linkedin_version=settings.linkedin_version,
            graph_api_version=settings.graph_api_version,
            threads_api_version=settings.threads_api_version,
            timeout_s=settings.platform_timeout_s,
        )

    def base(self, platform: Platform, real: str) -> str:
        """The base URL to call `platform` at: its real host, or the stand-in's `<base>/<platform>`."""
        if self.base_url_override:
            return f"{self.base_url_override.rstrip('/')}/{platform}"
        return real.rstrip("/")


@dataclass(frozen=True)
class PublishedContainer:
    platform_post_id: str
    url: str | None = None
    # What Crier changed to fit the platform without changing what the user meant (an image
    # re-encoded under Bluesky's blob limit), in words for the target's `notes`.
    notes: tuple[str, ...] = ()


class MediaSource(Protocol):
    """The bytes of a post's media, for adapters that upload them, and a URL for platforms that pull
    them. Bytes stream from the media store: a video never sits whole in memory."""

    def chunks(self, media: MediaRef, size: int = 4 << 20) -> AsyncIterator[bytes]:
        """The media's bytes in order, in pieces of `size` bytes (the last one shorter)."""
        ...

    async def read(self, media: MediaRef) -> bytes:
        """All of the media's bytes at once: for images, which platforms take in one request."""
        ...

    def url(self, media: MediaRef) -> str:
        """A signed, expiring URL under `CRIER_PUBLIC_URL` that serves the media's bytes to whoever
        holds it: what pull-from-URL platforms (Instagram, Threads, TikTok, Pinterest, Google
        Business) are given."""
        ...


class Stage(Protocol):
    """What an adapter keeps between deliveries of one target while a container is under way: the
    media ids it already uploaded, the platform's container waiting on processing. Saved state is
    committed at once, so a delivery after a crash or a `StillProcessing` wait resumes from it and
    never uploads anything twice."""

    def get(self, index: int) -> dict[str, Any]:
        """What was saved for container `index` (empty before anything was)."""
        ...

    async def save(self, index: int, state: dict[str, Any]) -> None:
        """Replaces what is saved for container `index`; durable when it returns."""
        ...


@dataclass(frozen=True)
class PublishContext:
    """Everything an adapter may need about the target being delivered.

    `commit_with_progress` is given to an adapter with `transactional = True`: what its store queues
    there is written by the statement that records this container's progress, so it commits or
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
    commit_with_progress: list[Any] | None = None
    # The account's credentials; None for adapters that need none (the sandbox).
    account: AccountToken | None = None
    # For `find_published`: when this container was first sent to the platform. A post made before
    # it (less the clock skew the platform may have) cannot be this container, only a repeat of it.
    sent_at: datetime | None = None
    # The post's media bytes and URLs; None for adapters that take no media (the sandbox's).
    media: MediaSource | None = None
    # Progress inside one container (uploads made, platform containers awaiting processing).
    stage: Stage | None = None

    def idempotency_key(self, index: int) -> str:
        """The same for every delivery of one container: platforms that take such a key (Mastodon)
        answer a repeat with the post they already made."""
        return f"{self.target_id}:{index}"


# How far a platform's clock may run behind Crier's when `find_published` compares times.
CLOCK_SKEW = timedelta(minutes=5)


def posted_since(created_at: datetime | None, sent_at: datetime | None) -> bool:
    """Whether a post the platform made at `created_at` may be the container first sent at
    `sent_at` (unknown times never rule a post out)."""
    return created_at is None or sent_at is None or created_at >= sent_at - CLOCK_SKEW


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


class StillProcessing(PlatformError):
    """The platform is still processing what this container needs (an uploaded video, a media
    container): come back in `retry_after_s`. Not a failure: the publisher re-queues the delivery
    with that delay, freeing its slot, and the next delivery resumes from the adapter's `Stage`.
    A target that waits longer than the publisher's processing deadline fails with
    `media_processing_timeout`."""

    code = "media_processing"
    retryable = True

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, retry_after_s=retry_after_s)


class TokenRejected(PlatformError):
    """The platform refused the access token (401): refresh it once, then try again."""

    code = "token_rejected"
    retryable = False


class OutcomeUnknown(TransientError):
    """The request may have reached the platform (a timeout after sending, a dropped connection):
    the next delivery looks for the post before posting again."""

    code = "outcome_unknown"


@runtime_checkable
class PlatformAdapter(Protocol):
    name: str
    # True when what publish_container writes must commit with the publisher's progress row (the
    # sandbox, whose "platform" is a table: `PublishContext.commit_with_progress`).
    transactional: bool
    # Whether publishing needs the account's token from connect.
    needs_account: bool

    async def publish_container(
        self,
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> PublishedContainer: ...

    async def find_published(
        self,
        ctx: PublishContext,
        container: Container,
        index: int,
        parent: PublishedContainer | None,
    ) -> PublishedContainer | None:
        """The container, if an earlier delivery whose outcome is unknown did post it."""
        ...
