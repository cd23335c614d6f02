"""Media containers as Instagram and Threads make them: one call makes a container from a media URL
the platform pulls (`image_url`, `video_url`), another publishes it once the platform has processed
it; several media are item containers (`is_carousel_item=true`) gathered by a carousel container
(`children`).

Every container id is saved in the adapter's `Stage` the moment it is made, so a later delivery (after
a `StillProcessing` wait, a crash, a lost answer) polls and publishes the same containers instead of
making new ones. A container is polled once per delivery: IN_PROGRESS is `StillProcessing`, ERROR or
EXPIRED a permanent `media_rejected` with the platform's words. An unpublished container is
harmless (it expires after a day), so a create whose answer was lost is simply made again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from crier.contracts.common import Container
from crier.kit.errors import Problem
from crier.platforms.base import (
    ContentRejected,
    OutcomeUnknown,
    PublishContext,
    PublishedContainer,
    StillProcessing,
    TransientError,
)

Call = Callable[..., Awaitable[Any]]


class ContainerSteps:
    """Making, polling and remembering one platform's containers for one container of a post."""

    def __init__(
        self,
        platform: str,
        call: Call,
        *,
        create_path: str,
        status_fields: str,
        status_key: str,
        wait_s: float,
    ) -> None:
        self.platform = platform
        self.call = call
        self.create_path = create_path
        self.status_fields = status_fields
        self.status_key = status_key
        self.wait_s = wait_s

    async def create(self, form: Mapping[str, str]) -> str:
        try:
            made = await self.call("POST", self.create_path, data=dict(form))
        except OutcomeUnknown as lost:
            raise TransientError(f"{lost.message}; the container was not published") from None
        return str(made["id"])

    async def status(self, container_id: str) -> tuple[str, str]:
        """The container's status and the platform's words about it."""
        node = await self.call("GET", f"/{container_id}", params={"fields": self.status_fields})
        node = node if isinstance(node, dict) else {}
        said = node.get("error_message") or (node.get("status") if self.status_key != "status" else None)
        return str(node.get(self.status_key) or ""), str(said or "")

    async def ready(self, container_id: str) -> None:
        """Returns once the container may be published; raises while it processes or if it failed."""
        status, said = await self.status(container_id)
        if status in ("FINISHED", "PUBLISHED"):
            return
        if status in ("ERROR", "EXPIRED"):
            raise ContentRejected(
                f"{self.platform} could not use the media ({status}): {said or 'no reason given'}",
                code="media_rejected",
            )
        raise StillProcessing(
            f"{self.platform} is still processing container {container_id}", retry_after_s=self.wait_s
        )

    async def prepare(
        self, ctx: PublishContext, index: int, items: Sequence[Mapping[str, str]], wrapper: Mapping[str, str]
    ) -> str:
        """The container to publish for this post's container `index`, ready: one item's own
        container with `wrapper`'s fields, or the items' containers under a carousel with them."""
        saved = ctx.stage.get(index) if ctx.stage is not None else {}

        async def save(state: dict[str, Any]) -> None:
            if ctx.stage is not None:
                await ctx.stage.save(index, state)

        if saved.get("container"):
            await self.ready(str(saved["container"]))
            return str(saved["container"])
        if len(items) == 1:
            made = await self.create({**wrapper, **items[0]})
            await save({"container": made})
            await self.ready(made)
            return made
        children = [str(c) for c in saved.get("items") or []]
        for form in items[len(children) :]:
            children.append(await self.create({**form, "is_carousel_item": "true"}))
            await save({"items": children})
        for child in children:
            await self.ready(child)
        made = await self.create({**wrapper, "media_type": "CAROUSEL", "children": ",".join(children)})
        await save({"items": children, "container": made})
        await self.ready(made)
        return made

    def done(self, ctx: PublishContext, index: int) -> str | None:
        """The post container `index` already became, by the stage."""
        saved = ctx.stage.get(index) if ctx.stage is not None else {}
        return str(saved["published"]) if saved.get("published") else None

    async def published(self, ctx: PublishContext, index: int, media_id: str) -> None:
        """Remembers the post a container became, for `find_published` after a crash."""
        if ctx.stage is not None:
            await ctx.stage.save(index, {**ctx.stage.get(index), "published": media_id})

    async def staged(self, ctx: PublishContext, index: int) -> tuple[PublishedContainer | None, bool]:
        """What the stage says of container `index`: the post it became, and whether the platform
        must still be searched (False when nothing of it can have been published yet)."""
        saved = ctx.stage.get(index) if ctx.stage is not None else {}
        if saved.get("published"):
            return PublishedContainer(str(saved["published"])), False
        if saved.get("container"):
            status, _ = await self.status(str(saved["container"]))
            return None, status == "PUBLISHED"
        # Item containers alone (or nothing saved): a media container was never published.
        return None, not saved


def too_slow(index: int, container: Container, platform: str, minimum: float) -> list[Problem]:
    """A video below the platform's lowest frame rate (Meta's platforms take 23 to 60)."""
    return [
        Problem(
            f"containers[{index}].media[{i}]",
            "media_frame_rate",
            f"{item.frame_rate:g} fps; {platform} needs at least {minimum:g}",
        )
        for i, item in enumerate(container.media)
        if item.type == "video" and item.frame_rate is not None and item.frame_rate < minimum - 0.01
    ]
