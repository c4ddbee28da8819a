"""population per municipality and year (bfs reference population import); the log of answer exports

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "population",
        sa.Column("municipality", sa.String(4), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "answer_exports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("os_user", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("survey_id", sa.String(100), nullable=False),
        sa.Column("wave", sa.String(7), nullable=False),
        sa.Column("free_text", sa.Boolean, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("answer_exports")
    op.drop_table("population")
