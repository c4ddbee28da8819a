"""The support log (#14): `bfs support import`, `list` and `template` through the real CLI, on SQLite and PostgreSQL.

The bad-row matrix (each bad value with its reason, a row with several, blanks, missing columns), importing again
(the same file, a changed row), the template's drop-downs opened with openpyxl, and the report's DataFrame.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.orm import Session

from bfs_pipeline.cli import cli
from bfs_pipeline.config import Settings
from bfs_pipeline.support import log
from bfs_pipeline.support.models import SupportEvent, SupportImport, SupportQuarantine
from bfs_pipeline.support.parse import parse_date
from bfs_pipeline.survey import Survey
from tests.conftest import migrated_to

HEADER = ["datum", "kommun", "mottagare", "sektor", "behov", "typ", "timmar", "deltagare"]
BLEKINGE = ["1060", "1080", "1081", "1082", "1083"]  # Olofström, Karlskrona, Ronneby, Karlshamn, Sölvesborg
GOOD = ["2026-03-14", "Karlskrona", "Brottsförebyggande rådet", "kommun", "B05", "metodstöd", "2,5", "8"]
COUNTS = ("accepted", "duplicates", "blank", "quarantined")


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def good(**over: str) -> list[str]:
    row = dict(zip(HEADER, GOOD, strict=True))
    row.update(over)
    return [row[h] for h in HEADER]


def bfs(settings: Settings, *args: str) -> Any:
    """`bfs support ...` with --json, its output parsed; the command must succeed."""
    result = CliRunner().invoke(cli, ["support", *args, "--json"], obj={"settings": settings})
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


def added_up(result: dict[str, Any]) -> bool:
    return bool(result["rows_seen"] == sum(result[k] for k in COUNTS))


def test_rows_in_every_accepted_form_are_stored_and_listed(settings: Settings, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stodlogg.csv",
        [
            good(),
            good(
                datum="14/3/2026", kommun="1080; Ronneby", mottagare="", sektor="POLISEN", behov="b5, B01", typ="Besök"
            ),
            good(datum="14.03.2026", kommun="Solvesborg", behov="Metodstöd", typ="natverkstraff", timmar="1"),
            good(datum="14 mars 2026", kommun="Hela länet", behov="B05 - Metodstöd", typ="Utbildning", timmar="3,0"),
            good(datum="2026-04-02", kommun="Blekinge län", behov="method support", typ="rådgivning", deltagare="0"),
            good(datum="3/14/2026", kommun="Olofströms kommun", behov="goda exempel från andra kommuner/aktörer"),
            good(
                datum="2026-06-30",
                kommun="Karlshamn, Karlskrona",
                behov="Behov av stöd: metodstöd (t.ex. samverkansprocessen, orsaksanalys, val av åtgärder); B09",
                typ="annat",
                timmar="0,5 h",
            ),
        ],
    )
    result = bfs(settings, "import", str(path))
    assert result["accepted"] == 7 and result["quarantined"] == 0 and added_up(result), result["quarantine"]
    listed = bfs(settings, "list")
    assert [set(e) for e in listed] == [
        {
            "id",
            "survey",
            "datum",
            "period",
            "municipalities",
            "county_wide",
            "mottagare",
            "sector",
            "needs",
            "typ",
            "hours",
            "participants",
            "source",
            "sheet_row",
        }
    ] * 7
    by_row = {e["sheet_row"]: e for e in listed}
    assert by_row[2] == {
        "id": by_row[2]["id"],
        "survey": "blekinge-behov",
        "datum": "2026-03-14",
        "period": "2026-Q1",
        "municipalities": ["1080"],
        "county_wide": False,
        "mottagare": "Brottsförebyggande rådet",
        "sector": "kommun",
        "needs": ["B05"],
        "typ": "metodstöd",
        "hours": 2.5,
        "participants": 8,
        "source": "stodlogg.csv",
        "sheet_row": 2,
    }
    assert by_row[3]["municipalities"] == ["1080", "1081"] and by_row[3]["sector"] == "polis"
    assert by_row[3]["needs"] == ["B01", "B05"] and by_row[3]["typ"] == "besök" and by_row[3]["mottagare"] is None
    assert by_row[3]["datum"] == "2026-03-14"
    assert (by_row[4]["datum"], by_row[4]["municipalities"], by_row[4]["typ"]) == (
        "2026-03-14",
        ["1083"],
        "nätverksträff",
    )
    assert by_row[5]["county_wide"] and by_row[5]["municipalities"] == BLEKINGE and by_row[5]["hours"] == 3.0
    assert by_row[6]["county_wide"] and by_row[6]["period"] == "2026-Q2" and by_row[6]["participants"] == 0
    assert (by_row[7]["datum"], by_row[7]["municipalities"], by_row[7]["needs"]) == ("2026-03-14", ["1060"], ["B01"])
    assert (by_row[8]["municipalities"], by_row[8]["needs"], by_row[8]["hours"]) == (
        ["1080", "1082"],
        ["B05", "B09"],
        0.5,
    )
    assert [e["sheet_row"] for e in bfs(settings, "list", "--period", "2026-q2")] == [6, 8]


# (column, value, rule): each alone makes a row quarantined with exactly this reason
BAD = [
    ("datum", "3/4/2026", "ambiguous_date"),
    ("datum", "2026-02-30", "unparseable_date"),
    ("datum", "igår", "unparseable_date"),
    ("datum", "14/3/26", "two_digit_year"),
    ("datum", "2099-01-01", "date_out_of_range"),
    ("datum", "", "required"),
    ("kommun", "Göteborg", "municipality_outside_county"),
    ("kommun", "Karlskrona, Atlantis", "unknown_municipality"),
    ("kommun", ";", "required"),
    ("sektor", "skola", "unknown_sector"),
    ("sektor", "", "required"),
    ("behov", "B10", "unknown_need"),
    ("behov", "B05 Utbildning av rådet", "need_code_label_mismatch"),
    ("behov", "", "required"),
    ("typ", "kurs", "unknown_kind"),
    ("timmar", "två", "not_a_number"),
    ("timmar", "-1", "negative"),
    ("timmar", "", "required"),
    ("deltagare", "2,5", "not_integer"),
    ("deltagare", "-3", "negative"),
    ("deltagare", "många", "not_a_number"),
]


def test_each_bad_value_is_quarantined_with_its_reason(settings: Settings, tmp_path: Path) -> None:
    rows = [good(**{column: value}) for column, value, _ in BAD]
    several = good(datum="2026-13-01", kommun="Malmö", sektor="?", behov="B00", typ="", timmar="x", deltagare="-1")
    path = write_csv(tmp_path / "stod.csv", [good(), *rows, ["", "", "", "", "", "", "", ""], several, []])
    result = bfs(settings, "import", str(path))
    assert (result["rows_seen"], result["accepted"], result["blank"], result["quarantined"]) == (25, 1, 2, 22)
    assert added_up(result)
    kept = {q["sheet_row"]: q for q in result["quarantine"]}
    for n, (column, value, rule) in enumerate(BAD, start=3):
        reasons = kept[n]["reasons"]
        assert [(r["column"], r["value"], r["rule"]) for r in reasons] == [(column, value, rule)], (n, reasons)
        assert reasons[0]["message"] and kept[n]["raw"][column] == value
    several_reasons = [(r["column"], r["value"], r["rule"]) for r in kept[3 + len(BAD) + 1]["reasons"]]
    assert several_reasons == [
        ("datum", "2026-13-01", "unparseable_date"),
        ("kommun", "Malmö", "municipality_outside_county"),
        ("sektor", "?", "unknown_sector"),
        ("behov", "B00", "unknown_need"),
        ("typ", "", "required"),
        ("timmar", "x", "not_a_number"),
        ("deltagare", "-1", "negative"),
    ]
    # the messages name what to do, in Swedish by default
    by_rule: dict[str, str] = {}
    for q in result["quarantine"]:
        for r in q["reasons"]:
            by_rule.setdefault(r["rule"], r["message"])
    assert by_rule["ambiguous_date"] == (
        "Datumet kan läsas på två sätt (2026-04-03 / 2026-03-04). Skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-03-14."
    )
    assert by_rule["municipality_outside_county"] == "Kommunen ligger utanför Blekinge län: Göteborg (1480)."
    assert by_rule["unknown_municipality"] == (
        "Okänd kommun: Atlantis. Skriv kommunens namn eller fyrsiffriga kod, eller Hela länet."
    )
    assert by_rule["negative"] == "Timmar kan inte vara negativt."
    # kept in the database with the import's counts
    engine = create_engine(settings.database_url)
    with Session(engine) as s:
        run = s.scalars(select(SupportImport)).one()
        assert (run.rows_seen, run.accepted, run.duplicates, run.blank, run.quarantined) == (25, 1, 0, 2, 22)
        assert s.scalar(select(func.count()).select_from(SupportQuarantine)) == 22
        assert s.scalar(select(func.count()).select_from(SupportEvent)) == 1
    engine.dispose()
    listed = bfs(settings, "quarantine", "--import", str(result["import_id"]))
    assert [q["sheet_row"] for q in listed] == sorted(kept) and listed[0]["source"] == "stod.csv"
    assert [q["reasons"] for q in listed] == [kept[n]["reasons"] for n in sorted(kept)]


def test_missing_columns_are_named_and_nothing_is_stored(
    env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    header = ["Datum", "Kommun", "Sektor", "Typ", "Timmar"]
    path = write_csv(tmp_path / "stod.csv", [["2026-03-14", "Karlskrona", "kommun", "besök", "1"]], header=header)
    proc = subprocess.run(
        [sys.executable, "-m", "bfs_pipeline", "support", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"bfs: {path} lacks the columns behov, deltagare (row 1); nothing was stored. The support log needs the "
        "columns datum, kommun, sektor, behov, typ, timmar, deltagare (mottagare optional): see `bfs support "
        "template`.\n"
    )
    assert bfs(settings, "list") == []


def test_titles_match_without_case_and_diacritics_and_semicolon_csv(settings: Settings, tmp_path: Path) -> None:
    header = ["DATUM", "Kommuner", "Mottagare", "Sektor", "BEHOV", "Typ", "Timmar", "Deltagare", "Kommentar"]
    path = write_csv(tmp_path / "stod.csv", [[*good(), "en egen anteckning"]], header=header, delimiter=";")
    result = bfs(settings, "import", str(path))
    assert (result["accepted"], result["ignored_columns"]) == (1, ["Kommentar"])
    header[1] = "kommün"  # a diacritic added: still the column
    path = write_csv(tmp_path / "stod2.csv", [good(datum="2026-03-15")], header=header[:8])
    assert bfs(settings, "import", str(path))["accepted"] == 1


def test_importing_again_is_idempotent_and_a_changed_row_is_new(settings: Settings, tmp_path: Path) -> None:
    rows = [good(), good(kommun="Ronneby"), good(kommun="Karlshamn", behov="B01"), good(datum="bad")]
    path = write_csv(tmp_path / "stodlogg.csv", rows)
    first = bfs(settings, "import", str(path))
    assert [first[k] for k in COUNTS] == [3, 0, 0, 1]
    again = bfs(settings, "import", str(path))
    assert [again[k] for k in COUNTS] == [0, 3, 0, 1] and added_up(again) and again["stale"] == 0
    # the same content written otherwise is the same event; a repeated row within the file is a duplicate
    same = [good(kommun="karlskrona kommun", mottagare="brottsförebyggande  RÅDET", timmar="2.5", behov="b05")]
    other = bfs(settings, "import", str(write_csv(tmp_path / "annan.csv", same + same)))
    assert [other[k] for k in COUNTS] == [0, 2, 0, 0]
    assert len(bfs(settings, "list")) == 3
    # one row changed: a new event; the old one is stale until --replace withdraws it
    rows[1] = good(kommun="Ronneby", timmar="4")
    write_csv(path, rows)
    changed = bfs(settings, "import", str(path))
    assert [changed[k] for k in COUNTS] == [1, 2, 0, 1] and changed["stale"] == 1 and changed["withdrawn"] == 0
    assert len(bfs(settings, "list")) == 4
    replaced = bfs(settings, "import", "--replace", str(path))
    assert [replaced[k] for k in COUNTS] == [0, 3, 0, 1] and replaced["withdrawn"] == 1
    ronneby = [e for e in bfs(settings, "list") if e["municipalities"] == ["1081"]]
    assert [e["hours"] for e in ronneby] == [4.0]


def test_text_output_prints_counts_and_reasons(settings: Settings, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "stodlogg.csv", [good(), good(typ="kurs", timmar="-2"), good()])
    result = CliRunner().invoke(cli, ["support", "import", str(path)], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "stodlogg.csv: 3 rows: 1 accepted, 1 duplicates, 0 blank, 1 quarantined (import 1)",
        "  row 3:",
        "    typ 'kurs': Okänd typ av stöd. Skriv en av: utbildning, nätverksträff, metodstöd, besök, rådgivning, "
        "annat.",
        "    timmar '-2': Timmar kan inte vara negativt.",
    ]
    listed = CliRunner().invoke(cli, ["support", "list"], obj={"settings": settings})
    assert listed.output == (
        "2026-03-14 2026-Q1  metodstöd        2.5 h    8 deltagare  1080  B05  kommun  Brottsförebyggande rådet\n"
    )


def test_template_has_drop_downs_and_round_trips(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "stodlogg.xlsx"
    written = bfs(settings, "template", "--out", str(out))
    assert written["lists"]["behov"] == "'Listor'!$B$2:$B$10"  # longer than Excel's 255 characters inline
    wb = openpyxl.load_workbook(out)
    ws = wb["Stödlogg"]
    assert [c.value for c in ws[1]] == HEADER
    assert ws["C2"].value == "EXEMPEL – ta bort raden" and ws["A2"].value == dt.datetime(2026, 3, 14)
    lists = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(lists) == {"B2:B1000", "D2:D1000", "E2:E1000", "F2:F1000", "G2:G1000", "H2:H1000"}
    assert lists["B2:B1000"].type == "list"
    assert lists["B2:B1000"].formula1 == '"Olofström,Karlskrona,Ronneby,Karlshamn,Sölvesborg,Hela länet"'
    assert lists["F2:F1000"].formula1 == '"utbildning,nätverksträff,metodstöd,besök,rådgivning,annat"'
    assert lists["F2:F1000"].errorStyle == "stop" and lists["B2:B1000"].errorStyle == "warning"
    assert lists["D2:D1000"].formula1 == ('"Kommun,Polisen,Statlig myndighet eller region,Näringsliv,Idéburen sektor"')
    assert lists["E2:E1000"].type == "list" and lists["E2:E1000"].formula1 == "'Listor'!$B$2:$B$10"
    assert (lists["G2:G1000"].type, lists["H2:H1000"].type) == ("decimal", "whole")
    needs = [c.value for c in wb["Listor"]["B"]]
    assert needs[0] == "behov" and len(needs) == 10
    assert needs[5] == "B05 Metodstöd" and needs[1] == "B01 Goda exempel från andra kommuner/aktörer"
    assert all(len(str(v)) <= 255 for v in needs)
    # filled in with the lists' own values, it imports; the example row left in is quarantined, never counted
    ws.append([dt.datetime(2026, 5, 4), "Hela länet", "", "Idéburen sektor", needs[5], "metodstöd", 1.5, 20])
    ws.append([dt.datetime(2026, 5, 5), "Sölvesborg", "", "Polisen", needs[1], "besök", 2, 3])
    wb.save(out)
    result = bfs(settings, "import", str(out))
    assert [result[k] for k in COUNTS] == [2, 0, 0, 1] and added_up(result)
    assert result["quarantine"][0]["reasons"][0]["rule"] == "example_row"
    events = bfs(settings, "list")
    assert [(e["datum"], e["county_wide"], e["sector"], e["needs"]) for e in events] == [
        ("2026-05-04", True, "ideburen", ["B05"]),
        ("2026-05-05", False, "polis", ["B01"]),
    ]
    # never overwritten without --force
    refused = CliRunner().invoke(cli, ["support", "template", "--out", str(out)], obj={"settings": settings})
    assert refused.exit_code != 0
    assert str(refused.exception) == f"{out} already exists. Use --force to overwrite it, or give another --out."
    assert bfs(settings, "template", "--out", str(out), "--force")["path"] == str(out)


def test_events_frame_for_the_report(settings: Settings, survey: Survey, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stod.csv",
        [
            good(kommun="Karlskrona, Ronneby", behov="B05, B01", timmar="4", deltagare="10"),
            good(datum="2026-04-10", kommun="hela länet", behov="B02", timmar="5"),
            good(datum="2025-12-01", kommun="Olofström", behov="B09", timmar="1"),
        ],
    )
    bfs(settings, "import", str(path))
    engine = create_engine(settings.database_url)
    frame = log.events(engine, survey, ["2026-Q1", "2026-Q2"])
    assert list(frame.columns) == log.EVENT_COLUMNS
    assert len(frame) == 2 * 2 + 5  # (event, municipality, need) rows; the 2025-Q4 event left out
    q1 = frame[frame.period == "2026-Q1"]
    assert sorted(zip(q1.municipality, q1.need, strict=True)) == [
        ("1080", "B01"),
        ("1080", "B05"),
        ("1081", "B01"),
        ("1081", "B05"),
    ]
    assert set(q1.weight) == {0.25} and set(q1.hours) == {4.0} and set(q1.participants) == {10}
    assert (frame.hours * frame.weight).sum() == pytest.approx(9.0)  # each event's hours counted once
    assert (frame.hours * frame.weight).groupby(frame.municipality).sum().to_dict() == pytest.approx(
        {"1060": 1.0, "1080": 3.0, "1081": 3.0, "1082": 1.0, "1083": 1.0}
    )
    assert frame.event_id.nunique() == 2 and frame[frame.period == "2026-Q2"].county_wide.all()
    assert isinstance(frame.datum.iloc[0], dt.date)
    empty = log.events(engine, "blekinge-behov", ["2020-Q1"])
    assert empty.empty and list(empty.columns) == log.EVENT_COLUMNS
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04", dt.date(2026, 3, 4)),
        ("2026-03-04 00:00:00", dt.date(2026, 3, 4)),
        ("20260304", dt.date(2026, 3, 4)),
        ("4.3.2026", dt.date(2026, 3, 4)),
        ("13/3/2026", dt.date(2026, 3, 13)),
        ("3/13/2026", dt.date(2026, 3, 13)),
        ("4/4/2026", dt.date(2026, 4, 4)),
        ("4 mars 2026", dt.date(2026, 3, 4)),
        ("4 okt. 2026", dt.date(2026, 10, 4)),
        ("46085", dt.date(2026, 3, 4)),  # an Excel serial number
        ("3/4/2026", "ambiguous_date"),
        ("4 smarch 2026", "unparseable_date"),
        ("1999-12-31", "date_out_of_range"),
        ("2026-11-27", "date_out_of_range"),
    ],
)
def test_dates(text: str, expected: dt.date | str) -> None:
    day, rule, _ = parse_date(text, today=dt.date(2026, 11, 26))
    assert (day if rule is None else rule) == expected


def test_migration_0015_goes_down_and_up_again(engine: Engine) -> None:
    with migrated_to(engine, "0014", down=True) as conn:
        assert not {"support_imports", "support_events", "support_quarantine"} & set(inspect(conn).get_table_names())
    with migrated_to(engine, "0015") as conn:
        assert {"support_imports", "support_events", "support_quarantine"} <= set(inspect(conn).get_table_names())
