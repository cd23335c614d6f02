"""Platform apps, redirect allowlist, OAuth flows, hosted sessions, end-users, account tokens.

Every secret column (`*_enc`) holds AES-GCM ciphertext from `kit.crypto.Keyring`; every bearer
secret a browser holds (state, session tokens) is stored as its SHA-256 digest only.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "social_networks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("client_secret_enc", sa.Text, nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scopes", JSONB, nullable=False, server_default="[]"),
        sa.Column("instance_url", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "mode", "platform", name="uq_social_networks_app"),
    )
    op.create_table(
        "redirect_uris",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "mode", "uri", name="uq_redirect_uris"),
    )
    op.create_table(
        "end_users",
        sa.Column("org_id", sa.Text, primary_key=True),
        sa.Column("mode", sa.Text, primary_key=True),
        sa.Column("external_user_id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("metadata", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "connect_sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error_code", sa.Text),
        sa.Column("account_ids", JSONB, nullable=False, server_default="[]"),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("social_network_id", sa.Text),
        sa.Column("app_redirect_uri", sa.Text, nullable=False),
        sa.Column("scopes", JSONB, nullable=False, server_default="[]"),
        sa.Column("code_verifier_enc", sa.Text),
        sa.Column("connect_session_id", sa.Text),
        # Test mode: the digest of the code Crier's own consent page issued.
        sa.Column("sandbox_code_hash", sa.Text),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("consumed_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_oauth_states_expires", "oauth_states", ["expires_at"])
    op.create_table(
        "pending_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text),
        sa.Column("social_network_id", sa.Text),
        sa.Column("connect_session_id", sa.Text),
        sa.Column("sandbox", sa.Boolean, nullable=False),
        # What the chooser sees (ids, names, pictures: no secrets)...
        sa.Column("pages", JSONB, nullable=False),
        # ...and the grant and per-page tokens, sealed.
        sa.Column("grant_enc", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("consumed_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.add_column("social_accounts", sa.Column("social_network_id", sa.Text))
    op.add_column("social_accounts", sa.Column("profile_image_url", sa.Text))
    op.add_column("social_accounts", sa.Column("scopes", JSONB, nullable=False, server_default="[]"))
    op.add_column("social_accounts", sa.Column("access_token_enc", sa.Text))
    op.add_column("social_accounts", sa.Column("refresh_token_enc", sa.Text))
    op.add_column("social_accounts", sa.Column("token_expires_at", TS))
    op.add_column("social_accounts", sa.Column("refresh_expires_at", TS))
    op.add_column("social_accounts", sa.Column("last_synced_at", TS))
    # Per-instance platforms: the Mastodon instance or Bluesky PDS the account lives on.
    op.add_column("social_accounts", sa.Column("instance_url", sa.Text))
    # A refresher replica's lease on the account, so replicas never refresh one account twice.
    op.add_column("social_accounts", sa.Column("refresh_claimed_until", TS))
    op.create_index(
        "ix_social_accounts_refresh_due",
        "social_accounts",
        ["token_expires_at"],
        postgresql_where=sa.text("status = 'active' AND refresh_token_enc IS NOT NULL"),
    )
    op.create_index("ix_social_accounts_listing", "social_accounts", ["org_id", "mode", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_social_accounts_listing", "social_accounts")
    op.drop_index("ix_social_accounts_refresh_due", "social_accounts")
    for column in (
        "refresh_claimed_until",
        "instance_url",
        "last_synced_at",
        "refresh_expires_at",
        "token_expires_at",
        "refresh_token_enc",
        "access_token_enc",
        "scopes",
        "profile_image_url",
        "social_network_id",
    ):
        op.drop_column("social_accounts", column)
    for table in (
        "pending_sessions",
        "oauth_states",
        "connect_sessions",
        "end_users",
        "redirect_uris",
        "social_networks",
    ):
        op.drop_table(table)
