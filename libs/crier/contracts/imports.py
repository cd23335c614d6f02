"""Imports of an account's existing posts (a backfill): the command, the events and connect's RPC.

Connect owns the import jobs (`rpc.connect.imports.*`): it checks the account, records the job
(tagged with the account's `tenant_id`) and queues `cmd.import.<platform>` with it. The publisher of
that platform reads the account's timeline page by page and, per page, records what it read with the
page's cursor and emits `evt.import.page` (the posts new to Crier) in one transaction; it starts
with `evt.import.started` and ends with `evt.import.read` or `evt.import.failed`. The gateway adds
each page's posts to the posts list (`source: "imported"`) and, once it holds them all, turns
`evt.import.read` into `evt.import.completed`. Connect keeps the job's status from these events,
and the webhook dispatcher turns completed/failed into `import.completed` and `import.failed`.

The import events stay out of `events.EVENT_SUBJECTS`: the webhook dispatcher reads every
`evt.import.*` as a plain object and passes its fields through as the webhook's `data`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

import msgspec

from crier.contracts.common import Message, Platform
from crier.contracts.connect import Scoped

ImportStatus = Literal["queued", "running", "completed", "failed"]
IMPORT_STATUSES: tuple[ImportStatus, ...] = get_args(ImportStatus)
ACTIVE_STATUSES: frozenset[ImportStatus] = frozenset({"queued", "running"})

# At most this many posts in one import: a backfill, not a mirror of a whole archive.
MAX_IMPORT_LIMIT = 10_000

IMPORTS_START = "rpc.connect.imports.start"
IMPORTS_LIST = "rpc.connect.imports.list"
IMPORTS_GET = "rpc.connect.imports.get"


def import_subject(platform: str) -> str:
    """The platform's queue of imports, on the PUBLISH work queue beside (not inside) its lanes."""
    return f"cmd.import.{platform}"


class ImportPosts(Message, kw_only=True, frozen=True):
    """Read the account's existing posts, newest first, until `since` or `limit` or the end of its
    timeline. The message id is the import id, so a replay dedupes."""

    import_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    tenant_id: str | None = None
    since: datetime | None = None
    limit: int | None = None
    # A sandbox account's history is simulated: read without any network or token.
    sandbox: bool = False


class ImportedPost(msgspec.Struct, kw_only=True, frozen=True):
    """One post as the platform showed it."""

    platform_post_id: str
    platform_post_url: str | None = None
    content: str = ""
    published_at: datetime | None = None


class ImportStarted(Message, kw_only=True, frozen=True):
    import_id: str
    account_id: str
    platform: Platform
    tenant_id: str | None = None


class ImportPageRead(Message, kw_only=True, frozen=True):
    """One page of the timeline: `posts` are the ones Crier did not hold yet (never one twice);
    the counts are the import's running totals."""

    import_id: str
    account_id: str
    platform: Platform
    account_username: str = ""
    tenant_id: str | None = None
    posts: list[ImportedPost] = []
    pages: int
    fetched: int
    imported: int


class ImportCompleted(Message, kw_only=True, frozen=True):
    import_id: str
    account_id: str
    platform: Platform
    tenant_id: str | None = None
    pages: int
    fetched: int
    imported: int
    # Posts the platform showed that Crier already held (an earlier import, or Crier's own).
    skipped: int


class ImportTimelineRead(ImportCompleted, kw_only=True, frozen=True):
    """The publisher read the whole timeline (as far as `since` and `limit` asked). The gateway,
    once it holds every page before it, announces `evt.import.completed`: an import is completed
    only when all its posts are in the posts list."""


class ImportFailed(Message, kw_only=True, frozen=True):
    import_id: str
    account_id: str
    platform: Platform
    tenant_id: str | None = None
    pages: int
    fetched: int
    imported: int
    error_code: str
    error_message: str


IMPORT_EVENT_SUBJECTS: dict[str, type[Message]] = {
    "evt.import.started": ImportStarted,
    "evt.import.page": ImportPageRead,
    "evt.import.read": ImportTimelineRead,
    "evt.import.completed": ImportCompleted,
    "evt.import.failed": ImportFailed,
}
IMPORT_SUBJECT_OF: dict[type[Message], str] = {v: k for k, v in IMPORT_EVENT_SUBJECTS.items()}


# Connect's RPC


class ImportStart(Scoped, kw_only=True, frozen=True):
    account_id: str
    since: datetime | None = None
    limit: int | None = None


class ImportRef(Scoped, kw_only=True, frozen=True):
    id: str


class ImportList(Scoped, kw_only=True, frozen=True):
    account_id: str
    limit: int = 25
    cursor: str | None = None


class Import(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    account_id: str
    platform: Platform
    tenant_id: str | None
    status: ImportStatus
    since: datetime | None
    limit: int | None
    pages: int
    fetched: int
    imported: int
    skipped: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class ImportAccepted(msgspec.Struct, kw_only=True, frozen=True):
    """Reply to start: the job, and whether this request made it (False: one was already under way
    for the account, and this is that one)."""

    job: Import
    created: bool


class ImportPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[Import]
    next_cursor: str | None
