"""index responses by respondent across waves (resubmissions are settled by respondent)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_responses_respondent_key", "responses", ["survey_id", "respondent_key"])


def downgrade() -> None:
    op.drop_index("ix_responses_respondent_key", table_name="responses")
