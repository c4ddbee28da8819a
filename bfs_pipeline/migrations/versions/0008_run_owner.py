"""ingest runs know the process that runs them (host:pid:start), so that a killed run can be told apart

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_runs", sa.Column("owner", sa.String(200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE ingest_runs DROP COLUMN owner")  # SQLite 3.35+ and PostgreSQL: no table copy
