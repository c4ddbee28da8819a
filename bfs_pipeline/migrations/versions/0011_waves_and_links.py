"""waves and personal links: the project's own web form

A wave opened for answers by link (its deadline, when it was closed early), each actor's link to it (only the
sha256 digest of its token: the token is derived again from the hash key), drafts saved in the form, and the
actor a response came from where a link says it.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("survey_id", sa.String(100), nullable=False),
        sa.Column("wave", sa.String(7), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("survey_id", "wave", name="uq_waves_survey_wave"),
    )
    op.create_table(
        "wave_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("actors.id"), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("wave_id", "actor_id", name="uq_wave_links_wave_actor"),
    )
    op.create_index("ix_wave_links_wave_id", "wave_links", ["wave_id"])
    op.create_table(
        "form_drafts",
        sa.Column("link_id", sa.Integer, sa.ForeignKey("wave_links.id"), primary_key=True),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("responses", sa.Column("actor_id", sa.Integer, nullable=True))
    op.create_index("ix_responses_actor_id", "responses", ["actor_id"])


def downgrade() -> None:
    op.drop_index("ix_responses_actor_id", table_name="responses")
    op.execute("ALTER TABLE responses DROP COLUMN actor_id")
    op.drop_table("form_drafts")
    op.drop_index("ix_wave_links_wave_id", table_name="wave_links")
    op.drop_table("wave_links")
    op.drop_table("waves")
