"""Several Mastodon instances (and Bluesky PDSes) per organization.

A platform app is unique per (org, mode, platform, instance): one per instance for per-instance
platforms, one per platform for the others (their instance_url is NULL). OAuth states and hosted
connect sessions remember which instance the flow is for.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Instance URLs are compared in one spelling from now on (see domain.instances).
    op.execute("UPDATE social_networks SET instance_url = rtrim(instance_url, '/') WHERE instance_url LIKE '%/'")
    op.drop_constraint("uq_social_networks_app", "social_networks", type_="unique")
    op.create_index(
        "uq_social_networks_app",
        "social_networks",
        ["org_id", "mode", "platform", sa.text("coalesce(instance_url, '')")],
        unique=True,
    )
    op.add_column("oauth_states", sa.Column("instance_url", sa.Text))
    op.add_column("connect_sessions", sa.Column("instance_url", sa.Text))


def downgrade() -> None:
    op.drop_column("connect_sessions", "instance_url")
    op.drop_column("oauth_states", "instance_url")
    op.drop_index("uq_social_networks_app", "social_networks")
    op.create_unique_constraint("uq_social_networks_app", "social_networks", ["org_id", "mode", "platform"])
