"""A scripted platform that uploads media and makes the publisher wait on its processing, for the
delivery use case's media and processing tests."""

from __future__ import annotations

from collections import Counter

from crier.contracts.common import PLATFORMS, Container, Platform
from crier.platforms import publishing
from crier.platforms.base import PublishContext, PublishedContainer, StillProcessing

PROCESSING_RETRY_S = 0.5


class UploadingPlatform:
    """A network platform like X or Mastodon: each container's media is uploaded (streamed from
    `ctx.media`) once, what was uploaded kept in the stage; container 0 is then "processing" for
    `rounds` deliveries before it can be posted."""

    name = "uploading"
    transactional = False
    needs_account = False

    def __init__(self, rounds: int = 0) -> None:
        self.rounds = rounds
        # The bytes each upload carried, by media id; and each upload's chunk count.
        self.uploaded: dict[str, bytes] = {}
        self.uploads: Counter[str] = Counter()
        self.finds: list[tuple[int, int]] = []
        self.posted: dict[int, PublishedContainer] = {}
        # The stage each publish call began from, by container index.
        self.resumed_from: list[tuple[int, dict[str, object]]] = []

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        assert ctx.stage is not None
        state = ctx.stage.get(index)
        self.resumed_from.append((index, dict(state)))
        if container.media and "uploaded" not in state:
            assert ctx.media is not None
            for ref in container.media:
                self.uploaded[ref.id] = b"".join([piece async for piece in ctx.media.chunks(ref, size=1024)])
                self.uploads[ref.id] += 1
            state["uploaded"] = [ref.id for ref in container.media]
            await ctx.stage.save(index, state)
        if index == 0 and state.get("rounds", 0) < self.rounds:
            state["rounds"] = state.get("rounds", 0) + 1
            await ctx.stage.save(index, state)
            raise StillProcessing("the video is still processing", retry_after_s=PROCESSING_RETRY_S)
        self.posted[index] = PublishedContainer(f"up_{index}", f"https://up.example/{index}")
        return self.posted[index]

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        self.finds.append((ctx.attempt, index))
        return self.posted.get(index)


def platform_taking_images() -> Platform | None:
    """A platform whose rules take an image in a post (the media tests go through the rules)."""
    return next((p for p in PLATFORMS if "image" in publishing.rules(p).media.types), None)
