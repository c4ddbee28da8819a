"""What goes wrong outside bfs says so in one line, exit 1, with no SQL statement and no answer in it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import SURVEY_FILE, good_row

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The error of a failed command: exit 1 and a single line on stderr, without a traceback or SQL."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bfs: "), proc.stderr
    for leak in ("Traceback", "INSERT", "SELECT", "UPDATE", "[SQL", "[parameters", "unexpected"):
        assert leak not in lines[0], lines[0]
    return lines[0]


def many_rows(sheet, path: Path, n: int) -> Path:
    return sheet().write(path, [good_row(email=f"svarande{i}@exempel.se", ORG=f"Org {i}") for i in range(n)])


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_database_server_ending_mid_ingest(env, db_url, sheet, tmp_path):
    path = many_rows(sheet, tmp_path / "kommun-2026-Q1.csv", 60000)
    assert bfs(env, "ingest").returncode == 0  # the schema first (an empty inbox)
    proc = subprocess.Popen([*BFS, "ingest", "--file", str(path)], env=env, stderr=subprocess.PIPE, text=True)
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    name = db_url.rsplit("/", 1)[1]
    terminated = 0
    with admin.connect() as conn:
        while proc.poll() is None:
            time.sleep(0.3)
            if not conn.execute(text("SELECT count(*) FROM ingest_runs WHERE status = 'running'")).scalar_one():
                continue  # mid-ingest: once its run is stored (under load the start can take a while)
            terminated += conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": name},
            ).scalar_one()
    admin.dispose()
    _, err = proc.communicate()
    assert terminated >= 1
    message = one_line(subprocess.CompletedProcess(proc.args, proc.returncode, "", err))
    assert "stopped answering" in message and "svarande" not in message
    status = json.loads(bfs(env, "status", "--json").stdout)
    assert status["last_runs"][0]["status"] in ("failed", "interrupted")  # never 'running' for ever


@pytest.mark.slow
def test_a_full_disk(env, sheet, tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], capture_output=True)
    assert mounted.returncode == 0, f"a small tmpfs is needed for this test (run as root): {mounted.stderr!r}"
    try:
        env = {**env, "BFS_HOME": str(disk / "home"), "BFS_DATABASE_URL": f"sqlite:///{disk / 'bfs.sqlite3'}"}
        path = many_rows(sheet, tmp_path / "kommun-2026-Q1.csv", 3000)
        message = one_line(bfs(env, "ingest", "--file", str(path)))
        assert "is full" in message and "free some space" in message.lower()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_survey_file_saved_as_windows_1252(env, tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "s.yaml").write_bytes(SURVEY_FILE.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    message = one_line(bfs({**env, "BFS_SURVEYS_DIR": str(folder)}, "survey", "list"))
    assert f"{folder / 's.yaml'}:" in message and "is not UTF-8" in message and "Save it as UTF-8" in message


def test_a_duplicate_key_and_a_duplicate_question_id_name_their_lines(env, tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    lines = SURVEY_FILE.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "required: true")
    twice = [*lines[: at + 1], lines[at].replace("true", "false"), *lines[at + 1 :]]
    (folder / "s.yaml").write_text("\n".join(twice) + "\n", encoding="utf-8")
    message = one_line(bfs({**env, "BFS_SURVEYS_DIR": str(folder)}, "survey", "list"))
    assert f"s.yaml:{at + 2}: the key 'required' appears twice in the same block (first on line {at + 1})" in message
    first = next(i for i, line in enumerate(lines) if line.strip() == "- id: B02")
    (folder / "s.yaml").write_text("\n".join(lines).replace("- id: B03", "- id: B02", 1) + "\n", encoding="utf-8")
    message = one_line(bfs({**env, "BFS_SURVEYS_DIR": str(folder)}, "survey", "list"))
    assert "question id B02 is used twice (first on line " + str(first + 1) + ")" in message
    assert message.startswith(f"bfs: {folder / 's.yaml'}:")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_outbox_that_is_a_file(env, home, sheet, tmp_path):
    rows = [good_row(email=f"k{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    assert bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows))).returncode == 0
    (home / "outbox").write_text("not a folder", encoding="utf-8")
    message = one_line(bfs(env, "report", "--period", "2026-Q1", "--send"))
    assert "outbox" in message and "nothing was sent" in message
    (row,) = json.loads(bfs(env, "outbox", "list", "--json").stdout)
    assert row["state"] == "pending"  # never left 'sending', so the next run writes it
    (home / "outbox").unlink()
    sent = json.loads(bfs(env, "report", "--period", "2026-Q1", "--send", "--json").stdout)
    assert [d["state"] for d in sent["deliveries"]] == ["written"]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_killed_run_is_marked_interrupted_by_the_next_command(env, db_url, sheet, tmp_path):
    path = many_rows(sheet, tmp_path / "kommun-2026-Q1.csv", 60000)
    assert bfs(env, "ingest").returncode == 0  # the schema first (an empty inbox)
    proc = subprocess.Popen([*BFS, "ingest", "--file", str(path)], env=env, stderr=subprocess.PIPE)
    engine = create_engine(db_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM ingest_runs WHERE status = 'running'")).scalar_one():
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    engine.dispose()
    status = json.loads(bfs(env, "status", "--json").stdout)
    (run,) = status["last_runs"]
    assert run["status"] == "interrupted" and "ended before it finished" in run["error"]
    assert bfs(env, "status").stdout.count("INTERRUPTED") == 1


def test_a_run_of_a_live_process_is_left_running(engine):
    """Only a run whose process has ended is interrupted: this process's own, or another live one's, stays."""
    from sqlalchemy.orm import Session

    from bfs_pipeline.ingest import mark_interrupted, process_owner
    from bfs_pipeline.models import IngestRun

    live = process_owner()
    dead = process_owner(1).rsplit(":", 1)[0] + ":" + str(uuid.uuid4().int)  # pid 1 started at another moment
    with Session(engine) as s, s.begin():
        for owner in (live, dead, None, "another-host:1:1"):
            s.add(IngestRun(source=str(owner), survey_id="s", status="running", owner=owner))
    assert mark_interrupted(engine) == 2
    with Session(engine) as s:
        states = {r.owner: r.status for r in s.query(IngestRun)}
    assert states == {live: "running", dead: "interrupted", None: "interrupted", "another-host:1:1": "running"}
