"""bfs reference population import: SCB's table per municipality (CSV or XLSX, long or SCB's wide export), bad rows
named by line, a year imported again replaced; for_wave takes the newest year on or before the wave (#13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import reference
from bfs_pipeline.population import (
    SHIPPED_YEAR,
    Population,
    PopulationError,
    for_wave,
    import_population,
    read_population,
    shipped,
    years_used,
)

BFS = [sys.executable, "-m", "bfs_pipeline"]
# Made-up figures for the tests (not SCB's): easy to tell apart from the shipped 2016 ones.
LONG = [("1080", 70001, 2024), ("1081", 30001, 2024), ("1082", 33001, 2024), ("1080", 69001, 2022)]


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def long_csv(path: Path) -> Path:
    return write_csv(path, ["kommunkod;folkmängd;år", *(f"{c};{p};{y}" for c, p, y in LONG)])


def stored(engine: Engine) -> set[tuple[str, int, int]]:
    with Session(engine) as s:
        return {(p.municipality, p.population, p.year) for p in s.scalars(select(Population))}


@pytest.mark.parametrize("delimiter", [";", ","])
def test_a_long_csv_in_either_delimiter(tmp_path: Path, delimiter: str) -> None:
    lines = [delimiter.join(["kommunkod", "folkmängd", "år"])]
    lines += [delimiter.join([c, str(p), str(y)]) for c, p, y in LONG]
    rows, result = read_population(write_csv(tmp_path / "pop.csv", lines))
    assert [(c, p, y) for _, c, p, y in rows] == LONG
    assert [line for line, *_ in rows] == [2, 3, 4, 5] and result.problems == []


def test_scbs_wide_export_with_its_title_region_names_and_year_columns(tmp_path: Path) -> None:
    """As the Statistikdatabas writes it: a title line, "region" with "1080 Karlskrona", a column per year, the
    country and the county as rows of their own (left out), Windows-1252, figures with a space as thousands mark."""
    lines = [
        '"Folkmängden per region efter år"',
        "",
        '"region";"2022";"2024"',
        '"00 Riket";"10 521 556";"10 587 710"',
        '"10 Blekinge län";"156 000";"156 100"',
        '"1080 Karlskrona";"69 001";"70 001"',
        '"1081 Ronneby";"29 001";"30 001"',
        '"Källa: SCB"',
    ]
    rows, result = read_population(write_csv(tmp_path / "BE0101.csv", lines, "cp1252"))
    assert sorted((c, p, y) for _, c, p, y in rows) == [
        ("1080", 69001, 2022),
        ("1080", 70001, 2024),
        ("1081", 29001, 2022),
        ("1081", 30001, 2024),
    ]
    assert result.left_out == 2 and result.problems == []
    assert {line for line, *_ in rows} == {6, 7}


@pytest.mark.parametrize("wide", [False, True])
def test_xlsx_long_and_wide(tmp_path: Path, wide: bool) -> None:
    if wide:
        sheet = [["Folkmängd 31 december"], [], ["Region", 2022, 2024], ["1080 Karlskrona", 69001, 70001]]
        sheet += [["1081 Ronneby", None, 30001], ["1082 Karlshamn", None, 33001]]
    else:
        sheet = [["Kommunkod", "Folkmängd", "År"], *[[c, p, y] for c, p, y in LONG]]
    rows, result = read_population(write_xlsx(tmp_path / "pop.xlsx", sheet))
    assert sorted((c, p, y) for _, c, p, y in rows) == sorted(LONG)
    # an empty cell of a wide table is reported, not taken as zero
    assert [p.line for p in result.problems] == ([5, 6] if wide else [])


def test_bad_rows_are_named_by_line_and_reason(tmp_path: Path) -> None:
    lines = [
        "kommunkod;folkmängd;år",
        "1080;70001;2024",  # 2
        "9999;100;2024",  # 3 no such municipality
        "Karlskrona;70001;2024",  # 4 a name, not a code
        "1081;många;2024",  # 5
        "1082;33001;1850",  # 6 before SCB's series
        "1080;70002;2024",  # 7 the same municipality and year again
        "1083;17001,5;2024",  # 8 not a whole number
        "180;984748;2024",  # 9 Stockholm's 0180 with its zero lost: read
    ]
    rows, result = read_population(write_csv(tmp_path / "bad.csv", lines))
    assert [(c, p, y) for _, c, p, y in rows] == [("1080", 70001, 2024), ("0180", 984748, 2024)]
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "9999 is not a Swedish municipality's code"),
        (4, "'Karlskrona' is not a kommunkod (four digits, as 1080)"),
        (5, "'många' is not a population (a whole number above 0) for 1081 in 2024"),
        (6, "'1850' is not a year (1082)"),
        (7, "1080 in 2024 is also on line 2: the first one is kept"),
        (8, "'17001,5' is not a population (a whole number above 0) for 1083 in 2024"),
    ]


def test_a_file_without_a_usable_header_or_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PopulationError, match="no header with a municipality column"):
        read_population(write_csv(tmp_path / "x.csv", ["namn;antal", "Karlskrona;70001"]))
    with pytest.raises(PopulationError, match=r"neither \.csv nor \.xlsx"):
        read_population(write_csv(tmp_path / "x.json", ["{}"]))


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_importing_again_replaces_that_years_rows_only(engine: Engine, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", ["kommunkod;folkmängd;år", *(f"{c};{p};{y}" for c, p, y in LONG)])
    done = import_population(engine, first)
    assert done.by_year == {2024: 3, 2022: 1} and done.replaced == {2022: 0, 2024: 0}
    assert stored(engine) == set(LONG)
    again = import_population(engine, first)  # the same file again: the same rows, nothing doubled
    assert again.replaced == {2022: 1, 2024: 3} and stored(engine) == set(LONG)
    # a new 2024 table replaces every 2024 row (Karlshamn's is gone with it); 2022 stays
    import_population(engine, write_csv(tmp_path / "b.csv", ["kommunkod;folkmängd;år", "1080;70500;2024"]))
    assert stored(engine) == {("1080", 70500, 2024), ("1080", 69001, 2022)}
    # nothing readable: an error, and nothing changed
    with pytest.raises(PopulationError, match=r"no row could be imported.*line 2: 9999"):
        import_population(engine, write_csv(tmp_path / "c.csv", ["kommunkod;folkmängd;år", "9999;1;2024"]))
    assert stored(engine) == {("1080", 70500, 2024), ("1080", 69001, 2022)}


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_each_wave_uses_the_newest_year_on_or_before_it(engine: Engine, tmp_path: Path) -> None:
    shipped_figures = shipped()
    assert len(shipped_figures) == 290 and shipped_figures["1080"][1] == SHIPPED_YEAR
    assert for_wave(engine, "2026-Q1") == shipped_figures  # nothing imported: the shipped table
    import_population(engine, long_csv(tmp_path / "a.csv"))
    assert for_wave(engine, "2024-Q1")["1080"] == (70001, 2024)
    assert for_wave(engine, "2026-Q3")["1080"] == (70001, 2024)  # newest there is
    assert for_wave(engine, "2023-Q4")["1080"] == (69001, 2022)  # 2024 is after the wave
    assert for_wave(engine, "2023-Q4")["1081"] == (shipped_figures["1081"][0], SHIPPED_YEAR)  # none on or before
    assert for_wave(engine, "2021-Q2")["1080"] == shipped_figures["1080"]
    assert for_wave(engine, "2024-Q1")["1060"] == shipped_figures["1060"]  # never imported: shipped
    blekinge = [m.code for m in reference.county_municipalities("10")]
    assert years_used(for_wave(engine, "2024-Q2"), blekinge) == [SHIPPED_YEAR, 2024]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_commands(env: dict[str, str], tmp_path: Path) -> None:
    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=120)

    path = write_xlsx(
        tmp_path / "BE0101.xlsx",
        [["region", "2024"], ["10 Blekinge län", 156100], ["1080 Karlskrona", 70001], ["1081 Ronneby", "x"]],
    )
    proc = bfs("reference", "population", "import", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "2024: 1 municipalities.",
        "Left out 1 row(s) for the whole country or a county.",
        "  line 4: 'x' is not a population (a whole number above 0) for 1081 in 2024",
        "Imported 1 figure(s) from BE0101.xlsx; 1 row(s) could not be read (above).",
    ]
    again = json.loads(bfs("reference", "population", "import", str(path), "--json").stdout)
    assert again["years"] == {"2024": 1} and again["replaced"] == {"2024": 1} and len(again["problems"]) == 1
    listed = json.loads(bfs("reference", "population", "list", "--wave", "2025-Q1", "--county", "10", "--json").stdout)
    assert listed["imported_years"] == {"2024": 1} and listed["shipped_year"] == SHIPPED_YEAR
    by_code = {m["code"]: (m["population"], m["year"]) for m in listed["municipalities"]}
    assert by_code["1080"] == (70001, 2024) and by_code["1081"][1] == SHIPPED_YEAR and len(by_code) == 5
    missing = bfs("reference", "population", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
