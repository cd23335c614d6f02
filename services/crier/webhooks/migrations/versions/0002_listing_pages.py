"""Endpoint and delivery listings page newest first by (created_at, id), the way every Crier
listing does (kit.pages), instead of by seq.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_endpoints_page", "endpoints", ["org_id", "mode", "created_at", "id"])
    op.drop_index("ix_endpoints_org", "endpoints")
    # Also what deleting an endpoint cascades through.
    op.create_index("ix_deliveries_page", "deliveries", ["endpoint_id", "created_at", "id"])
    op.drop_index("ix_deliveries_endpoint", "deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_endpoint", "deliveries", ["endpoint_id", "seq"])
    op.drop_index("ix_deliveries_page", "deliveries")
    op.create_index("ix_endpoints_org", "endpoints", ["org_id", "mode", "seq"])
    op.drop_index("ix_endpoints_page", "endpoints")
