"""Fixtures: real SQLite files and a real PostgreSQL, a real SMTP server on loopback, the default survey."""

from __future__ import annotations

import contextlib
import csv
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from bfs_pipeline.config import Settings, default_surveys_dir, load_settings
from bfs_pipeline.db import open_database
from bfs_pipeline.survey import Survey, load_survey

PG_ADMIN_URL = os.environ.get("BFS_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
SURVEY_FILE = default_surveys_dir() / "blekinge-behov.yaml"


@pytest.fixture(scope="session")
def survey() -> Survey:
    return load_survey(SURVEY_FILE)


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any reason PostgreSQL cannot be reached
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end. Fails (never skips) in CI."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI") or os.environ.get("BFS_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {problem}")
    name = f"bfs_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bfs.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    from bfs_pipeline import db

    db._UPGRADED.discard(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def env(home: Path, db_url: str) -> dict[str, str]:
    """The environment for a `bfs` run against this test's database."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("BFS_")}
    out.update({"BFS_HOME": str(home), "BFS_DATABASE_URL": db_url, "BFS_HASH_KEY": "test-hash-key-0123456789"})
    return out


@pytest.fixture
def settings(env: dict[str, str], tmp_path: Path) -> Settings:
    return load_settings(env, cwd=tmp_path)


@dataclass
class Sheet:
    """An answer sheet written from the codebook: rows are dicts by question id (or meta type)."""

    survey: Survey
    sector: str | None
    wave: str | None = None
    extra_titles: list[str] = field(default_factory=list)
    drop: set[str] = field(default_factory=set)

    def titles(self) -> list[tuple[str, str]]:
        cols = [
            (c.question_id or c.type, c.title)
            for c in self.survey.columns(self.sector, self.wave)
            if (c.question_id or c.type) not in self.drop
        ]
        return cols + [(t, t) for t in self.extra_titles]

    def write(self, path: Path, rows: list[dict[str, str]]) -> Path:
        cols = self.titles()
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([t for _, t in cols])
            for r in rows:
                w.writerow([r.get(k, "") for k, _ in cols])
        return path


def good_row(**over: str) -> dict[str, str]:
    """A valid kommun answer; keyword arguments replace cells by question id."""
    row = {
        "timestamp": "2026-03-14 10:22:31",
        "email": "samordnare@karlskrona.example.se",
        "ORG": "Karlskrona kommun",
        "C01": "Karlskrona",
        "C02": "2",
    }
    for i in range(1, 10):
        row[f"B0{i}"] = "4 - Stort behov" if i % 2 else "2"
    row.update(over)
    return row


@pytest.fixture
def sheet(survey: Survey) -> Callable[..., Sheet]:
    def make(sector: str | None = "kommun", **kw: Any) -> Sheet:
        return Sheet(survey, sector, **kw)

    return make


@contextlib.contextmanager
def migrated_to(engine: Engine, revision: str, down: bool = False) -> Iterator[Connection]:
    """The schema taken to an Alembic revision (up, or down with down=True), in a transaction left open for the
    block: what a database made by an earlier version holds."""
    from alembic import command
    from alembic.config import Config

    from bfs_pipeline import db

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
        yield conn


CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright through its executable path (no download).

    Fails (never skips) in CI or with BFS_REQUIRE_BROWSER set; elsewhere skips with a reason when it is missing.
    Module-scoped: Playwright's sync API runs an event loop while it is started, and Prefect's synchronous calls in
    later test modules refuse to run beside one (asyncio.run() from a running loop), so it stops with each module.
    """
    path = os.environ.get("BFS_CHROMIUM") or next((p for p in CHROMIUM_PATHS if os.path.exists(p)), None)
    if path is None:
        if os.environ.get("CI") or os.environ.get("BFS_REQUIRE_BROWSER"):
            pytest.fail("Chromium is needed for the browser tests: apt-get install chromium (.ci/run does)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chrome
        finally:
            chrome.close()


@pytest.fixture
def page_at(browser: Any) -> Iterator[Callable[[int], Any]]:
    """A new page at a viewport width (the height is the phone's or the desktop's); closed after the test."""
    contexts: list[Any] = []

    def make(width: int) -> Any:
        # No request may leave the machine: everything but file: and loopback is aborted and fails the test.
        context = browser.new_context(viewport={"width": width, "height": 800 if width < 700 else 900})
        contexts.append(context)
        outside: list[str] = []

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:", "about:", "http://127.0.0.1", "http://localhost", "cid:")):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.outside_requests = outside
        return page

    yield make
    for context in contexts:
        context.close()
