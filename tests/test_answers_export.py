"""bfs answers export: the wave's current answers as XLSX for the coordinator, free text only when asked, no e-mail
addresses, every export logged (#13). SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import pipeline
from bfs_pipeline.config import Settings
from bfs_pipeline.models import PrivacyAction, Response
from bfs_pipeline.records.answers_export import AnswerExport, AnswersExportError, export_answers
from bfs_pipeline.sources import SheetHints
from bfs_pipeline.survey import Survey
from tests.conftest import good_row

BFS = [sys.executable, "-m", "bfs_pipeline"]
SECRET = "Vi behöver hjälp med Norra stationsområdet"
ADDRESSES = ("samordnare@karlskrona.example.se", "strateg@ronneby.example.se", "lpo@polisen.example.se")


def ingest(settings: Settings, path: Path, sector: str, wave: str) -> None:
    (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(sector=sector, wave=wave))
    assert res.quarantined == 0, res


@pytest.fixture
def stored(settings: Settings, sheet: Any, tmp_path: Path) -> Settings:
    """2026-Q1: Karlskrona answers twice (the second counts), Ronneby once with free text, one police officer."""
    first = sheet().write(tmp_path / "kommun-a.csv", [good_row(B01="2")])
    ingest(settings, first, "kommun", "2026-Q1")
    rows = [
        good_row(timestamp="2026-03-15 09:00:00", B01="4", K04="1,5", K05="Folkhälsa/ANDTS, Annat"),
        good_row(email=ADDRESSES[1], ORG="Ronneby kommun", C01="Ronneby", B02="9", C05=SECRET),
    ]
    ingest(settings, sheet().write(tmp_path / "kommun-b.csv", rows), "kommun", "2026-Q1")
    polis = good_row(email=ADDRESSES[2], ORG="Polisen LPO Karlskrona", C02="", P03="5", P11="Mer tid")
    ingest(settings, sheet("polis").write(tmp_path / "polis.csv", [polis]), "polis", "2026-Q1")
    return settings


def cells(path: Path) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def as_dicts(table: list[list[Any]]) -> list[dict[str, Any]]:
    header = [str(h) for h in table[0]]
    return [dict(zip(header, row, strict=True)) for row in table[1:]]


def every_text(path: Path) -> str:
    return "\n".join(str(v) for t in cells(path).values() for row in t for v in row if v is not None)


def export(settings: Settings, survey: Survey, out: Path, **kw: Any) -> Any:
    with pipeline.database(settings) as engine:
        return export_answers(engine, survey, "2026-Q1", out, **kw)


def hashes(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [h for h in s.scalars(select(Response.email_hash)) if h]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_current_answers_with_codes_and_labels_and_no_free_text(
    stored: Settings, survey: Survey, tmp_path: Path
) -> None:
    out = tmp_path / "svar.xlsx"
    done = export(stored, survey, out)
    book = cells(out)
    assert list(book) == ["Svar", "Frågor", "Teckenförklaring"]
    rows = as_dicts(book["Svar"])
    assert done.rows == len(rows) == 3  # Karlskrona's older version left out
    by_org = {r["Organisation"]: r for r in rows}
    karlskrona = by_org["Karlskrona kommun"]
    assert (karlskrona["B01"], karlskrona["B01 (text)"]) == (4, "Stort behov")
    assert (karlskrona["Kommuner"], karlskrona["Kommuner (namn)"]) == ("1080", "Karlskrona")
    assert (karlskrona["Sektor"], karlskrona["Sektor (text)"], karlskrona["Våg"]) == ("kommun", "Kommun", "2026-Q1")
    assert karlskrona["K04"] == 1.5
    assert (karlskrona["K05"], karlskrona["K05 (text)"]) == ("2; 6", "Folkhälsa/ANDTS; Annat")
    assert str(karlskrona["Inskickat"]) == "2026-03-15 09:00:00"  # the survey's time zone, as submitted
    ronneby = by_org["Ronneby kommun"]
    assert (ronneby["B02"], ronneby["B02 (text)"]) == (9, "Vet ej")
    assert by_org["Polisen LPO Karlskrona"]["P03 (text)"] == "Instämmer helt"
    # free text: no column, and the words nowhere in the file
    header = book["Svar"][0]
    assert not {"C05", "K16", "P11", "M10", "N10", "I11"} & set(header)
    text = every_text(out)
    assert SECRET not in text and "Mer tid" not in text
    questions = {r["Fråga"]: r for r in as_dicts(book["Frågor"])}
    assert questions["B01"]["Används i"] == "needs" and questions["K01"]["Årlig"] == "ja" and "C05" not in questions


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_free_text_only_with_the_flag(stored: Settings, survey: Survey, tmp_path: Path) -> None:
    export(stored, survey, tmp_path / "with.xlsx", free_text=True)
    rows = {r["Organisation"]: r for r in as_dicts(cells(tmp_path / "with.xlsx")["Svar"])}
    assert rows["Ronneby kommun"]["C05"] == SECRET and rows["Polisen LPO Karlskrona"]["P11"] == "Mer tid"
    assert rows["Karlskrona kommun"]["C05"] is None


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("free_text", [False, True])
def test_no_email_address_nor_its_hash(stored: Settings, survey: Survey, tmp_path: Path, free_text: bool) -> None:
    out = tmp_path / "svar.xlsx"
    export(stored, survey, out, free_text=free_text)
    text = every_text(out)
    with pipeline.database(stored) as engine:
        digests = hashes(engine)
    assert len(digests) == 4  # the control: the answers were stored with their hashes
    assert not [a for a in ADDRESSES if a in text] and not [d for d in digests if d in text]
    answers = "\n".join(str(v) for row in cells(out)["Svar"] for v in row if v is not None)
    assert "@" not in answers and "hmac" not in answers


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_each_export_is_logged_who_when_what(stored: Settings, survey: Survey, tmp_path: Path) -> None:
    out = tmp_path / "svar.xlsx"
    first = export(stored, survey, out)
    second = export(stored, survey, out, free_text=True, force=True)
    with pipeline.database(stored) as engine, Session(engine) as s:
        logs = list(s.scalars(select(AnswerExport).order_by(AnswerExport.id)))
        actions = list(s.scalars(select(PrivacyAction).order_by(PrivacyAction.id)))
    assert [(e.survey_id, e.wave, e.free_text, e.rows) for e in logs] == [
        ("blekinge-behov", "2026-Q1", False, 3),
        ("blekinge-behov", "2026-Q1", True, 3),
    ]
    assert all(e.os_user == getpass.getuser() and e.host == socket.gethostname() for e in logs)
    assert logs[1].sha256 == hashlib.sha256(out.read_bytes()).hexdigest() == second.sha256 != first.sha256
    assert logs[0].path == str(out.resolve()) and logs[0].at <= logs[1].at
    assert [(a.action, a.responses, a.decision) for a in actions] == [("answers_export", 3, None)] * 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refusals_log_nothing(stored: Settings, survey: Survey, tmp_path: Path) -> None:
    out = tmp_path / "svar.xlsx"
    with pytest.raises(AnswersExportError, match=r"must end in \.xlsx"):
        export(stored, survey, tmp_path / "svar.csv")
    with pipeline.database(stored) as engine, pytest.raises(AnswersExportError, match="No answers are stored"):
        export_answers(engine, survey, "2025-Q4", out)
    out.write_bytes(b"the coordinator's own file")
    with pytest.raises(AnswersExportError, match=r"exists already.*--force"):
        export(stored, survey, out)
    assert out.read_bytes() == b"the coordinator's own file"
    with pipeline.database(stored) as engine, Session(engine) as s:
        assert s.scalars(select(AnswerExport)).all() == [] and s.scalars(select(PrivacyAction)).all() == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_command_and_its_log(stored: Settings, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ut" / "svar-2026-Q1.xlsx"

    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=120)

    proc = bfs("answers", "export", "--period", "2026-q1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote {out}: 3 answer(s) of blekinge-behov 2026-Q1, without free text" in proc.stdout
    again = bfs("answers", "export", "--period", "2026-Q1", "--out", str(out))
    assert again.returncode == 1 and again.stderr.startswith("bfs: ") and "--force" in again.stderr
    wrong = bfs("answers", "export", "--period", "2026-Q3", "--out", str(tmp_path / "x.xlsx"))
    assert wrong.returncode == 1 and "No answers are stored" in wrong.stderr
    proc = bfs("answers", "export", "--period", "2026-Q1", "--out", str(out), "--force", "--free-text", "--json")
    done = json.loads(proc.stdout)
    assert (
        done["rows"] == 3
        and done["free_text"] is True
        and done["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    )
    log = json.loads(bfs("answers", "log", "--json").stdout)
    assert [(e["free_text"], e["rows"], e["by"]) for e in log] == [
        (False, 3, f"{getpass.getuser()}@{socket.gethostname()}"),
        (True, 3, f"{getpass.getuser()}@{socket.gethostname()}"),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_quarterly_wave_has_no_yearly_columns_but_those_a_sheet_still_answered(
    settings: Settings, sheet: Any, survey: Survey, tmp_path: Path
) -> None:
    rows = [
        good_row(timestamp="2026-05-14 10:00:00", K01="Under framtagande"),  # an old template, K01 filled in
        good_row(timestamp="2026-05-14 11:00:00", email=ADDRESSES[1], ORG="Ronneby kommun", C01="Ronneby"),
    ]
    ingest(settings, sheet(wave="2026-Q2").write(tmp_path / "kommun-q2.csv", rows), "kommun", "2026-Q2")
    with pipeline.database(settings) as engine:
        export_answers(engine, survey, "2026-Q2", tmp_path / "q2.xlsx")
    header = cells(tmp_path / "q2.xlsx")["Svar"][0]
    assert {"K01", "K01 (text)", "K04", "K07", "B01"} <= set(header)
    yearly = {q.id for q in survey.questions("kommun") if q.yearly}
    assert yearly & set(header) == {"K01"}  # K02, K03, K05, ... asked in Q1 only, answered by none here
    by_org = {r["Organisation"]: r for r in as_dicts(cells(tmp_path / "q2.xlsx")["Svar"])}
    assert by_org["Karlskrona kommun"]["K01 (text)"] == "Under framtagande" and by_org["Ronneby kommun"]["K01"] is None
