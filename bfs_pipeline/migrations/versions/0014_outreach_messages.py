"""outreach through the outbox: each message's kind (report, invite, remind, digest) and actor; opt-outs

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("kind", sa.String(20), nullable=False, server_default="report"))
    op.add_column("deliveries", sa.Column("actor_id", sa.Integer, nullable=True))
    op.create_index("ix_deliveries_actor_id", "deliveries", ["actor_id"])
    op.create_index("ix_deliveries_kind_period", "deliveries", ["kind", "period"])
    op.create_table(
        "opt_outs",
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("actors.id"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wave", sa.String(7), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("opt_outs")
    op.drop_index("ix_deliveries_kind_period", table_name="deliveries")
    op.drop_index("ix_deliveries_actor_id", table_name="deliveries")
    op.execute("DELETE FROM deliveries WHERE kind <> 'report'")
    op.execute("ALTER TABLE deliveries DROP COLUMN actor_id")
    op.execute("ALTER TABLE deliveries DROP COLUMN kind")
