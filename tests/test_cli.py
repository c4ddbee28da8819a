"""The command-line contracts of DESIGN.md, driven as a user or a script would: the real `bfs` program."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bfs_pipeline.cli import cli
from tests.conftest import good_row

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def commands(group=cli, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", [(), *commands()], ids=lambda p: " ".join(p) or "bfs")
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"], obj={})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_every_command_in_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [" ".join(p) for p in commands() if f"bfs {' '.join(p)}" not in readme]
    assert missing == []


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_ingest_json_counts_add_up_and_reingest_stores_nothing(env, sheet, tmp_path):
    rows = [
        good_row(),
        good_row(),
        {},
        good_row(email="x@x.se", C01="Kalmar"),
        good_row(email="y@x.se", B01="9"),
        good_row(email="z@x.se", K04="abc"),
    ]
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)
    first = [json.loads(line) for line in bfs(env, "ingest", "--file", str(path), "--json").stdout.splitlines()]
    second = [json.loads(line) for line in bfs(env, "ingest", "--file", str(path), "--json").stdout.splitlines()]
    for runs in (first, second):
        (r,) = runs
        assert {"run_id", "source", "rows_seen", "accepted", "duplicates", "blank", "quarantined"} <= set(r)
        assert r["rows_seen"] == r["accepted"] + r["duplicates"] + r["blank"] + r["quarantined"] == 6
    assert (first[0]["accepted"], first[0]["duplicates"], first[0]["blank"], first[0]["quarantined"]) == (3, 1, 1, 1)
    assert (second[0]["accepted"], second[0]["duplicates"]) == (0, 4)
    assert (first[0]["set_aside"], second[0]["set_aside"]) == (1, 0)  # K04 "abc" set aside, its row accepted
    status = json.loads(bfs(env, "status", "--json").stdout)
    assert status["responses"] == 3 and status["waves"] == ["2026-Q1"] and status["quarantined"] == 1
    assert status["set_aside"] == 1
    assert "outbox" in status

    q = json.loads(bfs(env, "quarantine", "list", "--json").stdout)
    assert [(r["kind"], r["sheet_row"], [x["rule"] for x in r["reasons"]]) for r in q] == [
        ("answer", 7, ["not_a_number"]),  # set aside by the first run; the second found its row a duplicate
        ("row", 5, ["municipality_outside_county"]),
    ]
    for r in q:
        assert r["run_id"] == (first if r["kind"] == "answer" else second)[0]["run_id"] and r["source"] == str(path)
        for reason in r["reasons"]:
            assert set(reason) == {"column", "value", "rule", "message"}
    only_first = json.loads(bfs(env, "quarantine", "list", "--run", str(first[0]["run_id"]), "--json").stdout)
    assert [(r["kind"], r["sheet_row"]) for r in only_first] == [("row", 5), ("answer", 7)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_inbox_ingest_and_held_header(env, sheet, home):
    inbox = home / "inbox"
    inbox.mkdir()
    sheet().write(inbox / "kommun-2026-Q1.csv", [good_row()])
    sheet("polis", extra_titles=["Okänd fråga"]).write(inbox / "polis-2026-Q1.csv", [good_row()])
    proc = bfs(env, "ingest", "--json", ok=False)
    assert proc.returncode == 1
    runs = {Path(r["source"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert runs["kommun-2026-Q1.csv"]["accepted"] == 1
    assert runs["polis-2026-Q1.csv"]["status"] == "held" and runs["polis-2026-Q1.csv"]["accepted"] == 0
    (line,) = proc.stderr.strip().splitlines()
    assert 'no column "Okänd fråga"' in line and "Traceback" not in proc.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("ingest", "--file", "/nonexistent/kommun.csv"),
            "bfs: /nonexistent/kommun.csv does not exist. Check the path given with --file.",
        ),
        (
            ("ingest", "--file", "x.csv", "--sector", "skola"),
            (
                "bfs: Survey \"blekinge-behov\" has no sector 'skola'; "
                "its sectors are kommun, polis, myndighet, naringsliv, ideburen."
            ),
        ),
        (("report", "--period", "2026-Q5"), "bfs: '2026-Q5' is not a wave: write it as YYYY-Qn, for example 2026-Q1."),
        (("survey", "codebook", "nope"), "bfs: No survey 'nope'; the surveys are blekinge-behov (bfs survey list)."),
    ],
)
def test_errors_are_one_line_without_traceback(env, args, message):
    proc = bfs(env, *args, ok=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == message


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_without_answers_is_one_line(env, engine, db_url):
    """With a database but no answers the report says so; without a database it says where it looked."""
    proc = bfs(env, "report", "--period", "2026-Q1", ok=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "bfs: No answers for 2026-Q1: no answers are stored yet (bfs ingest)."
    missing = db_url.replace("bfs.sqlite3", "elsewhere.sqlite3")
    proc = bfs({**env, "BFS_DATABASE_URL": missing}, "report", "--period", "2026-Q1", ok=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"bfs: No database at {missing.removeprefix('sqlite:///')}:")


def test_bad_setting_is_one_line(env):
    proc = bfs({**env, "BFS_SMTP_PORT": "tjugofem"}, "status", ok=False)
    assert (
        proc.returncode == 1
        and proc.stderr.strip()
        == "bfs: BFS_SMTP_PORT='tjugofem' is not a whole number: use for example BFS_SMTP_PORT=587."
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_survey_list_codebook_template(env, tmp_path):
    (s,) = json.loads(bfs(env, "survey", "list", "--json").stdout)
    assert (
        s["id"] == "blekinge-behov"
        and s["sectors"] == ["kommun", "polis", "myndighet", "naringsliv", "ideburen"]
        and s["title"]
    )
    cols = json.loads(bfs(env, "survey", "codebook", "blekinge-behov", "--sector", "kommun", "--json").stdout)
    assert cols[0] == {"title": "Tidstämpel", "question_id": None, "type": "timestamp", "required": True}
    assert cols[1]["type"] == "email" and cols[1]["required"] is False
    by_id = {c["question_id"]: c for c in cols}
    assert by_id["ORG"]["type"] == "organisation"
    assert (
        by_id["C01"]["type"] == "municipalities" and {"code": "1080", "label": "Karlskrona"} in by_id["C01"]["choices"]
    )
    assert (
        by_id["B01"]["type"] == "likert"
        and by_id["B01"]["required"]
        and {"code": "4", "label": "Stort behov"} in by_id["B01"]["choices"]
    )
    assert (by_id["K04"]["type"], by_id["K04"]["min"], by_id["K04"]["max"]) == ("number", 0, 50)
    assert by_id["K07"]["type"] == "integer"
    assert "P01" not in by_id
    every = json.loads(bfs(env, "survey", "codebook", "blekinge-behov", "--json").stdout)
    assert [c["type"] for c in every[:4]] == ["timestamp", "email", "organisation", "sector"]

    bfs(env, "survey", "template", "blekinge-behov", "--sector", "kommun", "--out", str(tmp_path / "t.xlsx"))
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [c.value for c in ws[1]] == [c["title"] for c in cols] and ws.max_row == 1
    bfs(env, "survey", "template", "blekinge-behov", "--sector", "polis", "--out", str(tmp_path / "t.csv"))
    with (tmp_path / "t.csv").open(encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    polis = json.loads(bfs(env, "survey", "codebook", "blekinge-behov", "--sector", "polis", "--json").stdout)
    assert header == [c["title"] for c in polis]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_template_round_trip_ingests(env, tmp_path, survey):
    """An answer sheet filled in from the template goes in as it is."""
    bfs(
        env,
        "survey",
        "template",
        "blekinge-behov",
        "--sector",
        "kommun",
        "--out",
        str(tmp_path / "kommun-2026-Q1.xlsx"),
    )
    wb = openpyxl.load_workbook(tmp_path / "kommun-2026-Q1.xlsx")
    ws = wb.active
    row = good_row()
    ws.append([row.get(c.question_id or c.type, "") for c in survey.columns("kommun")])
    wb.save(tmp_path / "kommun-2026-Q1.xlsx")
    (r,) = map(
        json.loads, bfs(env, "ingest", "--file", str(tmp_path / "kommun-2026-Q1.xlsx"), "--json").stdout.splitlines()
    )
    assert r["accepted"] == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_json(env, sheet, tmp_path, home):
    rows = [good_row(email=f"r{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)))
    out = json.loads(bfs(env, "report", "--period", "2026-Q1", "--out", str(tmp_path / "preview"), "--json").stdout)
    assert Path(out["files"]["html"]).is_file() and Path(out["files"]["text"]).is_file()
    assert isinstance(out["summary"], list) and out["summary"] and isinstance(out["alerts"], list)
    assert out["deliveries"] == []
    sent = json.loads(bfs(env, "report", "--period", "2026-Q1", "--send", "--json").stdout)
    (d,) = sent["deliveries"]
    assert d["state"] == "written" and Path(d["path"]).parent == home / "outbox"
    en = json.loads(bfs(env, "report", "--period", "2026-Q1", "--lang", "en", "--json").stdout)
    assert en["subject"] == "Needs report Blekinge län 2026-Q1"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_actors_import_list_and_coverage_in_report(env, sheet, tmp_path):
    roster = tmp_path / "aktorer.csv"
    roster.write_text(
        (
            "organisation,sektor,kommun,kontakt\n"
            "Karlskrona kommun,kommun,Karlskrona,info@karlskrona.se\n"
            "Tysta IF,Idéburen sektor,1080;Ronneby,\n"
        ),
        encoding="utf-8",
    )
    assert (
        bfs(env, "actors", "import", str(roster)).stdout.strip() == "Roster aktorer.csv: 2 added, 0 updated, "
        "0 inactive (aktiv = nej, or no longer in the file: kept, never deleted)."
    )
    listed = json.loads(bfs(env, "actors", "list", "--json").stdout)
    assert [(a["name"], a["sector"], a["municipalities"]) for a in listed] == [
        ("Tysta IF", "ideburen", ["1080", "1081"]),
        ("Karlskrona kommun", "kommun", ["1080"]),
    ]
    assert {a["county"] for a in listed} == {"10"}
    assert json.loads(bfs(env, "actors", "list", "--survey", "blekinge-behov", "--json").stdout) == listed
    rows = [good_row(email=f"r{i}@x.se") for i in range(5)]
    bfs(env, "ingest", "--file", str(sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)))
    out = json.loads(bfs(env, "report", "--period", "2026-Q1", "--out", str(tmp_path / "p"), "--json").stdout)
    assert {"html", "text", "xlsx"} <= set(out["files"]) and any(k.startswith("chart:") for k in out["files"])
    text = Path(out["files"]["text"]).read_text(encoding="utf-8")
    assert "Har inte svarat: Tysta IF" in text
    bad = tmp_path / "bad.csv"
    bad.write_text("organisation,sektor,kommun\nX,kommun,Kalmar\n", encoding="utf-8")
    proc = bfs(env, "actors", "import", str(bad), ok=False)
    assert proc.returncode == 1 and proc.stderr.startswith(
        f"bfs: {bad} row 2: municipality 'Kalmar' is not in the survey's county"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_outbox_list_and_sources_check(env, sheet, tmp_path, home):
    rows = [good_row(email=f"r{i}@x.se") for i in range(5)]
    sheet().write(home / "inbox" / "kommun-2026-Q1.csv" if (home / "inbox").mkdir() is None else tmp_path, rows)
    checked = json.loads(bfs(env, "sources", "check", "--json").stdout)
    assert [(Path(c["source"]).name, c["ok"], c["rows"]) for c in checked] == [("kommun-2026-Q1.csv", True, 5)]
    bfs(env, "ingest")
    bfs(env, "report", "--period", "2026-Q1", "--send")
    (row,) = json.loads(bfs(env, "outbox", "list", "--json").stdout)
    assert row["state"] == "written" and row["period"] == "2026-Q1" and row["attempts"] == 1
    proc = bfs(env, "outbox", "resend", str(row["id"]), ok=False)
    assert (
        proc.stderr.strip()
        == f"bfs: Outbox message {row['id']} is written: only uncertain or failed messages are sent again."
    )


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_nightly_and_quarterly_once_through_prefect_on_a_fresh_home(env, sheet, home):
    """What an operator types after fixing a sheet: the real flows once, now, on Prefect's temporary server."""
    env = {k: v for k, v in env.items() if not k.startswith("PREFECT_API")}
    (home / "inbox").mkdir()
    sheet().write(
        home / "inbox" / "kommun-2026-Q1.csv", [good_row(email=f"k{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    )
    sheet().write(home / "inbox" / "polis-2026-Q1.csv", [good_row(), {}])  # a kommun form named polis: held
    first = bfs(env, "run", "nightly", "--json", ok=False)
    # bfs's own error line; Prefect's temporary server may log its shutdown after it
    said = [line for line in first.stderr.splitlines() if line.startswith("bfs:")]
    assert first.returncode == 1 and said and "belongs to the kommun module, not to polis" in said[-1]
    lines = {Path(r["source"]).name: r for r in map(json.loads, first.stdout.splitlines())}
    k = lines["kommun-2026-Q1.csv"]
    assert (k["survey"], k["status"], k["accepted"], k["rows_seen"]) == ("blekinge-behov", "ok", 6, 6)
    assert {"run_id", "duplicates", "blank", "quarantined", "error"} <= set(k)
    assert lines["polis-2026-Q1.csv"]["status"] == "held"
    (home / "inbox" / "polis-2026-Q1.csv").unlink()
    again = bfs(env, "run", "nightly")
    assert again.stdout.split()[0] == "unchanged" and "kommun-2026-Q1.csv" in again.stdout
    out = json.loads(bfs(env, "run", "quarterly", "--period", "2026-Q1", "--send", "--json").stdout)
    assert Path(out["files"]["html"]).is_file() and out["reports"][0]["survey"] == "blekinge-behov" and out["summary"]
    assert [d["state"] for d in out["deliveries"]] == ["written"]
