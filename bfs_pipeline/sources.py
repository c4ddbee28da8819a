"""Answer sources: each yields RawBatches (a header and rows as text, with sheet row numbers and provenance)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bfs_pipeline.errors import SourceError

WAVE_IN_NAME = re.compile(r"(\d{4})[-_ ]?[qQ]([1-4])")
SUFFIXES = (".csv", ".xlsx")


@dataclass
class RawBatch:
    """One answer sheet as read: text cells, row numbers as a person sees them (header = 1)."""

    source: str
    header: list[str]
    rows: list[list[str]]
    sheet_rows: list[int]
    survey_id: str | None = None
    sector: str | None = None
    wave: str | None = None
    locale: str | None = None  # sv-SE (day-first) or en-US (month-first) for slashed dates
    timezone: str | None = None
    fingerprint: str | None = None  # a cheap digest of the source's bytes, where it has them (files)
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Source(Protocol):
    """Anything that can produce answer sheets: files, Google Sheets, a web form."""

    name: str

    def batches(self) -> Iterator[RawBatch]: ...


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Read a CSV answer sheet (UTF-8 with or without BOM, comma or semicolon)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror}. Check the path and its permissions.") from None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    records = _fast_records(text, delimiter) or list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not records:
        raise SourceError(f"{path} is empty: an answer sheet needs a header row. Export it again from the form.")
    header, rows, numbers = records[0], [], []
    line = 1
    for rec in records[1:]:
        line += 1
        rows.append(rec)
        numbers.append(line)
    return header, rows, numbers


def _fast_records(text: str, delimiter: str) -> list[list[str]] | None:
    """pandas' C parser for a sheet whose rows are no wider than its header (a form's export); None otherwise.

    Gives what csv.reader gives, except that short (and empty) rows come padded with empty cells; for anything else
    (a row wider than the header, a stray quote) the csv module reads the sheet.
    """
    import pandas as pd

    if "\n" not in text.strip("\r\n"):
        return None  # a header alone, or nothing: the csv module is as fast
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
            doublequote=True,
        )
    except (pd.errors.ParserError, ValueError):
        return None
    records: list[list[str]] = frame.to_numpy().tolist()
    return records


def read_xlsx(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Read the first worksheet of an XLSX answer sheet."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise SourceError(f"Cannot read {path} as an Excel workbook ({type(exc).__name__}). Save it again as .xlsx.") from None
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        first = next(it, None)
        if first is None:
            raise SourceError(f"{path} is empty: an answer sheet needs a header row. Export it again from the form.")
        header = [_cell_text(v) for v in first]
        rows, numbers = [], []
        for i, values in enumerate(it, start=2):
            rows.append([_cell_text(v) for v in values])
            numbers.append(i)
    finally:
        wb.close()
    while header and not header[-1] and all(len(r) < len(header) or not r[len(header) - 1] for r in rows):
        header.pop()
    # read_only mode reports trailing empty rows of formatted sheets: they are blank rows, kept and counted.
    return header, rows, numbers


def infer_from_name(path: Path, sectors: list[str]) -> tuple[str | None, str | None]:
    """Sector and wave named in a file's path, as in inbox/kommun-2026-Q1.csv."""
    parts = re.split(r"[^0-9A-Za-zåäöÅÄÖ]+", "/".join(path.parts[-3:]).lower())
    sector = next((p for p in reversed(parts) if p in sectors), None)
    m = WAVE_IN_NAME.search(path.name) or WAVE_IN_NAME.search(str(path.parent.name))
    wave = f"{m.group(1)}-Q{m.group(2)}" if m else None
    return sector, wave


@dataclass
class FileSource:
    """CSV/XLSX answer sheets: one file given with --file, or every file in the inbox folder."""

    paths: list[Path]
    sectors: list[str]
    survey_id: str | None = None
    sector: str | None = None
    wave: str | None = None
    locale: str | None = None
    name: str = "files"

    @classmethod
    def inbox(cls, folder: Path, sectors: list[str], **kw: str | None) -> FileSource:
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file() and not p.name.startswith((".", "~$")))
        return cls(paths, sectors, name=str(folder), **kw)

    def batches(self) -> Iterator[RawBatch]:
        for path in self.paths:
            yield self.read(path)

    def describe(self, path: Path) -> tuple[str | None, str | None, str]:
        """Sector, wave and a digest of the file's bytes, without parsing it."""
        sector, wave = infer_from_name(path, self.sectors)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise SourceError(f"Cannot read {path}: {exc.strerror}. Check the path and its permissions.") from None
        return self.sector or sector, self.wave or wave, digest

    def read(self, path: Path) -> RawBatch:
        if not path.exists():
            raise SourceError(f"{path} does not exist. Check the path given with --file.")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            header, rows, numbers = read_csv(path)
        elif suffix == ".xlsx":
            header, rows, numbers = read_xlsx(path)
        else:
            raise SourceError(f"{path} is neither .csv nor .xlsx: export the answer sheet as CSV or Excel (.xlsx).")
        sector, wave, digest = self.describe(path)
        return RawBatch(
            source=str(path),
            header=header,
            rows=rows,
            sheet_rows=numbers,
            survey_id=self.survey_id,
            sector=sector,
            wave=wave,
            fingerprint=digest,
            locale=self.locale,
        )
