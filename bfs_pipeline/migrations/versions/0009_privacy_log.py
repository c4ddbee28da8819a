"""a log of privacy operations: access exports and erasures, with the decision and counts, never the address

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("responses", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("privacy_log")
