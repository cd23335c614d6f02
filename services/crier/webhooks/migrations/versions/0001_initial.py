"""Endpoints, public events, deliveries and their attempts; outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from crier.kit.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_OPEN = "status IN ('pending', 'retrying')"


def upgrade() -> None:
    create_outbox_and_inbox()
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", ARRAY(sa.Text), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.Text),
        # AES-GCM ciphertexts (kit.crypto), bound to the endpoint id.
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_expires_at", _TS),
        # Set by the first failed attempt after a success, cleared by the next success.
        sa.Column("failing_since", _TS),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_endpoints_org", "endpoints", ["org_id", "mode", "seq"])
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        # False for pings: they are deliveries, not part of the /events feed.
        sa.Column("listed", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("stored_at", _TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_events_feed", "events", ["org_id", "mode", "seq"], postgresql_where=sa.text("listed"))
    op.create_index("ix_events_stored_at", "events", ["stored_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("endpoint_id", sa.Text, sa.ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.Text, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("order_key", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS),
        sa.Column("locked_until", _TS),
        sa.Column("resend_of", sa.Text),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    # The work queue (adapters/queue.py): due order, per endpoint, per order key, leases.
    op.create_index(
        "ix_deliveries_due", "deliveries", ["next_attempt_at", "endpoint_id"], postgresql_where=sa.text(_OPEN)
    )
    op.create_index(
        "ix_deliveries_endpoint_due",
        "deliveries",
        ["endpoint_id", "next_attempt_at", "seq"],
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_deliveries_order", "deliveries", ["endpoint_id", "order_key", "seq"], postgresql_where=sa.text(_OPEN)
    )
    op.create_index(
        "ix_deliveries_leased",
        "deliveries",
        ["locked_until"],
        postgresql_where=sa.text(f"{_OPEN} AND locked_until IS NOT NULL"),
    )
    op.create_index("ix_deliveries_endpoint", "deliveries", ["endpoint_id", "seq"])
    op.create_index("ix_deliveries_event", "deliveries", ["event_id"])
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.Text, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempted_at", _TS, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("latency_ms", sa.Integer),
        sa.Column("response_excerpt", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_attempts_delivery", "attempts", ["delivery_id", "id"])
    # What target events need from their post's creation event (account, tenant).
    op.create_table(
        "targets",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text),
        sa.Column("stored_at", _TS, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("targets", "attempts", "deliveries", "events", "endpoints", "inbox", "outbox"):
        op.drop_table(table)
