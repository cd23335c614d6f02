"""Social accounts, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from crier.kit.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_and_inbox()
    op.create_table(
        "social_accounts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("network_unique_id", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text),
        sa.Column("account_type", sa.Text, nullable=False, server_default="account"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("sandbox", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("org_id", "mode", "platform", "network_unique_id"),
    )
    op.create_index("ix_social_accounts_org_tenant", "social_accounts", ["org_id", "mode", "tenant_id"])


def downgrade() -> None:
    op.drop_table("social_accounts")
    op.drop_table("inbox")
    op.drop_table("outbox")
