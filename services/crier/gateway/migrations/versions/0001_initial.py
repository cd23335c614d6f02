"""Orgs, API keys, idempotency, the accounts read model, and the Post event store with its projections.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from crier.kit.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_outbox_and_inbox()
    op.create_table(
        "orgs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
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
    op.create_index("api_keys_org", "api_keys", ["org_id", "mode", "created_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.Text, primary_key=True),
        sa.Column("mode", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("post_id", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("idempotency_keys_created", "idempotency_keys", ["created_at"])
    op.create_table(
        "accounts",
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
    )
    op.create_index("accounts_listing", "accounts", ["org_id", "mode", sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_table(
        "post_events",
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        # Two writers appending the same version collide here: optimistic concurrency.
        sa.PrimaryKeyConstraint("post_id", "version", name="post_events_pkey"),
    )
    op.create_table(
        "posts",
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
        sa.UniqueConstraint("org_id", "mode", "external_ref", name="posts_external_ref_key"),
    )
    op.create_index("posts_listing", "posts", ["org_id", "mode", sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_index("posts_scheduled", "posts", ["org_id", "mode", "scheduled_at"])
    op.create_table(
        "post_targets",
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
    )
    op.create_index("post_targets_post", "post_targets", ["post_id", "position"])
    op.create_index("post_targets_account", "post_targets", ["account_id"])
    op.create_index("post_targets_tenant", "post_targets", ["tenant_id"])


def downgrade() -> None:
    for table in (
        "post_targets",
        "posts",
        "post_events",
        "accounts",
        "idempotency_keys",
        "api_keys",
        "orgs",
        "inbox",
        "outbox",
    ):
        op.drop_table(table)
