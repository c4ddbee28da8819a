"""actor aliases: a name answers use for a roster actor, confirmed by a person

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actor_aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("actors.id"), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("alias_key", sa.String(300), nullable=False),
        sa.Column("sector", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("alias_key", "sector", "actor_id", name="uq_actor_aliases_key_sector_actor"),
    )
    op.create_index("ix_actor_aliases_actor_id", "actor_aliases", ["actor_id"])
    op.create_index("ix_actor_aliases_alias_key", "actor_aliases", ["alias_key"])


def downgrade() -> None:
    op.drop_index("ix_actor_aliases_alias_key", table_name="actor_aliases")
    op.drop_index("ix_actor_aliases_actor_id", table_name="actor_aliases")
    op.drop_table("actor_aliases")
