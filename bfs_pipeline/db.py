"""Opening the database: engine settings per dialect, and creating or upgrading the schema with Alembic."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError, SQLAlchemyError

from bfs_pipeline.errors import MissingDatabaseError, StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
IMMEDIATE = "bfs_sqlite_immediate"  # execution option: a SQLite transaction that takes the write lock when it begins
SCHEMA_LOCK = "bfs:schema"  # the advisory lock that creating or upgrading the schema holds on PostgreSQL


def _to_json(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, default=str)


JSON_CODEC: dict[str, Any] = {
    "json_serializer": _to_json,
    "json_deserializer": orjson.loads,
}  # JSON columns: orjson is several times json's speed


def make_engine(url: str) -> Engine:
    """An engine with WAL and a busy timeout on SQLite, pre-ping on PostgreSQL; JSON columns through orjson."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "BFS_DATABASE_URL is not a database URL: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB."
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **JSON_CODEC)

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.isolation_level = None  # pysqlite begins nothing itself: the "begin" listener below says BEGIN
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(
                "PRAGMA cache_size=-65536"
            )  # 64 MiB instead of 2: the hash index of a growing table stays in memory
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Transactional DDL, and BEGIN IMMEDIATE for writers: what a writer reads stays true until it commits.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")

        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True, **JSON_CODEC)
    except (ImportError, SQLAlchemyError) as exc:
        raise StoreError(
            f"Cannot use database {parsed.render_as_string(hide_password=True)}: {exc}. Check BFS_DATABASE_URL."
        ) from None


KeyProvider = Callable[[], bytes]


def upgrade(engine: Engine, hash_key: KeyProvider | None = None) -> None:
    """Create the schema or bring it to the newest migration; hash_key gives the key a migration needs to hash
    e-mail addresses kept in clear by older versions (called only when there are such)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with writer(engine).begin() as conn:  # one transaction: a kill at any moment leaves the schema as it was
            lock(conn, SCHEMA_LOCK)  # processes that start at once wait here, then find the schema made
            cfg.attributes["connection"] = conn
            cfg.attributes["hash_key"] = hash_key
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        if "disk is full" in str(exc.orig).lower():
            raise store_error(exc, str(engine.url)) from None
        raise StoreError(
            f"Cannot open the database {where}: {str(exc.orig).splitlines()[0]}. "
            "Check BFS_DATABASE_URL and that the server runs."
        ) from None


def writer(engine: Engine) -> Engine:
    """The engine for a transaction that reads and then writes on what it read.

    On SQLite it begins with BEGIN IMMEDIATE, taking the write lock first (other writers wait, readers do not);
    PostgreSQL transactions take advisory locks with `lock` instead.
    """
    return engine.execution_options(**{IMMEDIATE: True}) if engine.dialect.name == "sqlite" else engine


def lock_id(key: str) -> int:
    """A stable signed 64-bit number for an advisory lock's name."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)


def lock(conn: Any, *keys: str) -> None:
    """On PostgreSQL, transaction-level advisory locks on these names, taken in sorted order (no deadlock between
    two transactions that want the same names); released at commit or rollback. SQLite's BEGIN IMMEDIATE locks
    the whole database instead, so there it does nothing."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn.get_bind().dialect  # a Connection or a Session
    if dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(key)})


_UPGRADED: set[str] = set()


def open_database(url: str, hash_key: KeyProvider | None = None) -> Engine:
    """An engine on a schema at the newest migration (checked once per process and URL)."""
    engine = make_engine(url)
    if url not in _UPGRADED:
        upgrade(engine, hash_key)
        _UPGRADED.add(url)
    return engine


def store_error(exc: SQLAlchemyError | OSError, url: str | None = None) -> StoreError:
    """A database failure as one line: what happened and what to do; never the SQL statement or its values."""
    where = f" {make_url(url).render_as_string(hide_password=True)}" if url else ""
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).lower()
    if "disk is full" in text_ or "no space left" in text_ or getattr(orig, "errno", None) == 28:
        return StoreError(
            f"The disk holding the database{where} is full: nothing half-written counts. "
            "Free some space and run the command again."
        )
    if "readonly" in text_ or "read-only" in text_:
        return StoreError(f"The database{where} cannot be written (read-only). Check its file's permissions.")
    kind = type(orig).__name__
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, OperationalError | InterfaceError):
        return StoreError(
            f"The database{where} refused a change ({kind}); nothing of it was stored. "
            "Run the command again; if it fails the same way, report it."
        )
    return StoreError(
        f"The database{where} stopped answering ({kind}): what was not committed was not stored, and what was "
        "counts. Run the command again when it answers (check BFS_DATABASE_URL and that the server runs)."
    )


@contextlib.contextmanager
def opened(url: str, hash_key: KeyProvider | None = None) -> Iterator[Engine]:
    """open_database for the length of a block; the engine (and its connections) are disposed of at its end."""
    engine = open_database(url, hash_key)
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise store_error(exc, url) from None
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, or SQLite in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def database_exists(url: str) -> bool:
    """Whether bfs's database is there: a SQLite file that exists, or a PostgreSQL schema with Alembic's version table.

    Creates nothing: no folder, no file, no table (what `open_database` would).
    """
    if url in _UPGRADED:
        return True
    path = sqlite_file(url)
    if path is not None:
        return path.is_file()
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":  # in memory: there is nothing to find, and nothing to refuse
        engine.dispose()
        return True
    try:
        with engine.connect() as conn:
            return inspect(conn).has_table("alembic_version")
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(
            f"Cannot open the database {where}: {str(exc.orig).splitlines()[0]}. "
            "Check BFS_DATABASE_URL and that the server runs."
        ) from None
    finally:
        engine.dispose()


def require_database(url: str, cwd: Path | None = None) -> None:
    """Refuse, in one line, a database that is not there: what only reads must never create it (only ingest,
    actors import, demo and the flows do). Says where it looked and how to point at the right one."""
    if database_exists(url):
        return
    path = sqlite_file(url)
    if path is None:
        where = make_url(url).render_as_string(hide_password=True)
        raise MissingDatabaseError(
            f"The database {where} has no bfs tables yet: run bfs ingest (or bfs actors import) to create them, "
            "or point BFS_DATABASE_URL (environment or bfs.toml) at the right database."
        )
    cwd = cwd or Path.cwd()
    here = next((c for c in (cwd / path.name, cwd / "bfs-home" / path.name) if c.is_file() and c != path), None)
    hint = (
        f'There is one in {here.parent}: run with BFS_HOME={here.parent}, or put home = "{here.parent}" in bfs.toml.'
        if here
        else "Set BFS_HOME to the data folder (or BFS_DATABASE_URL to the database), in the environment or in "
        "bfs.toml in the working folder; or run bfs ingest to start one there."
    )
    raise MissingDatabaseError(f"No database at {path}: nothing has been stored there. {hint}")


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
