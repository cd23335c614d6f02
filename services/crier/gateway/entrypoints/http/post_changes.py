"""The bodies of the calls that change a post before it goes out: `PATCH /posts/{id}` and
`POST /posts/{id}/publish`."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from crier.gateway.entrypoints.http.schemas import Container, Id, TargetOverride, Text

Instant = Annotated[str, Meta(description="An ISO 8601 time with an explicit offset (`Z` or `+00:00`).")]


class PostUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change; the post as they leave it is checked exactly like a create.
    `content` or `containers` replaces the post's containers; `accounts` its targets (an account
    that stays keeps its target and id); `targets` its per-account overrides (an account removed
    loses its own). `scheduled_at: null` clears the time: a scheduled post then goes out at once."""

    content: Annotated[Text, Meta(description="New text: the post becomes this one container.")] | UnsetType = UNSET
    containers: (
        Annotated[
            list[Container],
            Meta(max_length=25, description="New containers (0: the post, 1: first comment, then replies)."),
        ]
        | UnsetType
    ) = UNSET
    accounts: (
        Annotated[
            list[Id], Meta(max_length=100, description="The accounts to post to; one that stays keeps its target.")
        ]
        | UnsetType
    ) = UNSET
    scheduled_at: (
        Annotated[Instant, Meta(description="A new time (at most 30 days ahead unless a draft); null: at once.")]
        | UnsetType
        | None
    ) = UNSET
    config: (
        Annotated[dict[str, dict[str, Any]], Meta(description="Per-platform options, replacing the post's.")]
        | UnsetType
    ) = UNSET
    external_ref: (
        Annotated[str, Meta(min_length=1, max_length=255, description="Your reference; null clears it.")]
        | UnsetType
        | None
    ) = UNSET
    targets: (
        Annotated[
            list[TargetOverride], Meta(max_length=100, description="Per-account overrides, replacing the post's.")
        ]
        | UnsetType
    ) = UNSET
    expected_updated_at: (
        Annotated[
            Instant,
            Meta(
                description="The `updated_at` the change was made from: a post changed since is a 409 `post_modified`."
            ),
        ]
        | None
    ) = None


class PostPublish(Struct, kw_only=True, forbid_unknown_fields=True):
    """`{}` publishes the draft at once; `scheduled_at` (or `scheduled_for`) schedules it, at most
    30 days from now."""

    scheduled_at: Annotated[Instant, Meta(description="When to publish; omitted or null: at once.")] | None = None
    scheduled_for: Annotated[Instant, Meta(description="`scheduled_at` by another name; send one of them.")] | None = (
        None
    )
