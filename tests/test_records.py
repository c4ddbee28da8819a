"""The data as allmänna handlingar: access export, erasure by decision, the wave's archive copy, inbox retention."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bfs_pipeline import pipeline, store
from bfs_pipeline.privacy import email_hash, hash_key
from bfs_pipeline.records import retention
from tests.conftest import good_row
from tests.test_faults import everything_stored

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)


def answers(sheet, folder: Path) -> Path:
    rows = [good_row(email=f"r{i}@kommun.example.se", ORG=f"Org {i}") for i in range(6)]
    rows += [good_row(email="Anna@Kommun.example.se", ORG="Org A", timestamp="2026-03-01 09:00", B01="2")]
    rows += [good_row(email="anna@kommun.example.se", ORG="Org A", timestamp="2026-03-09 09:00", B01="5")]
    rows += [good_row(email="anna@kommun.example.se", ORG="Org A", B01="8")]  # off the scale: kept out
    return sheet().write(folder / "kommun-2026-Q1.csv", rows)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_access_export_and_erasure_by_decision(env, settings, sheet, tmp_path, db_url):
    assert bfs(env, "ingest", "--file", str(answers(sheet, tmp_path))).returncode == 0
    out = tmp_path / "anna.json"
    done = bfs(env, "privacy", "export", "--email", "anna@kommun.example.se", "--out", str(out))
    assert done.returncode == 0 and "2 answer(s), 1 kept row(s)" in done.stdout, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    key = hash_key(settings.hash_key, settings.home)
    assert data["respondent"] == "hmac-sha256:" + email_hash("anna@kommun.example.se", key)
    assert [(a["answers"]["B01"], a["counts_now"]) for a in data["answers"]] == [("2", False), ("5", True)]
    assert [r["sheet_row"] for r in data["kept_rows"]] == [10]
    assert "anna@" not in out.read_text(encoding="utf-8").lower()

    erased = bfs(env, "privacy", "erase", "--email", "ANNA@kommun.example.se", "--decision", "LST 2026-1234")
    assert erased.returncode == 0 and "Erased 2 answer(s) and 1 kept row(s)" in erased.stdout, erased.stderr
    with pipeline.database(settings) as engine:
        assert store.status(engine).responses == 6 and store.quarantine_rows(engine) == []
        from bfs_pipeline.records.access import privacy_log

        log = privacy_log(engine)
    assert [(e["action"], e["decision"], e["answers"], e["kept_rows"]) for e in log] == [
        ("export", None, 2, 1),
        ("erase", "LST 2026-1234", 2, 1),
    ]
    digest = email_hash("anna@kommun.example.se", key)
    assert digest not in everything_stored(db_url) and "anna" not in json.dumps(log).lower()
    again = bfs(env, "privacy", "export", "--email", "anna@kommun.example.se", "--out", str(out))
    assert "0 answer(s), 0 kept row(s)" in again.stdout
    bad = bfs(env, "privacy", "erase", "--email", "not-an-address", "--decision", "X")
    assert bad.returncode == 1 and "is not an e-mail address" in bad.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_archive_export_of_a_wave(env, settings, sheet, tmp_path, db_url):
    (tmp_path / "roster.csv").write_text("organisation,sektor,kommun\nOrg 0,kommun,Karlskrona\n", encoding="utf-8")
    assert bfs(env, "actors", "import", str(tmp_path / "roster.csv")).returncode == 0
    rows_file = answers(sheet, tmp_path)
    with rows_file.open("a", encoding="utf-8") as fh:
        fh.write("2026-03-14 10:22:31,z@x.se,=HYPERLINK(1),Karlskrona,2" + ",4" * 9 + "\n")  # a formula as a name
    assert bfs(env, "ingest", "--file", str(rows_file)).returncode == 0
    out = tmp_path / "arkiv"
    done = bfs(env, "archive", "export", "--wave", "2026-q1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "2026-Q1.xlsx",
        "README.md",
        "answers.csv",
        "codebook.csv",
        "quarantine.csv",
        "roster.csv",
    ]
    with (out / "answers.csv").open(encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 9 and sum(r["counts"] == "ja" for r in table) == 8
    anna = [r for r in table if r["organisation"] == "Org A"]
    assert [(r["B01"], r["B01 (text)"], r["counts"]) for r in anna] == [
        ("2", "Litet behov", "nej"),
        ("5", "Mycket stort behov", "ja"),
    ]
    assert table[-1]["organisation"] == "'=HYPERLINK(1)"  # neutralised: no spreadsheet runs it
    assert all(r["C01"] == "1080" and r["C01 (text)"] == "Karlskrona" for r in table)
    assert all(len(r["respondent"]) == 64 and "@" not in r["respondent"] for r in table)
    quarantine = (out / "quarantine.csv").read_text(encoding="utf-8")
    assert "kommun.example.se" not in quarantine and "hmac-sha256:" in quarantine and "[out_of_scale]" in quarantine
    wb = openpyxl.load_workbook(out / "2026-Q1.xlsx", read_only=True)
    assert {"answers", "codebook", "roster", "quarantine"} <= set(wb.sheetnames)
    wb.close()
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| answers.csv | 9 |" in readme and "| roster.csv | 1 |" in readme and "| quarantine.csv | 1 |" in readme
    with (out / "codebook.csv").open(encoding="utf-8", newline="") as fh:
        codebook = list(csv.DictReader(fh))
    assert [c["question_id"] for c in codebook][:3] == ["", "", "ORG"] and any(
        c["question_id"] == "P01" for c in codebook
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_sheets_move_to_read_and_are_removed_after_the_days_kept(env, settings, sheet, tmp_path, db_url):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    sheet().write(inbox / "kommun-2026-Q1.csv", [good_row()])
    sheet().write(inbox / "kommun.csv", [good_row(email="b@x.se", timestamp="2025-11-02 10:00")])  # wave from time
    sheet("polis", extra_titles=["Okänd"]).write(inbox / "polis-2026-Q1.csv", [good_row()])  # held: stays
    assert bfs(env, "ingest").returncode == 1  # the held sheet
    assert sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*.csv")) == [
        "polis-2026-Q1.csv",
        "read/2025-Q4/kommun.csv",
        "read/2026-Q1/kommun-2026-Q1.csv",
    ]
    again = {
        Path(r["source"]).name: r["status"]
        for r in map(json.loads, bfs(env, "run", "nightly", "--json").stdout.splitlines())
    }
    assert again == {"polis-2026-Q1.csv": "unchanged", "kommun.csv": "unchanged", "kommun-2026-Q1.csv": "unchanged"}
    old = inbox / "read" / "2025-Q4" / "kommun.csv"
    days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).timestamp()
    os.utime(old, (days_ago, days_ago))
    removed = retention.prune(inbox, keep_days=30)
    assert [r["file"] for r in removed] == ["read/2025-Q4/kommun.csv"] and not old.exists()
    (entry,) = [json.loads(line) for line in (inbox / "read" / "removed.log").read_text(encoding="utf-8").splitlines()]
    assert len(entry["sha256"]) == 64 and entry["file"] == "read/2025-Q4/kommun.csv"
    assert (inbox / "read" / "2026-Q1" / "kommun-2026-Q1.csv").exists()
    assert retention.prune(inbox, keep_days=None) == []
    with pipeline.database(settings) as engine:
        assert store.status(engine).responses == 2  # removing a read sheet removes no answer


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_roster_name_with_a_line_break_stays_on_one_line_in_the_report(env, settings, sheet, tmp_path, db_url):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        'organisation,sektor,kommun\n"Tysta\nföreningen",ideburen,Ronneby\nOrg 0,kommun,Karlskrona\n', "utf-8"
    )
    assert bfs(env, "actors", "import", str(roster)).returncode == 0
    rows = [good_row(email=f"k{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    assert bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows))).returncode == 0
    listed = json.loads(bfs(env, "actors", "list", "--json").stdout)
    assert sorted(a["name"] for a in listed) == ["Org 0", "Tysta föreningen"]
    out = json.loads(bfs(env, "report", "--period", "2026-Q1", "--json", "--out", str(tmp_path / "r")).stdout)
    text_report = Path(out["files"]["text"]).read_text(encoding="utf-8")
    assert "Tysta föreningen" in text_report and "Tysta\n" not in text_report
