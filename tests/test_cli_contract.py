"""What `bfs` promises a coordinator and a monitoring script: read-only commands create nothing, exit codes that
mean something, settings checked when loaded, a report that shows its alerts, `bfs survey guide`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from bfs_pipeline.cli import cli, counts_line
from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import SettingsError
from tests.conftest import good_row
from tests.test_mailer import Handler, free_port

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BFS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def bare_env() -> dict[str, str]:
    """The environment of a shell where no BFS_* setting is made."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BFS_")}


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


READ_ONLY = [
    ("status",),
    ("status", "--json"),
    ("report", "--period", "2026-Q1"),
    ("report", "--period", "2026-Q1", "--send"),
    ("quarantine", "list"),
    ("quarantine", "list", "--json"),
    ("outbox", "list"),
    ("outbox", "resend", "1"),
    ("actors", "list"),
    ("privacy", "export", "--email", "a@x.se", "--out", "access.json"),
    ("privacy", "erase", "--email", "a@x.se", "--decision", "D-1"),
    ("archive", "export", "--wave", "2026-Q1", "--out", "archive"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_elsewhere_create_nothing(tmp_path, args):
    """`cd elsewhere && bfs status`: no bfs-home, no hash key, no database; one line naming the path and BFS_HOME."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = bfs(bare_env(), *args, cwd=elsewhere)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"bfs: No database at {elsewhere / 'bfs-home' / 'bfs.sqlite3'}") and "BFS_HOME" in line
    assert "bfs.toml" in line and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert tree(elsewhere) == []


def test_status_inside_the_data_folder_names_the_folder_that_holds_the_database(tmp_path):
    """`cd bfs-home && bfs status` used to make bfs-home/bfs-home: now it says where the database is."""
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    made = bfs(bare_env(), "actors", "import", str(roster(tmp_path)), cwd=elsewhere)  # creates ./bfs-home
    assert made.returncode == 0, made.stderr
    data = elsewhere / "bfs-home"
    before = tree(data)
    assert "bfs.sqlite3" in before
    proc = bfs(bare_env(), "status", cwd=data)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line == (
        f"bfs: No database at {data / 'bfs-home' / 'bfs.sqlite3'}: nothing has been stored there. "
        f'There is one in {data}: run with BFS_HOME={data}, or put home = "{data}" in bfs.toml.'
    )
    assert tree(data) == before
    ok = bfs({**bare_env(), "BFS_HOME": str(data)}, "status", "--json", cwd=data)
    assert ok.returncode == 0 and json.loads(ok.stdout)["home"] == str(data)


def test_read_only_commands_never_write_the_hash_key(tmp_path):
    """A named but missing BFS_HOME stays missing, with or without BFS_HASH_KEY."""
    home = tmp_path / "home"
    for extra in ({}, {"BFS_HASH_KEY": "a-long-enough-key-0123456789"}):
        for args in (("status",), ("privacy", "export", "--email", "a@x.se", "--out", str(tmp_path / "a.json"))):
            proc = bfs({**bare_env(), "BFS_HOME": str(home), **extra}, *args, cwd=tmp_path)
            assert proc.returncode == 1 and f"No database at {home / 'bfs.sqlite3'}" in proc.stderr
    assert tree(tmp_path) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_read_only_commands_on_an_empty_postgresql_schema(env, db_url, sheet, tmp_path):
    """PostgreSQL: no Alembic version table means no bfs database; reading creates no table, ingest does."""
    proc = bfs(env, "status")
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "has no bfs tables yet: run bfs ingest" in line and "BFS_DATABASE_URL" in line
    eng = create_engine(db_url)
    assert inspect(eng).get_table_names() == []
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row()])
    assert bfs(env, "ingest", "--file", str(path)).returncode == 0
    assert "alembic_version" in inspect(eng).get_table_names()
    eng.dispose()
    assert json.loads(bfs(env, "status", "--json").stdout)["responses"] == 1


def roster(folder: Path) -> Path:
    """Karlskrona kommun answers; Tysta IF (Karlskrona and Ronneby) does not: Ronneby's coverage alerts."""
    path = folder / "aktorer.csv"
    path.write_text(
        "organisation,sektor,kommun\nKarlskrona kommun,kommun,Karlskrona\nTysta IF,Idéburen sektor,1080;Ronneby\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def answered(env, sheet, tmp_path) -> dict[str, str]:
    """A database with the roster and six answers for 2026-Q1."""
    assert bfs(env, "actors", "import", str(roster(tmp_path))).returncode == 0
    rows = [good_row(email=f"r{i}@x.se") for i in range(6)]
    proc = bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)))
    assert proc.returncode == 0, proc.stderr
    return env


@pytest.fixture
def refusing_smtp() -> Iterator[Handler]:
    handler = Handler()
    handler.reply = "550 mailbox unavailable"
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


def smtp_env(env: dict[str, str], port: int) -> dict[str, str]:
    return {
        **env,
        "BFS_SMTP_HOST": "127.0.0.1",
        "BFS_SMTP_PORT": str(port),
        "BFS_SMTP_STARTTLS": "false",
        "BFS_SMTP_TIMEOUT": "3",
        "BFS_REPORT_TO": "samordnare@lst.example.se",
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_send_exits_3_while_a_message_is_pending_then_0_once_sent(answered, tmp_path):
    """Nobody listens on the SMTP port: pending, exit 3 (documented in --help); once delivered, exit 0."""
    assert "3 rendered, but a message was left pending, failed or uncertain" in " ".join(
        bfs(answered, "report", "--help").stdout.split()
    )
    down = smtp_env(answered, free_port())
    proc = bfs(down, "report", "--period", "2026-Q1", "--send")
    assert proc.returncode == 3
    assert "samordnare@lst.example.se: NOT SENT, pending: cannot connect to 127.0.0.1" in proc.stdout
    (line,) = proc.stderr.splitlines()
    assert line == "bfs: 1 of 1 message(s) not delivered (pending): see bfs outbox list."
    as_json = bfs(down, "report", "--period", "2026-Q1", "--send", "--json")
    assert as_json.returncode == 3 and json.loads(as_json.stdout)["deliveries"][0]["state"] == "pending"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        up = smtp_env(answered, controller.port)
        sent = bfs(up, "report", "--period", "2026-Q1", "--send")
        assert sent.returncode == 0, sent.stderr
        assert "samordnare@lst.example.se: sent over SMTP" in sent.stdout and len(handler.messages) == 1
        again = bfs(up, "report", "--period", "2026-Q1", "--send")
        assert again.returncode == 0 and len(handler.messages) == 1
        assert "samordnare@lst.example.se: already sent (sent over SMTP by an earlier run); nothing sent again" in (
            again.stdout
        )
    finally:
        controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_send_exits_3_when_the_server_refuses_and_stays_3_until_a_person_decides(answered, refusing_smtp):
    env = smtp_env(answered, refusing_smtp.port)  # type: ignore[attr-defined]
    first = bfs(env, "report", "--period", "2026-Q1", "--send")
    assert first.returncode == 3
    failed = "samordnare@lst.example.se: FAILED: 550 mailbox unavailable: fix it, then bfs outbox resend 1"
    assert failed in first.stdout.splitlines()[-1]
    again = bfs(env, "report", "--period", "2026-Q1", "--send")
    assert again.returncode == 3 and "FAILED (since an earlier run)" in again.stdout
    assert again.stderr.strip() == "bfs: 1 of 1 message(s) not delivered (failed): see bfs outbox list."
    resend = bfs(env, "outbox", "resend", "1")
    assert resend.returncode == 3 and "FAILED: 550" in resend.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_prints_its_alerts_labels_its_files_and_says_already_sent(answered, tmp_path, home):
    data = json.loads(bfs(answered, "report", "--period", "2026-Q1", "--out", str(tmp_path / "p"), "--json").stdout)
    assert data["alerts"], "the roster leaves Ronneby without answers: a coverage alert"
    proc = bfs(answered, "report", "--period", "2026-Q1", "--out", str(tmp_path / "p"), "--send")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = out.splitlines()
    assert lines[0] == data["subject"]
    assert lines[1] == f"Alerts ({len(data['alerts'])}):"
    for alert in data["alerts"]:
        assert f"  ! {alert['message']}" in lines
    assert lines.index("Summary:") > lines.index(f"  ! {data['alerts'][-1]['message']}")  # the alerts come first
    files = data["files"]
    assert f"HTML report:      {files['html']}" in out and f"Text version:     {files['text']}" in out
    assert f"Excel attachment: {files['xlsx']}" in out
    charts = [p for k, p in files.items() if k.startswith("chart:")]
    assert charts and all(f"Chart:            {p}" in out for p in charts)
    eml = home / "outbox" / "2026-Q1-sv-samordnare@localhost.eml"
    assert f"samordnare@localhost: written to {eml}" in out
    again = bfs(answered, "report", "--period", "2026-Q1", "--out", str(tmp_path / "p"), "--send")
    assert again.returncode == 0
    already = f"samordnare@localhost: already sent (written to {eml} by an earlier run); nothing sent again"
    assert already in again.stdout
    assert "written to" not in again.stdout.replace(f"(written to {eml} by an earlier run)", "")
    (d,) = json.loads(bfs(answered, "report", "--period", "2026-Q1", "--send", "--json").stdout)["deliveries"]
    assert d["state"] == "written" and d["already"] is True and d["delivery_id"] == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sources_check_with_an_unknown_source_is_one_line(env):
    proc = bfs(env, "sources", "check", "--source", "NOSUCH")
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("bfs: No configured source 'NOSUCH'")
    assert line == bfs(env, "ingest", "--source", "NOSUCH").stderr.strip()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_held_sheet_is_explained_once(env, sheet, tmp_path):
    path = sheet("polis", extra_titles=["Okänd fråga"]).write(tmp_path / "polis-2026-Q1.csv", [good_row()])
    proc = bfs(env, "ingest", "--file", str(path))
    assert proc.returncode == 1
    reason = 'has no column "Okänd fråga"'
    assert (proc.stdout + proc.stderr).count(reason) == 1
    assert proc.stdout.startswith("polis-2026-Q1.csv: HELD, nothing stored (1 row): ") and reason in proc.stdout
    assert proc.stderr.strip() == (
        "bfs: 1 source held or failed: polis-2026-Q1.csv (why: see above). "
        "Fix the sheet, or the survey file, and run it again."
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "BFS_REPORT_TO",
            "not an address",
            "BFS_REPORT_TO: 'not an address' is not an e-mail address: write it as samordnare@kommun.se.",
        ),
        (
            "BFS_REPORT_TO",
            "a@kommun.se, b.kommun.se",
            "BFS_REPORT_TO: 'b.kommun.se' is not an e-mail address: write it as samordnare@kommun.se.",
        ),
        ("BFS_REPORT_TO", " , ", "BFS_REPORT_TO is empty: give at least one recipient address"),
        (
            "BFS_REPORT_FROM",
            "bfs på kommunen",
            "BFS_REPORT_FROM: 'bfs på kommunen' is not an e-mail address: "
            "write it as bfs@kommun.se, or Samordnaren <bfs@kommun.se>.",
        ),
    ],
)
def test_bad_addresses_are_refused_when_the_settings_load(tmp_path, name, value, message):
    with pytest.raises(SettingsError) as exc:
        load_settings({name: value}, cwd=tmp_path)
    assert str(exc.value).startswith(message)
    proc = bfs({**bare_env(), name: value}, "survey", "list", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"bfs: {message}")
    assert tree(tmp_path) == []


def test_good_addresses_load(tmp_path):
    (tmp_path / "bfs.toml").write_text('report_to = ["a@kommun.se", "b@polisen.se"]\n', encoding="utf-8")
    s = load_settings({"BFS_REPORT_FROM": "Samordnaren <bfs@lansstyrelsen.se>"}, cwd=tmp_path)
    assert s.report_to == ("a@kommun.se", "b@polisen.se") and s.report_from == "Samordnaren <bfs@lansstyrelsen.se>"
    assert load_settings({}, cwd=tmp_path / "x").report_to == ("samordnare@localhost",)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_quarantine_list_says_which_entries_are_rows_and_which_answers_set_aside(env, sheet, tmp_path):
    """Each entry of the human list says what happened to it, as its JSON `kind` does (rows are the default)."""
    rows = [good_row(email="a@x.se", C01="Kalmar"), good_row(email="b@x.se", K04="abc"), good_row(email="c@x.se")]
    proc = bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)), "--json")
    (run,) = map(json.loads, proc.stdout.splitlines())
    entries = json.loads(bfs(env, "quarantine", "list", "--json").stdout)
    human = [line for line in bfs(env, "quarantine", "list").stdout.splitlines() if line.startswith("run ")]
    assert len(human) == len(entries) >= 1
    for entry, line in zip(entries, human, strict=True):
        kind = entry.get("kind", "row")
        assert line.startswith(f"run {entry['run_id']}  kommun-2026-Q1.csv  row {entry['sheet_row']}: ")
        assert line.endswith(
            "answer set aside (the response counts without it)" if kind == "answer" else "row kept out"
        )
    assert {e["sheet_row"] for e in entries if e.get("kind", "row") == "row"} >= {2}  # Kalmar: outside the county
    assert run["rows_seen"] == 3


def test_ingest_line_counts_answers_set_aside():
    run = {"source": "/in/kommun-2026-Q1.csv", "status": "ok", "rows_seen": 3, "accepted": 2, "duplicates": 0}
    run |= {"blank": 0, "quarantined": 1, "run_id": 7}
    assert counts_line(run) == ("kommun-2026-Q1.csv: 3 rows: 2 accepted, 0 duplicates, 0 blank, 1 quarantined (run 7)")
    assert counts_line({**run, "set_aside": 0}) == counts_line(run)
    assert counts_line({**run, "set_aside": 1}) == (
        "kommun-2026-Q1.csv: 3 rows: 2 accepted (1 answer set aside), 0 duplicates, 0 blank, 1 quarantined (run 7)"
    )
    assert "2 accepted (4 answers set aside)" in counts_line({**run, "set_aside": 4})


def test_survey_guide_help_and_errors(tmp_path):
    result = CliRunner().invoke(cli, ["survey", "guide", "--help"], obj={})
    assert result.exit_code == 0
    for option in ("--sector", "--wave", "--lang", "--out"):
        assert option in result.output
    env = bare_env()
    nope = bfs(env, "survey", "guide", "nope", "--sector", "kommun", cwd=tmp_path)
    assert nope.returncode == 1
    assert nope.stderr.strip() == "bfs: No survey 'nope'; the surveys are blekinge-behov (bfs survey list)."
    skola = bfs(env, "survey", "guide", "blekinge-behov", "--sector", "skola", cwd=tmp_path)
    assert skola.returncode == 1 and skola.stderr.strip() == (
        "bfs: Survey \"blekinge-behov\" has no sector 'skola'; "
        "its sectors are kommun, polis, myndighet, naringsliv, ideburen."
    )
    wave = bfs(env, "survey", "guide", "blekinge-behov", "--sector", "kommun", "--wave", "2026-Q5", cwd=tmp_path)
    assert wave.returncode == 1 and "'2026-Q5' is not a wave" in wave.stderr
    missing = bfs(env, "survey", "guide", "blekinge-behov", cwd=tmp_path)
    assert missing.returncode == 2 and "Missing option '--sector'" in missing.stderr
    assert tree(tmp_path) == []


def test_survey_guide_writes_the_page(tmp_path, survey):
    """The guide's page, written where asked (default: the working folder), or to standard output with --out -."""
    env = bare_env()
    proc = bfs(env, "survey", "guide", "blekinge-behov", "--sector", "Polis", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "guide-blekinge-behov-polis.html"
    assert proc.stdout.startswith("Wrote guide-blekinge-behov-polis.html")
    html = page.read_text(encoding="utf-8")
    for column in survey.columns("polis"):
        if column.question_id:
            assert column.title in html or column.title.replace("&", "&amp;") in html
    args = ("survey", "guide", "blekinge-behov", "--sector", "kommun", "--lang", "en", "--out", "-")
    out = bfs(env, *args, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.lstrip().lower().startswith("<!doctype html")
    to = tmp_path / "sub" / "g.html"
    assert bfs(env, "survey", "guide", "blekinge-behov", "--sector", "kommun", "--out", str(to)).returncode == 0
    assert to.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
