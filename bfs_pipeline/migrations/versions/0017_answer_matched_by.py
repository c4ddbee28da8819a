"""responses.matched_by: "code" where a pre-filled Google Form's code named the actor (else as before: NULL)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("responses", sa.Column("matched_by", sa.String(10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("matched_by")
