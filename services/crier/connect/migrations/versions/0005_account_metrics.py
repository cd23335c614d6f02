"""Account metrics: the snapshots the collector captures, and when each account is next due.

`metrics_due_at` is claimed and moved forward in the same transaction that takes an account for
capture (FOR UPDATE SKIP LOCKED), so two collectors, or one restarted mid-sweep, never capture an
account twice for one due time. NULL means never scheduled: due at once (with jitter).
`metrics_failures` counts captures in a row the platform refused or did not answer, for backoff.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_metrics",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("followers", sa.BigInteger),
        sa.Column("following", sa.BigInteger),
        sa.Column("posts_count", sa.BigInteger),
        sa.Column("impressions", sa.BigInteger),
        sa.Column("reach", sa.BigInteger),
        sa.Column("profile_views", sa.BigInteger),
        sa.Column("raw", JSONB, nullable=False, server_default="{}"),
        sa.Column("captured_at", TS, nullable=False),
    )
    op.create_index("ix_account_metrics_series", "account_metrics", ["account_id", "captured_at", "id"])
    # Retention deletes by age across every account.
    op.create_index("ix_account_metrics_captured_at", "account_metrics", ["captured_at"])
    op.add_column("social_accounts", sa.Column("metrics_due_at", TS))
    op.add_column("social_accounts", sa.Column("metrics_failures", sa.Integer, nullable=False, server_default="0"))
    op.create_index(
        "ix_social_accounts_metrics_due",
        "social_accounts",
        ["metrics_due_at"],
        postgresql_where=sa.text("deleted_at IS NULL AND status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_social_accounts_metrics_due", "social_accounts")
    op.drop_column("social_accounts", "metrics_failures")
    op.drop_column("social_accounts", "metrics_due_at")
    op.drop_index("ix_account_metrics_captured_at", "account_metrics")
    op.drop_index("ix_account_metrics_series", "account_metrics")
    op.drop_table("account_metrics")
