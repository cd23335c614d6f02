"""Imports: each import's progress (the cursor of the next page, its counts) and the ledger of the
posts imported per account, which never takes one twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("import_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("imported", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        # Failed reads in a row (a rate limit is not one): the import fails at the fifth.
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "imported_posts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("platform_post_id", sa.Text, primary_key=True),
        sa.Column("import_id", sa.Text, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("imported_posts")
    op.drop_table("import_runs")
