"""The dispatcher's tables (SQLAlchemy Core), as the migrations create them. Every name resolves in
the `webhooks` schema via search_path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", ARRAY(sa.Text), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    # AES-GCM ciphertexts (kit.crypto), bound to the endpoint id.
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_secret_expires_at", TS),
    # Set by the first failed attempt after a success, cleared by the next success.
    sa.Column("failing_since", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    # The feed's cursor.
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    # False for pings: they are deliveries, not part of the /events feed.
    sa.Column("listed", sa.Boolean, nullable=False),
    # The trace the internal event belonged to (W3C traceparent); None for pings and older rows.
    sa.Column("traceparent", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("stored_at", TS, nullable=False, server_default=sa.func.now()),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("endpoint_id", sa.Text, sa.ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_id", sa.Text, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("order_key", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS),
    sa.Column("locked_until", TS),
    sa.Column("resend_of", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.Text, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempted_at", TS, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("response_excerpt", sa.Text),
    sa.Column("error", sa.Text),
)

# What target events need from their post's creation event (account, tenant).
targets = sa.Table(
    "targets",
    metadata,
    sa.Column("target_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("stored_at", TS, nullable=False, server_default=sa.func.now()),
)


def any_of(column: sa.ColumnElement[Any], values: Sequence[str]) -> sa.ColumnElement[bool]:
    """`column = ANY(:values)`: one array parameter, so one prepared statement whatever the count
    (an IN list would compile anew for every length)."""
    return column == sa.any_(sa.literal(list(values), ARRAY(sa.Text)))
