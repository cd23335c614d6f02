"""The publisher's tables (SQLAlchemy Core), as migrations/ creates them in the `publisher` schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

targets = sa.Table(
    "targets",
    metadata,
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    # A contracts `TargetStatus`.
    sa.Column("status", sa.Text, nullable=False),
    # The failed attempts that count towards the limit (a rate limit within its deadline does not).
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    # The number of the latest attempt begun; with status `publishing` it is still open.
    sa.Column("last_attempt", sa.Integer, nullable=False),
    # When the platform first rate-limited the target: the rate-limit deadline runs from here.
    sa.Column("rate_limited_since", TS),
    # When a platform's processing (an uploaded video, a media container) first held the target
    # back in this generation: the processing deadline runs from here.
    sa.Column("processing_since", TS),
    # The open attempt stopped to wait on processing; its next delivery continues it, unannounced.
    sa.Column("waiting_on_processing", sa.Boolean, nullable=False, server_default=sa.false()),
    # The generation of delivery: 0, then the post's redrive that last sent the target out again.
    # The counts above start afresh in each.
    sa.Column("redrive", sa.Integer, nullable=False),
    # When the backoff after the last failed attempt ends.
    sa.Column("retry_at", TS),
    sa.Column("platform_post_id", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
    # Attempts are numbered from 1 within each redrive generation.
    sa.Column("redrive", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("started_at", TS, nullable=False),
    # More than one when a publisher died mid-attempt and the message came back, or when the attempt
    # waited on a platform's processing (one more for each wait).
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("finished_at", TS),
    # The status the attempt left the target in: published, retrying, failed or dead.
    sa.Column("outcome", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("retry_in_s", sa.Float),
)

container_progress = sa.Table(
    "container_progress",
    metadata,
    sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
    sa.Column("container_index", sa.Integer, primary_key=True),
    sa.Column("platform_post_id", sa.Text, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    # What Crier changed to fit the platform in this container (PublishedContainer.notes).
    sa.Column("notes", ARRAY(sa.Text), nullable=False),
)

# A container whose call to the platform began and whose result is not recorded yet. Written (and
# committed) before the call: a later delivery that finds one asks the platform whether the post
# exists before posting again. Deleted when the container's progress row is written.
container_sends = sa.Table(
    "container_sends",
    metadata,
    sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
    sa.Column("container_index", sa.Integer, primary_key=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("sent_at", TS, nullable=False),
)

# What an adapter keeps between deliveries while a container is under way (media ids it uploaded,
# a platform container awaiting processing): `crier.platforms.base.Stage`. Each save commits on its
# own, so whatever an adapter uploaded is remembered even if the delivery dies next.
container_stages = sa.Table(
    "container_stages",
    metadata,
    sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
    sa.Column("container_index", sa.Integer, primary_key=True),
    sa.Column("state", postgresql.JSONB, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# The sandbox platform's "network": the simulated posts of test-mode targets.
sandbox_posts = sa.Table(
    "sandbox_posts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("target_id", sa.Text, nullable=False),
    sa.Column("container_index", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.Text),
    sa.Column("content", sa.Text, nullable=False),
    # The ids of the media the post carries, each read whole and checked against its sha256.
    sa.Column("media", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("created_at", TS, nullable=False),
)

canceled_targets = sa.Table(
    "canceled_targets",
    metadata,
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("canceled_at", TS, nullable=False),
)

# One row per post a delivery took from a publish budget (`adapters.budgets`): the budget's key
# names the platform, the scope, the account or organization and the window.
budget_spends = sa.Table(
    "budget_spends",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("spent_at", TS, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False),
)
