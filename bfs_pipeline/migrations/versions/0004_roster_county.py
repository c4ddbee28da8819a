"""roster per county; one respondent index instead of two

An actor belongs to the county whose roster named it, so two counties may each list an organisation
with the same name and sector. The responses index (survey_id, wave, respondent_key) goes: the index
(survey_id, respondent_key) serves the same lookups, and SQLite preferred scanning the wider one.

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actors") as batch_op:
        batch_op.add_column(sa.Column("county", sa.String(length=4), nullable=False, server_default=""))
    conn = op.get_bind()
    for actor_id, munis in conn.execute(sa.text("SELECT id, municipalities FROM actors")).all():
        codes = json.loads(munis) if isinstance(munis, str) else munis
        county = str(codes[0])[:2] if codes else ""  # a municipality's code starts with its county's
        conn.execute(sa.text("UPDATE actors SET county = :c WHERE id = :i"), {"c": county, "i": actor_id})
    with op.batch_alter_table("actors") as batch_op:
        batch_op.drop_constraint("uq_actors_name_sector", type_="unique")
        batch_op.create_unique_constraint("uq_actors_county_name_sector", ["county", "name_key", "sector"])
    with op.batch_alter_table("responses") as batch_op:
        batch_op.drop_index("ix_responses_respondent")


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch_op:
        batch_op.create_index("ix_responses_respondent", ["survey_id", "wave", "respondent_key"], unique=False)
    with op.batch_alter_table("actors") as batch_op:
        batch_op.drop_constraint("uq_actors_county_name_sector", type_="unique")
        batch_op.create_unique_constraint("uq_actors_name_sector", ["name_key", "sector"])
        batch_op.drop_column("county")
