"""support log: imports, support events (municipalities, needs, kind, hours, participants) and their quarantine

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("survey_id", sa.String(100), nullable=False),
        sa.Column("file_hash", sa.String(64), nullable=False),
        sa.Column("rows_seen", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("blank", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("withdrawn", sa.Integer, nullable=False),
    )
    op.create_table(
        "support_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("support_imports.id"), nullable=False),
        sa.Column("survey_id", sa.String(100), nullable=False),
        sa.Column("county", sa.String(4), nullable=False),
        sa.Column("datum", sa.Date, nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("county_wide", sa.Boolean, nullable=False),
        sa.Column("municipalities", sa.JSON, nullable=False),
        sa.Column("recipient", sa.Text, nullable=True),
        sa.Column("sector", sa.String(50), nullable=False),
        sa.Column("needs", sa.JSON, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sheet_row", sa.Integer, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("content_hash", name="uq_support_events_content_hash"),
    )
    op.create_index("ix_support_events_import_id", "support_events", ["import_id"])
    op.create_index("ix_support_events_survey_period", "support_events", ["survey_id", "period"])
    op.create_table(
        "support_quarantine",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("support_imports.id"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sheet_row", sa.Integer, nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
    )
    op.create_index("ix_support_quarantine_import_id", "support_quarantine", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_support_quarantine_import_id", table_name="support_quarantine")
    op.drop_table("support_quarantine")
    op.drop_index("ix_support_events_survey_period", table_name="support_events")
    op.drop_index("ix_support_events_import_id", table_name="support_events")
    op.drop_table("support_events")
    op.drop_table("support_imports")
