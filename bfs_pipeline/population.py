"""Population per municipality and year: SCB's table imported with `bfs reference population import FILE`.

The capacity figures per 10 000 inhabitants divide by the population of the newest year on or before the wave's
year (`for_wave`); a municipality with no imported figure that old falls back to the table shipped with the package
(`SHIPPED_YEAR`, see data/ATTRIBUTION.md).

What the import reads (CSV with `;`, `,` or tab, UTF-8 or Windows-1252; or the first sheet of an XLSX):
- long: one row per municipality and year, columns kommunkod, folkmängd, år (also: kod, region, kommun; folkmangd,
  befolkning, population, antal; ar, year);
- wide, as SCB's Statistikdatabas exports it: a region column ("1080 Karlskrona") and one column per year ("2024",
  also "2024M12" or "år 2024"); title lines above the header are skipped.
Rows for the whole country or a county ("00 Riket", "10 Blekinge län") are left out and counted. Any other row that
cannot be read is reported with its line and reason and left out; the rest is imported. Importing a year again
replaces every row of that year.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bfs_pipeline import db, reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.models import Base, utcnow

SHIPPED_YEAR = 2016  # the year of data/kommuner_population_2016.csv
YEARS = (1968, 2100)  # SCB's series start in 1968
CODE_NAMES = ("kommunkod", "kod", "region", "kommun", "municipality", "code", "regionkod")
POP_NAMES = ("folkmangd", "befolkning", "population", "antal", "invanare", "folkmangd 31 december")
YEAR_NAMES = ("ar", "year", "artal")
YEAR_COLUMN = re.compile(r"^(?:[a-z ]+ )?(\d{4})(?:\s*m12|\s*k4)?$")  # "2024", "2024M12", "folkmängd 2024"
CODE_IN = re.compile(r"^\s*(\d{2,4})\b")  # "1080", "1080 Karlskrona", "0180 Stockholm", "10 Blekinge län"


class Population(Base):
    """One municipality's population in one year, as imported (migration 0016)."""

    __tablename__ = "population"
    municipality: Mapped[str] = mapped_column(String(4), primary_key=True)  # SCB kommunkod
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)  # the file's name
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PopulationError(BfsError):
    """A population table that cannot be imported at all."""


@dataclass(frozen=True)
class Problem:
    line: int  # the line a person sees: header on its own line, first data row below it
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class Imported:
    """What an import read and did."""

    source: str
    rows_read: int = 0
    by_year: dict[int, int] = field(default_factory=dict)  # municipalities imported per year
    replaced: dict[int, int] = field(default_factory=dict)  # rows of that year there were before
    left_out: int = 0  # rows for the whole country or a county
    problems: list[Problem] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "years": {str(y): n for y, n in sorted(self.by_year.items())},
            "replaced": {str(y): n for y, n in sorted(self.replaced.items())},
            "left_out": self.left_out,
            "problems": [p.as_json() for p in self.problems],
        }


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", str(text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace('"', "").split())


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Every non-empty row of the file with its line (1-based), cells as text."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
            raise PopulationError(
                f"Cannot read {path} as an Excel workbook ({exc}). Save it as .xlsx or .csv."
            ) from None
        ws = wb.worksheets[0]
        out = []
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [
                "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row
            ]
            if any(c.strip() for c in cells):
                out.append((i, cells))
        wb.close()
        return out
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise PopulationError(f"{path} is neither .csv nor .xlsx: save SCB's table as one of them.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PopulationError(f"Cannot read {path}: {exc.strerror}. Check the path.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # SCB's older exports
    sample = "\n".join(text.splitlines()[:20])
    counts = {d: sample.count(d) for d in (";", "\t", ",")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]


def _header(rows: list[tuple[int, list[str]]], path: Path) -> tuple[int, dict[str, int], dict[int, int]]:
    """The header row's index, the long format's columns (code, pop, year) and the wide format's year columns."""
    for k, (_, cells) in enumerate(rows[:30]):
        names = [_fold(c) for c in cells]
        code = next((names.index(n) for n in CODE_NAMES if n in names), None)  # kommunkod before kommun
        if code is None:
            continue
        cols = {"code": code}
        pop = next((i for i, n in enumerate(names) if n in POP_NAMES or n.startswith("folkmangd")), None)
        year = next((i for i, n in enumerate(names) if n in YEAR_NAMES), None)
        if pop is not None and year is not None:
            return k, cols | {"pop": pop, "year": year}, {}
        wide = {i: int(m.group(1)) for i, n in enumerate(names) if (m := YEAR_COLUMN.match(n))}
        if wide:
            return k, cols, wide
    raise PopulationError(
        f"{path}: no header with a municipality column (kommunkod or region) and either folkmängd and år, or one "
        "column per year (2024). Export SCB's table with the region in rows and the years in columns, or write "
        "the columns kommunkod;folkmängd;år."
    )


def _number(text: str) -> int | None:
    clean = re.sub(r"[\s\u00a0\u202f\u2009]", "", text)
    return int(clean) if clean.isdigit() else None


def read_population(path: Path) -> tuple[list[tuple[int, str, int, int]], Imported]:
    """The file's rows as (line, kommunkod, folkmängd, år), and what was read (problems, rows left out)."""
    rows = _read_rows(path)
    if not rows:
        raise PopulationError(f"{path} is empty: export SCB's population table per municipality into it.")
    at, cols, wide = _header(rows, path)
    result = Imported(source=path.name)
    munis = reference.municipalities()
    counties = reference.counties()
    out: list[tuple[int, str, int, int]] = []
    seen: dict[tuple[str, int], int] = {}
    for line, cells in rows[at + 1 :]:

        def cell(i: int, cells: list[str] = cells) -> str:
            return cells[i].strip() if i < len(cells) else ""

        region = cell(cols["code"])
        m = CODE_IN.match(region)
        if m is None:
            if _fold(region).startswith(("kalla", "source", "fotnot", "anm", "..")):  # SCB's footnotes
                continue
            result.problems.append(Problem(line, f"{region!r} is not a kommunkod (four digits, as 1080)"))
            continue
        code = m.group(1)
        if code == "00" or (len(code) == 2 and code in counties):
            result.left_out += 1
            continue
        if len(code) == 3:
            code = "0" + code  # "180" for Stockholm's 0180, a leading zero lost in Excel
        if code not in munis:
            result.problems.append(Problem(line, f"{code} is not a Swedish municipality's code"))
            continue
        pairs = (
            [(cell(cols["pop"]), cell(cols["year"]))]
            if "pop" in cols
            else [(cell(i), str(year)) for i, year in wide.items()]
        )
        for pop_text, year_text in pairs:
            result.rows_read += 1
            year = _number(year_text.removesuffix(".0"))
            if year is None or not YEARS[0] <= year <= YEARS[1]:
                result.problems.append(Problem(line, f"{year_text!r} is not a year ({code})"))
                continue
            pop = _number(pop_text.removesuffix(".0"))
            if pop is None or pop <= 0:
                result.problems.append(
                    Problem(line, f"{pop_text!r} is not a population (a whole number above 0) for {code} in {year}")
                )
                continue
            if (code, year) in seen:
                result.problems.append(
                    Problem(line, f"{code} in {year} is also on line {seen[code, year]}: the first one is kept")
                )
                continue
            seen[code, year] = line
            out.append((line, code, pop, year))
    return out, result


def import_population(engine: Engine, path: Path) -> Imported:
    """Import SCB's population table; each year in the file replaces that year's rows. Nothing readable: an error."""
    rows, result = read_population(path)
    if not rows:
        why = "; ".join(f"line {p.line}: {p.reason}" for p in result.problems[:5])
        raise PopulationError(f"{path}: no row could be imported{': ' + why if why else ''}. Nothing was changed.")
    now = dt.datetime.now(dt.UTC)
    years = sorted({year for *_, year in rows})
    with Session(db.writer(engine)) as s, s.begin():
        for year in years:
            before = s.scalars(select(Population.municipality).where(Population.year == year)).all()
            result.replaced[year] = len(before)
            s.execute(delete(Population).where(Population.year == year))
        s.add_all(
            Population(municipality=code, year=year, population=pop, source=path.name, imported_at=now)
            for _, code, pop, year in rows
        )
    for *_, year in rows:
        result.by_year[year] = result.by_year.get(year, 0) + 1
    return result


def shipped() -> dict[str, tuple[int, int]]:
    """The population table shipped with the package: per kommunkod (folkmängd, year)."""
    return {
        code: (m.population, SHIPPED_YEAR) for code, m in reference.municipalities().items() if m.population is not None
    }


def for_year(engine: Engine, year: int) -> dict[str, tuple[int, int]]:
    """Per kommunkod (folkmängd, year): the newest imported year on or before `year`, else the shipped table's."""
    out = shipped()
    newest: dict[str, int] = {}
    with Session(engine) as s:
        for code, y, pop in s.execute(
            select(Population.municipality, Population.year, Population.population).where(Population.year <= year)
        ):
            if y > newest.get(code, -1):
                newest[code] = y
                out[code] = (pop, y)
    return out


def for_wave(engine: Engine, wave: str) -> dict[str, tuple[int, int]]:
    """Per kommunkod (folkmängd, year) for a wave (YYYY-Qn, or a year YYYY): the newest year on or before its year."""
    return for_year(engine, int(wave[:4]))


def years_used(figures: dict[str, tuple[int, int]], codes: list[str] | None = None) -> list[int]:
    """The years the figures come from (for the line under the capacity table), over some municipalities or all."""
    return sorted({figures[c][1] for c in (codes if codes is not None else figures) if c in figures})


def imported_years(engine: Engine) -> dict[int, int]:
    """Each imported year with its number of municipalities."""
    with Session(engine) as s:
        rows = s.execute(select(Population.year, Population.municipality)).all()
    out: dict[int, int] = {}
    for year, _ in rows:
        out[year] = out.get(year, 0) + 1
    return dict(sorted(out.items()))
