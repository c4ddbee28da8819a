"""Alembic environment: bfs passes its own connection; `alembic` on the command line uses BFS_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bfs_pipeline.models import all_metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=all_metadata(), render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    from bfs_pipeline.config import load_settings
    from bfs_pipeline.privacy import hash_key

    settings = load_settings()
    config.attributes.setdefault("hash_key", lambda: hash_key(settings.hash_key, settings.home))
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=all_metadata(), render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
