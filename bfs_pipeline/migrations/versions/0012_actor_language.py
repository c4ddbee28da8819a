"""the roster's språk column: the language of an actor's invitations and reminders (sv or en)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("actors", sa.Column("lang", sa.String(2), nullable=False, server_default="sv"))


def downgrade() -> None:
    op.execute("ALTER TABLE actors DROP COLUMN lang")
