"""one current answer per (survey, wave, respondent): repair what concurrent ingests doubled, then a partial unique index

Before this version two ingests at once could each keep their answer current. The newest answer (by time,
then by id) of each such group stays current, the others become history, as a sequential ingest leaves them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHERE = "is_current AND respondent_key IS NOT NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE responses SET is_current = :off WHERE is_current AND respondent_key IS NOT NULL AND EXISTS ("
            " SELECT 1 FROM responses newer WHERE newer.survey_id = responses.survey_id"
            " AND newer.wave = responses.wave AND newer.respondent_key = responses.respondent_key AND newer.is_current"
            " AND (newer.submitted_at > responses.submitted_at"
            " OR (newer.submitted_at = responses.submitted_at AND newer.id > responses.id)))"
        ).bindparams(off=False)
    )
    op.create_index(
        "uq_responses_current",
        "responses",
        ["survey_id", "wave", "respondent_key"],
        unique=True,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("uq_responses_current", table_name="responses")
