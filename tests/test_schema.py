"""The migrations make exactly the tables the models describe (every model, also those beside their capability)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from bfs_pipeline.models import all_metadata


def test_the_migrated_schema_is_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), all_metadata())
    # server defaults and comments are the migrations' business; tables, columns, types and indexes must agree
    real = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("modify_default", "modify_comment"))]
    assert real == []


def test_all_metadata_knows_every_table_the_migrations_make(engine: Engine) -> None:
    from sqlalchemy import inspect

    made = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert made == set(all_metadata().tables)
