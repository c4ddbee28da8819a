"""Concurrency as a property of the store: real `bfs` processes at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bfs_pipeline.models import Response
from tests.conftest import good_row, migrated_to

BFS = [sys.executable, "-m", "bfs_pipeline"]
ROWS = 4000


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*BFS, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def current(db_url: str) -> tuple[int, int, dict[str, str]]:
    """Responses that count, every stored version, and the B01 answer that counts per respondent."""
    engine = create_engine(db_url)
    with Session(engine) as s:
        counted = s.scalar(select(func.count()).select_from(Response).where(Response.is_current.is_(True))) or 0
        stored = s.scalar(select(func.count()).select_from(Response)) or 0
        # the columns every version of the schema has: it is also read at an earlier migration
        found = s.execute(select(Response.email_hash, Response.answers).where(Response.is_current.is_(True)))
        b01 = {email_hash: answers["B01"] for email_hash, answers in found}
    engine.dispose()
    return counted, stored, b01


def sheets(sheet, folder: Path) -> tuple[Path, Path]:
    """The same respondents twice: an earlier answer and a newer one that must count."""
    old = [good_row(email=f"r{i}@x.se", timestamp="2026-03-01 10:00", B01="2") for i in range(ROWS)]
    new = [good_row(email=f"r{i}@x.se", timestamp="2026-03-10 10:00", B01="5") for i in range(ROWS)]
    return sheet().write(folder / "kommun-2026-Q1-old.csv", old), sheet().write(folder / "kommun-2026-Q1-new.csv", new)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_two_ingests_of_the_same_respondents_at_once_keep_one_current_answer_each(env, db_url, sheet, tmp_path):
    old, new = sheets(sheet, tmp_path)
    code, _, err = finish(start(env, "ingest"))  # the schema first, so that both ingests race on the answers alone
    assert code == 0, err
    a, b = start(env, "ingest", "--file", str(old)), start(env, "ingest", "--file", str(new))
    for proc in (a, b):
        code, out, err = finish(proc)
        assert code == 0, err
        assert f"{ROWS} rows: {ROWS} accepted" in out
    counted, stored, b01 = current(db_url)
    assert (counted, stored) == (ROWS, 2 * ROWS)  # sequentially it is the same: one answer per respondent counts
    assert set(b01.values()) == {"5"}  # and it is the newer one, whichever process stored it first


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_same_file_twice_at_once_stores_it_once(env, db_url, sheet, tmp_path):
    old, _ = sheets(sheet, tmp_path)
    finish(start(env, "ingest"))  # the schema first (an empty inbox); read-only commands never create it
    procs = [start(env, "ingest", "--file", str(old), "--json") for _ in range(2)]
    results = []
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 0 and "IntegrityError" not in err, err
        results.append(json.loads(out))
    assert sorted((r["accepted"], r["duplicates"]) for r in results) == [(0, ROWS), (ROWS, 0)]
    assert current(db_url)[:2] == (ROWS, ROWS)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_four_processes_create_the_schema_at_once(env, db_url):
    procs = [start(env, "ingest", "--json") for _ in range(4)]  # an empty inbox: the schema and nothing else
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 0, err
        assert out == ""
    assert '"responses": 0' in finish(start(env, "status", "--json"))[1]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(head) == 1


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_kill_while_the_schema_is_made_leaves_a_database_the_next_run_can_use(env, db_url, home, sheet, tmp_path):
    """kill -9 at several moments of the first start; every next run opens the database and stores answers."""
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row()])
    killed_before_done = 0
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.2, 2.6):
        _empty(db_url)
        proc = start(env, "ingest")  # an empty inbox: the first start makes the schema
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed_before_done += 1
        proc.communicate()
        code, out, err = finish(start(env, "ingest", "--file", str(path)))
        assert code == 0 and "1 accepted" in out, (delay, err)
    assert killed_before_done >= 3  # the kills did land during the first start, not after it


def _empty(db_url: str) -> None:
    """Back to nothing: no database file, or an empty schema."""
    if db_url.startswith("sqlite"):
        db = Path(db_url.removeprefix("sqlite:///"))
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
        return
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_repairs_answers_that_an_earlier_race_doubled(db_url, settings, sheet, tmp_path):
    """A database where two answers of one respondent both count (as concurrent ingests left them before 0006):
    the upgrade keeps the newest current and the index then refuses a second current answer."""
    from sqlalchemy.exc import IntegrityError

    from bfs_pipeline import db, pipeline

    rows = [good_row(email="r@x.se", timestamp=f"2026-03-0{d} 10:00", B01=str(d)) for d in (1, 2, 3)]
    rows.append(good_row(email="s@x.se"))
    pipeline.ingest_files(settings, file=sheet().write(tmp_path / "kommun-2026-Q1.csv", rows))
    engine = db.make_engine(db_url)
    with migrated_to(engine, "0005", down=True) as conn:
        conn.execute(text("UPDATE responses SET is_current = :on"), {"on": True})  # what the race left
    assert current(db_url)[0] == 4
    db.upgrade(engine)
    counted, stored, b01 = current(db_url)
    assert (counted, stored, sorted(b01.values())) == (2, 4, ["3", "4"])  # r@ newest (B01 3) and s@
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE responses SET is_current = :on"), {"on": True})
    engine.dispose()
