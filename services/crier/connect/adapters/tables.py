"""The connect schema as SQLAlchemy Core tables (migrations/ creates them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

social_accounts = sa.Table(
    "social_accounts",
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
    sa.Column("social_network_id", sa.Text),
    sa.Column("profile_image_url", sa.Text),
    sa.Column("scopes", JSONB, nullable=False),
    sa.Column("access_token_enc", sa.Text),
    sa.Column("refresh_token_enc", sa.Text),
    sa.Column("token_expires_at", TS),
    sa.Column("refresh_expires_at", TS),
    sa.Column("last_synced_at", TS),
    sa.Column("instance_url", sa.Text),
    sa.Column("refresh_claimed_until", TS),
    # AccountLimits.max_characters: a Mastodon instance's own limit; NULL is the platform's default.
    sa.Column("max_characters", sa.Integer),
    # The metrics collector's: when the account is next captured (NULL: at once), and how many
    # captures in a row failed (for backoff). Migration 0005.
    sa.Column("metrics_due_at", TS),
    sa.Column("metrics_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("deleted_at", TS),
)

social_networks = sa.Table(
    "social_networks",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("client_secret_enc", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scopes", JSONB, nullable=False),
    sa.Column("instance_url", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

redirect_uris = sa.Table(
    "redirect_uris",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

end_users = sa.Table(
    "end_users",
    metadata,
    sa.Column("org_id", sa.Text, primary_key=True),
    sa.Column("mode", sa.Text, primary_key=True),
    sa.Column("external_user_id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("metadata", JSONB, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

connect_sessions = sa.Table(
    "connect_sessions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("instance_url", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("account_ids", JSONB, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    sa.Column("state_hash", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("social_network_id", sa.Text),
    sa.Column("app_redirect_uri", sa.Text, nullable=False),
    sa.Column("scopes", JSONB, nullable=False),
    sa.Column("code_verifier_enc", sa.Text),
    sa.Column("connect_session_id", sa.Text),
    sa.Column("sandbox_code_hash", sa.Text),
    sa.Column("instance_url", sa.Text),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("consumed_at", TS),
    sa.Column("created_at", TS, nullable=False),
)

pending_sessions = sa.Table(
    "pending_sessions",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("org_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text),
    sa.Column("social_network_id", sa.Text),
    sa.Column("connect_session_id", sa.Text),
    sa.Column("sandbox", sa.Boolean, nullable=False),
    sa.Column("pages", JSONB, nullable=False),
    sa.Column("grant_enc", sa.Text, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("consumed_at", TS),
    sa.Column("created_at", TS, nullable=False),
)
