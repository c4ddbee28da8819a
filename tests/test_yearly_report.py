"""The yearly roll-up (`bfs report --year`, #14): through the real CLI on SQLite and PostgreSQL, real templates.

Planted data: four quarters of 2025, municipalities whose share of high answers is set per quarter, a population
table for 2025 and a support log imported with `bfs support import`; every figure below is worked out by hand.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bfs_pipeline.cli import cli
from bfs_pipeline.config import Settings
from tests.conftest import Sheet

YEAR = "2025"
QUARTERS = [f"{YEAR}-Q{q}" for q in range(1, 5)]
MONTH = {1: "02", 2: "05", 3: "08", 4: "11"}
NEEDS = [f"B0{i}" for i in range(1, 10)]
STEPS = ["K12a", "K12b", "K12c", "K12d", "K12e"]
NAMES = {"1080": "Karlskrona", "1081": "Ronneby", "1082": "Karlshamn"}
POPULATION = {"1060": 13_000, "1080": 80_000, "1081": 25_000, "1082": 32_000, "1083": 17_000}
BFS = [sys.executable, "-m", "bfs_pipeline"]

# Per municipality: respondents per quarter and how many of them answer 5 to every need (the rest 1).
MAIN = {"1080": [(6, 1), (6, 2), (6, 3), (6, 4)], "1081": [(6, 6), (6, 5), (6, 4), (6, 3)], "1082": [(6, 0)] * 4}
FTE = {"1080": ["2", "2", "1,5", "1,5"], "1081": ["1", "1", "1", "1"]}
LAW = {"1080": ("1", "1", "1"), "1081": ("1", "3", "1")}  # Q1 only (yearly questions): Ronneby's plan being made
MATURE = {"1080": 3, "1081": 0}  # respondents answering 5 to every step (the rest 2), each quarter

SUPPORT = [  # datum, kommun, behov, typ, timmar, deltagare
    ("2025-02-10", "Karlskrona", "B05", "metodstöd", "3", "5"),
    ("2025-05-12", "Karlskrona, Ronneby", "B01, B05", "utbildning", "4", "20"),
    ("2025-08-20", "Hela länet", "B02", "nätverksträff", "10", "30"),
    ("2025-11-03", "Ronneby", "B05", "besök", "1,5", "2"),
    ("2026-01-15", "Ronneby", "B05", "metodstöd", "9", "4"),  # another year: not counted
    ("2024-12-01", "Karlskrona", "B03", "rådgivning", "2", "1"),  # another year: not counted
]


def invoke(settings: Settings, *args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), obj={"settings": settings})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def rows_for(code: str, q: int, n: int, high: int, main: bool) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        row = {
            "timestamp": f"{YEAR}-{MONTH[q]}-14 10:{i:02d}:00",
            "email": f"r{i}@{code}.example.se",
            "ORG": f"{NAMES[code]} organisation {i}",
            "C01": code,
            "C02": "2",
            **{b: "5" if i < high else "1" for b in NEEDS},
        }
        if main and i == 0 and code in FTE:
            row["K04"] = FTE[code][q - 1]
            if q == 1:
                row.update(dict(zip(("K01", "K02", "K03"), LAW[code], strict=True)))
        if main:
            row.update({k: "5" if i < MATURE.get(code, 0) else "2" for k in STEPS})
        rows.append(row)
    return rows


def plant(
    settings: Settings, survey: Any, tmp_path: Path, plan: dict[str, list[tuple[int, int]]], main: bool = True
) -> None:
    """Ingest the plan's answers quarter by quarter, the population of 2025 and the support log."""
    for q, wave in enumerate(QUARTERS, start=1):
        rows = [r for code, qs in plan.items() for r in rows_for(code, q, *qs[q - 1], main=main)]
        path = Sheet(survey, "kommun", wave=wave).write(tmp_path / f"kommun-{wave}.csv", rows)
        out = json.loads(invoke(settings, "ingest", "--file", str(path), "--sector", "kommun", "--json"))
        assert out["accepted"] == len(rows), out
    pop = tmp_path / "folkmangd.csv"
    pop.write_text("kommunkod;folkmängd;år\n" + "".join(f"{c};{n};2025\n" for c, n in POPULATION.items()), "utf-8")
    invoke(settings, "reference", "population", "import", str(pop))
    log = tmp_path / "stodlogg.csv"
    with log.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["datum", "kommun", "mottagare", "sektor", "behov", "typ", "timmar", "deltagare"])
        for datum, kommun, behov, typ, timmar, deltagare in SUPPORT:
            w.writerow([datum, kommun, "", "kommun", behov, typ, timmar, deltagare])
    out = json.loads(invoke(settings, "support", "import", str(log), "--json"))
    assert out["accepted"] == len(SUPPORT), out["quarantine"]


def report(settings: Settings, *extra: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(invoke(settings, "report", "--year", YEAR, "--json", *extra))
    return out


def municipality(out: dict[str, Any], code: str) -> dict[str, Any]:
    return next(m for m in out["municipalities"] if m["code"] == code)


def sheets(path: str) -> dict[str, list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_the_years_figures_as_worked_out_by_hand(settings, survey, tmp_path):
    plant(settings, survey, tmp_path, MAIN)
    out = report(settings)
    assert out["year"] == 2025 and out["quarters"] == QUARTERS
    assert out["files"]["html"] == str(settings.home / "reports" / YEAR / "arsrapport-10-2025.sv.html")
    assert {Path(p).name for p in out["files"].values()} == {
        f"arsrapport-10-2025.sv.{e}" for e in ("html", "txt", "xlsx")
    }
    assert out["population_year"] == "2025"
    kk, rb = municipality(out, "1080"), municipality(out, "1081")
    assert [m["code"] for m in out["municipalities"]][:2] == ["1081", "1080"]  # the year's greatest need first
    # need index: the share of 4-5 over all need answers; 1, 2, 3, 4 of 6 answer 5 to all nine needs
    assert [q["need_index"] for q in kk["quarters"]] == [
        {"value": round(k / 6, 4), "n": 6, "suppressed": False} for k in (1, 2, 3, 4)
    ]
    assert [q["need_index"]["value"] for q in rb["quarters"]] == [round(k / 6, 4) for k in (6, 5, 4, 3)]
    # the year: the mean of the quarters shown
    assert kk["year"]["need_index"] == {"value": round(10 / 24, 4), "quarters": 4, "suppressed": False}
    assert rb["year"]["need_index"] == {"value": 0.75, "quarters": 4, "suppressed": False}
    assert municipality(out, "1082")["year"]["need_index"]["value"] == 0.0
    assert out["county_need_index"]["year"] == {"value": round(7 / 18, 4), "quarters": 4, "suppressed": False}
    # capacity: K04 as stated, per 10 000 inhabitants of 2025
    assert [q["fte"] for q in kk["quarters"]] == [2.0, 2.0, 1.5, 1.5]
    assert [q["fte_per_10k"] for q in kk["quarters"]] == [0.25, 0.25, 0.1875, 0.1875]
    assert [q["fte_per_10k"] for q in rb["quarters"]] == [0.4] * 4
    # the law floor: reported in Q1, carried through the year; Ronneby's action plan is being made
    assert kk["quarters"][3]["meets_all"] is True and rb["quarters"][3]["meets_all"] is False
    assert rb["quarters"][3]["law"]["atgardsplan"] == {"code": "3", "met": False, "wave": "2025-Q1"}
    assert out["law"] == {
        "meet_all": 1,
        "total": 5,
        "unknown": 3,
        "by_quarter": dict.fromkeys(QUARTERS, 1),
        "year_before": {"wave": "2024-Q4", "meet_all": 0},
    }
    # maturity: 3 of 6 answer 5 to every step in Karlskrona, nobody in Ronneby
    assert [q["maturity"]["value"] for q in kk["quarters"]] == [0.5] * 4
    assert [q["maturity"]["value"] for q in rb["quarters"]] == [0.0] * 4
    # support: events counted once, hours shared between municipalities (the county-wide 10 h: 2 h each);
    # shares over the three municipalities shown (Karlshamn: no need, 2 h of the county-wide event)
    assert kk["support"] == {
        "events": 3,
        "hours": 7.0,
        "events_per_10k": 0.375,
        "hours_per_10k": 0.875,
        "share_of_hours": round(7 / 14.5, 4),
        "share_of_need": round((10 / 24) / (10 / 24 + 0.75), 4),
    }
    assert rb["support"]["events"] == 3 and rb["support"]["hours"] == 5.5 and rb["support"]["hours_per_10k"] == 2.2
    assert out["support"]["events"] == 4 and out["support"]["hours"] == 18.5
    assert out["support"]["greatest_need"] == {
        "code": "1081",
        "name": "Ronneby",
        "need_index": 0.75,
        "share_of_need": round(0.75 / (10 / 24 + 0.75), 4),
        "share_of_hours": round(5.5 / 14.5, 4),
    }
    assert out["support"]["by_type"] == [
        {"kind": "besök", "need": "B05", "events": 1, "hours": 1.5},
        {"kind": "metodstöd", "need": "B05", "events": 1, "hours": 3.0},
        {"kind": "nätverksträff", "need": "B02", "events": 1, "hours": 10.0},
        {"kind": "utbildning", "need": "B01", "events": 1, "hours": 2.0},
        {"kind": "utbildning", "need": "B05", "events": 1, "hours": 2.0},
    ]
    html = Path(out["files"]["html"]).read_text("utf-8")
    assert "Årsrapport Blekinge län 2025" in html and 'lang="sv"' in html
    assert (
        "Ronneby hade störst behov (behovsindex 75\u00a0%, 64\u00a0% av behovet) och fick 38\u00a0% av stödtimmarna."
        in html
    )
    assert "1 av 5 kommuner har lägesbild, åtgärdsplan och samordningsfunktion" in html
    text = Path(out["files"]["text"]).read_text("utf-8")
    assert "Ronneby hade störst behov" in text and "18,5" in text
    book = sheets(out["files"]["xlsx"])
    assert list(book) == [
        "Behovsindex",
        "Kapacitet",
        "Lagens krav",
        "Processmognad",
        "Stöd och behov",
        "Stöd per typ och behov",
        "Teckenförklaring",
    ]
    key = dict(book["Teckenförklaring"][2:])  # the quarterly workbook's symbols, and the support log's terms
    assert key["–"].startswith("Dolt av integritetsskäl: färre än 5 svarande") and "Stödtimmar" in key
    year_rows = {r[1]: r for r in book["Behovsindex"][1:] if r[0] == YEAR}
    assert year_rows["1080"][3:] == (None, round(10 / 24, 4), 4)
    assert year_rows["10"][3:] == (None, round(7 / 18, 4), 4)
    q1 = {r[1]: r for r in book["Behovsindex"][1:] if r[0] == "2025-Q1"}
    assert q1["1081"][3:] == (6, 1.0, None) and q1["10"][3:] == (18, round(7 / 18, 4), None)


def test_support_by_type_and_need_adds_up_to_the_log(settings, survey, tmp_path):
    plant(settings, survey, tmp_path, MAIN)
    out = report(settings)
    listed = json.loads(invoke(settings, "support", "list", "--json"))
    in_year = [e for e in listed if e["period"] in QUARTERS]
    assert len(in_year) == 4 and len(listed) == len(SUPPORT)
    events, hours = len(in_year), sum(e["hours"] for e in in_year)
    assert sum(c["hours"] for c in out["support"]["by_type"]) == pytest.approx(hours)
    assert sum(k["hours"] for k in out["support"]["by_kind"].values()) == pytest.approx(hours)
    assert sum(k["events"] for k in out["support"]["by_kind"].values()) == events  # one type per event
    assert sum(m["support"]["hours"] for m in out["municipalities"]) == pytest.approx(hours)
    book = sheets(out["files"]["xlsx"])["Stöd per typ och behov"]
    head, body = book[0], book[1:]
    assert head == ("Typ av stöd", "Behov", "Behovets id", "Stödtillfällen", "Stödtimmar")
    cells = [r for r in body if r[0] != "Alla typer" and r[1] != "Alla behov"]
    assert len(cells) == 6 * 9 and sum(r[4] for r in cells) == pytest.approx(hours)
    assert body[-1] == ("Alla typer", "Alla behov", None, events, hours)
    per_need = {r[2]: r[3:] for r in body if r[0] == "Alla typer" and r[2]}
    assert per_need["B05"] == (3, 6.5)  # three events for B05, each once; the May one's 4 h shared with B01
    assert per_need["B01"] == (1, 2.0) and per_need["B02"] == (1, 10.0)


def test_a_municipality_under_five_in_one_quarter_is_hidden(settings, survey, tmp_path):
    plan = {
        "1080": [(6, 1), (6, 2), (6, 3), (6, 4)],
        "1081": [(6, 6), (6, 5), (3, 0), (6, 3)],  # three respondents in Q3: hidden (none high: 0 %)
        "1082": [(7, 1), (7, 1), (7, 1), (7, 1)],
    }
    plant(settings, survey, tmp_path, plan, main=False)
    out = report(settings)
    kk, rb, kh = (municipality(out, c) for c in ("1080", "1081", "1082"))
    hidden = {"value": None, "n": None, "suppressed": True}
    assert rb["quarters"][2]["need_index"] == hidden  # primary
    assert kk["quarters"][2]["need_index"] == hidden  # secondary: the smallest shown beside it (6 < 7)
    assert kh["quarters"][2]["need_index"] == {"value": round(1 / 7, 4), "n": 7, "suppressed": False}
    # the year averages the quarters shown only: a hidden quarter cannot be worked out from it
    assert rb["year"]["need_index"] == {"value": round(14 / 18, 4), "quarters": 3, "suppressed": False}
    assert kk["year"]["need_index"] == {"value": round(7 / 18, 4), "quarters": 3, "suppressed": False}
    assert kh["year"]["need_index"] == {"value": round(1 / 7, 4), "quarters": 4, "suppressed": False}
    assert rb["support"]["events"] == 3  # the log is not suppressed
    html = Path(out["files"]["html"]).read_text("utf-8")
    row = re.search(r"<th scope=\"row\" align=\"left\">Ronneby</th>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    shown = [re.sub(r"<[^>]+>", "", c.split("<br>")[0]).strip() for c in cells]
    assert shown == ["100\u00a0%", "83\u00a0%", "–", "50\u00a0%", "78\u00a0%"]  # Q1-Q4 and the year
    assert "3 av 4 kv." in cells[-1]
    zero = re.compile(r"(?<![\d,])0\u00a0%")  # Ronneby's hidden 0 %, not 100 % or 50 %
    assert "n=3" not in html and not zero.search(html)
    book = sheets(out["files"]["xlsx"])["Behovsindex"]
    by = {(r[0], r[1]): r[3:] for r in book[1:]}
    assert by[("2025-Q3", "1081")] == ("–", "–", None) and by[("2025-Q3", "1080")] == ("–", "–", None)
    assert by[(YEAR, "1081")] == (None, round(14 / 18, 4), 3)
    assert by[("2025-Q3", "1082")] == (7, round(1 / 7, 4), None)
    assert not any(v in (3, 0.0) for r in book[1:] if r[0] != YEAR for v in r[3:5])
    text = Path(out["files"]["text"]).read_text("utf-8")
    assert "n=3" not in text and not zero.search(text)


def test_english(settings, survey, tmp_path):
    plant(settings, survey, tmp_path, MAIN)
    out = report(settings, "--lang", "en")
    assert out["lang"] == "en" and out["files"]["html"].endswith("arsrapport-10-2025.en.html")
    html = Path(out["files"]["html"]).read_text("utf-8")
    assert 'lang="en"' in html and "75%" in html and "75\u00a0%" not in html  # English numbers
    assert '<th scope="row" align="left">Whole county</th>' in html and "Situation picture" in html
    book = openpyxl.load_workbook(io.BytesIO(Path(out["files"]["xlsx"]).read_bytes()))
    assert book.sheetnames[0] == "Need index" and book.sheetnames[1] == "Capacity"
    assert book.sheetnames[-1] == "Key to symbols"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_errors_are_one_line(env, settings, survey, tmp_path):
    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=120)

    plant(settings, survey, tmp_path, {"1080": [(6, 1)] * 4})
    cases = [
        (("--year", "2024"), "No answers for 2024: the years with answers are 2025. Give one of them with --year."),
        (("--year", "25"), "'25' is not a year: write it as YYYY, for example 2026."),
        (
            ("--year", YEAR, "--period", "2025-Q1"),
            "--year and --period cannot go together: --year YYYY covers the year's four quarters, --period one "
            "quarter.",
        ),
        (
            ("--year", YEAR, "--municipality", "1080"),
            "--year and --municipality cannot go together: the yearly roll-up covers every municipality of the "
            "county; for one municipality's own report give --period YYYY-Qn --municipality CODE.",
        ),
        ((), "Give --period YYYY-Qn for a quarter's report, or --year YYYY for the yearly roll-up."),
    ]
    for args, message in cases:
        proc = bfs("report", *args)
        assert proc.returncode == 1 and proc.stderr.strip() == f"bfs: {message}", (args, proc.stderr)
    proc = bfs("report", "--year", YEAR)
    assert proc.returncode == 0 and "Årsrapport Blekinge län 2025" in proc.stdout
    assert "arsrapport-10-2025.sv.xlsx" in proc.stdout
    assert "Färre än 3 kommuner har ett behovsindex för året som visas" in proc.stdout  # one: nothing to compare
