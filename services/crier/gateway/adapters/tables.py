"""The gateway's tables (SQLAlchemy Core). Every name resolves in the `gateway` schema via search_path."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, sa.ForeignKey("orgs.id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("scopes", ARRAY(sa.Text), nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("org_id", sa.Text, primary_key=True),
    sa.Column("mode", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("post_id", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    # The claim's own id, and until when it holds the key unless renewed (NULL once done).
    sa.Column("holder", sa.Text),
    sa.Column("lease_expires_at", TS),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text),
    sa.Column("network_unique_id", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("account_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("sandbox", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # AccountLimits.max_characters, as connect announced it; NULL is the platform's default.
    sa.Column("max_characters", sa.Integer),
)

post_events = sa.Table(
    "post_events",
    metadata,
    sa.Column("post_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("containers", JSONB, nullable=False),
    sa.Column("scheduled_at", TS),
    sa.Column("is_draft", sa.Boolean, nullable=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("external_ref", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("published_at", TS),
    sa.Column("version", sa.Integer, nullable=False),
    # When the post as a whole was canceled: its external_ref is free again from then on.
    sa.Column("canceled_at", TS),
    sa.Index(
        "posts_external_ref_key",
        "org_id",
        "mode",
        "external_ref",
        unique=True,
        postgresql_where=sa.text("canceled_at IS NULL"),
    ),
)

post_targets = sa.Table(
    "post_targets",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("account_username", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("override_body", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("platform_post_id", sa.Text),
    sa.Column("platform_post_url", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("published_at", TS),
    sa.Column("updated_at", TS, nullable=False),
    # The generation of delivery the target is in (0 until it is redriven).
    sa.Column("redrive", sa.Integer, nullable=False),
    sa.Column("notes", ARRAY(sa.Text), nullable=False),
)

# Uploaded and fetched media; the bytes live in the media store under `store_key`.
media = sa.Table(
    "media",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("failure_reason", sa.Text),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("mime", sa.Text, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("duration_s", sa.Float),
    sa.Column("frame_rate", sa.Float),
    sa.Column("codec", sa.Text),
    sa.Column("alt_text", sa.Text),
    sa.Column("store_key", sa.Text, nullable=False),
    sa.Column("source_url", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # When a post last named it: retention counts from the posts that used it.
    sa.Column("last_used_at", TS),
)

# Which posts use which media: what keeps media from being deleted while a post still needs it.
post_media = sa.Table(
    "post_media",
    metadata,
    sa.Column("post_id", sa.Text, primary_key=True),
    sa.Column("media_id", sa.Text, primary_key=True),
)

# The hosted connect pages' look: an organization's default and each session's (migration 0010).
org_settings = sa.Table(
    "org_settings",
    metadata,
    sa.Column("org_id", sa.Text, sa.ForeignKey("orgs.id"), primary_key=True),
    sa.Column("mode", sa.Text, primary_key=True),
    sa.Column("connect_display", JSONB),
    sa.Column("updated_at", TS, nullable=False),
)

connect_session_displays = sa.Table(
    "connect_session_displays",
    metadata,
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("display", JSONB, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)
