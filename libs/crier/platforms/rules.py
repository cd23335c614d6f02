"""What a platform accepts, checked before anything is stored: at `POST /posts` for every target,
and again by the publisher before the first call (the rules may have changed since).

Containers follow the seeds: container 0 is the post, container 1 the first comment, further
containers a thread of native replies. A platform says how many it can take, how long a text may be
by its own way of counting, and what its `config` holds (a Struct per platform: an unknown key is a
problem, never ignored).

Some rules depend on the account a post goes to (a Mastodon instance sets its own limit, only a
LinkedIn member has connections): `for_account` gives the rules one account is held to, from what
connect knows of it, the same facts at create (the gateway's read model of accounts) and at
delivery (the token connect hands the publisher).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec

from crier.contracts.common import AccountLimits, Container, Platform
from crier.kit.errors import Problem
from crier.platforms.media_rules import NO_MEDIA, MediaLimits, check_media


class NoConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A platform that takes no options."""


class Rules:
    """The checks every platform shares; a platform module subclasses it with its own numbers."""

    platform: Platform
    config_type: ClassVar[type[msgspec.Struct]] = NoConfig
    # Container 1 is a first comment (reply) the platform can post.
    first_comment: ClassVar[bool] = False
    # Containers 2.. are replies, each to the one before.
    thread: ClassVar[bool] = False
    # The longest text of one container, counted by `length`; None = no limit Crier knows of.
    max_length: ClassVar[int | None] = None
    # Whether a container must carry text even when it carries media.
    text_required: ClassVar[bool] = True
    # What media container 0 may carry, and the containers after it (comments, replies) when they
    # differ (None: the same as container 0, except that none of them is required to carry any).
    media: ClassVar[MediaLimits] = NO_MEDIA
    reply_media: ClassVar[MediaLimits | None] = None

    def for_account(self, account_type: str | None, limits: AccountLimits) -> Rules:
        """The rules one account of the platform is held to, given its kind on the platform
        (`account_type`: profile, page, organization, …) and the limits its platform set for it.
        Most platforms hold every account to the same rules."""
        return self

    def config(self, raw: Any) -> tuple[msgspec.Struct | None, list[Problem]]:
        """The platform's typed options from `config.<platform>`, or the problems with them."""
        field = f"config.{self.platform}"
        try:
            return msgspec.convert(raw or {}, self.config_type), []
        except msgspec.ValidationError as exc:
            return None, [Problem(field, "invalid_config", str(exc))]

    def length(self, text: str) -> int:
        """The text's length as the platform counts it (characters by default)."""
        return len(text)

    def check(self, containers: Sequence[Container], config: Any) -> list[Problem]:
        """Every problem the post has on this platform, all at once."""
        parsed, problems = self.config(config)
        problems += self.check_shape(containers)
        for i, container in enumerate(containers):
            problems += self.check_container(i, container)
        if parsed is not None:
            problems += self.check_config(parsed, containers)
        return problems

    def check_shape(self, containers: Sequence[Container]) -> list[Problem]:
        if not containers:
            return [Problem("containers", "no_containers", "a post needs at least one container")]
        if len(containers) == 2 and not self.first_comment:
            return [Problem("containers[1]", "first_comment_unsupported", f"{self.platform} takes no first comment")]
        if len(containers) > 2 and not self.thread:
            return [Problem("containers[2]", "thread_unsupported", f"{self.platform} cannot post a thread of replies")]
        return []

    def media_limits(self, index: int) -> MediaLimits:
        """The media limits container `index` is held to."""
        if index == 0 or self.reply_media is None:
            return self.media
        return self.reply_media

    def check_container(self, index: int, container: Container) -> list[Problem]:
        problems = check_media(self.media_limits(index), index, container.media, self.platform)
        return problems + self.check_text(index, container)

    def check_text(self, index: int, container: Container) -> list[Problem]:
        field = f"containers[{index}].content"
        if not container.content.strip():
            if self.text_required or not container.media:
                return [Problem(field, "empty", "needs text")]
            return []
        if self.max_length is not None and self.length(container.content) > self.max_length:
            return [
                Problem(
                    field,
                    "too_long",
                    f"{self.length(container.content)} characters as {self.platform} counts them; "
                    f"at most {self.max_length}",
                )
            ]
        return []

    def check_config(self, config: Any, containers: Sequence[Container]) -> list[Problem]:
        """Rules across options and content (a platform overrides it when it has any)."""
        return []


class AnyText(Rules):
    """A platform Crier cannot publish to yet: any text goes for sandbox accounts (whose posts go
    nowhere), and a live account of it is refused at create with `platform_not_supported`."""

    first_comment = True
    thread = True
    max_length = 10_000

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
