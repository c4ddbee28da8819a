"""answers set aside: an invalid answer to an optional question is kept in quarantine as kind "answer"

The response it came from is accepted without it. Each quarantine entry gets a kind ("row" for every entry made
before this version: a whole row kept out), the question id of an answer set aside and the content hash of its
response; each ingest run counts the answers it set aside.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("quarantine", sa.Column("kind", sa.String(10), nullable=False, server_default="row"))
    op.add_column("quarantine", sa.Column("question_id", sa.String(100), nullable=True))
    op.add_column("quarantine", sa.Column("response_hash", sa.String(64), nullable=True))
    op.create_index("ix_quarantine_response_hash", "quarantine", ["response_hash"])
    op.add_column("ingest_runs", sa.Column("set_aside", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    # before this version an entry was a quarantined row: answers set aside would read as rows, so they go
    op.execute("DELETE FROM quarantine WHERE kind = 'answer'")
    op.drop_index("ix_quarantine_response_hash", table_name="quarantine")
    for table, column in (
        ("ingest_runs", "set_aside"),
        ("quarantine", "response_hash"),
        ("quarantine", "question_id"),
        ("quarantine", "kind"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite 3.35+ and PostgreSQL: no table copy
