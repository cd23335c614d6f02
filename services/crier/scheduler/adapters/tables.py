"""The scheduler's tables (SQLAlchemy Core), as migrations/ creates them in the `scheduler` schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

timetable = sa.Table(
    "timetable",
    metadata,
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("due_at", TS, nullable=False),
    # The PublishTarget command, ready to send.
    sa.Column("command", JSONB, nullable=False),
    sa.Column("fired_at", TS),
    sa.Column("canceled", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    # The trace context of the request that created the post (JSON), so firing continues its trace.
    sa.Column("trace", sa.Text, nullable=False),
    # The version of the post the row was written from: only a newer update rewrites it.
    sa.Column("post_version", sa.Integer, nullable=False),
)

# A cancellation may be handled before the creation it cancels (a redelivered event): it is
# remembered here so the late creation is written already canceled.
cancellations = sa.Table(
    "cancellations",
    metadata,
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("canceled_at", TS, nullable=False),
)
