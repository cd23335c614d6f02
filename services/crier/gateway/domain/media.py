"""Media objects as the API shows them, and how a post's media references become the facts the
platform rules judge: pure, so the rules are tested with plain values."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, get_args

import msgspec

from crier.contracts.common import Container, MediaRef
from crier.kit.errors import Problem

MediaStatus = Literal["processing", "ready", "failed"]
MEDIA_STATUSES: tuple[MediaStatus, ...] = get_args(MediaStatus)
# A post in one of these has not gone out yet (or is going out): its media must stay.
ACTIVE_POST_STATUSES = ("draft", "scheduled", "queued", "publishing")
MAX_ALT_TEXT = 1_500


@dataclass(frozen=True)
class MediaPolicy:
    """How large media may be and how long it is kept (the gateway's settings)."""

    max_bytes: int = 1 << 30
    # Kept this long after the last post using it went out, and an upload never used this long.
    retention: timedelta = timedelta(days=7)
    unused_retention: timedelta = timedelta(hours=24)
    # A row still `processing` this long after it was made was interrupted (a crash mid-way).
    processing_timeout: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class StoredMedia:
    """A media object as a post's reference to it is resolved against: its status and its facts."""

    status: MediaStatus
    ref: MediaRef


def new_media_id() -> str:
    return f"med_{secrets.token_hex(12)}"


def media_ids(containers: Sequence[Container]) -> list[str]:
    """Every media id the containers name, once each, in order."""
    return list(dict.fromkeys(m.id for c in containers for m in c.media if m.id))


def resolved(
    containers: Sequence[Container], stored: Mapping[str, StoredMedia]
) -> tuple[list[Container], list[Problem]]:
    """The containers with each media reference replaced by everything the gateway knows of the
    media (its alt text unless the reference gives one), and the references that name no media
    object of the caller's, or one not ready to be posted."""
    out: list[Container] = []
    problems: list[Problem] = []
    for i, container in enumerate(containers):
        refs: list[MediaRef] = []
        for j, ref in enumerate(container.media):
            field = f"containers[{i}].media[{j}]"
            found = stored.get(ref.id)
            if found is None:
                problems.append(Problem(field, "media_not_found", f"no media {ref.id}"))
            elif found.status != "ready":
                problems.append(Problem(field, "media_not_ready", f"media {ref.id} is {found.status}"))
            else:
                alt = ref.alt_text if ref.alt_text is not None else found.ref.alt_text
                refs.append(msgspec.structs.replace(found.ref, alt_text=alt))
        out.append(msgspec.structs.replace(container, media=refs))
    return out, problems
