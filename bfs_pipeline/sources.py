"""Answer sources: each yields RawBatches (a header and rows as text, with sheet row numbers and provenance)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    stream: CsvStream | None = None  # rows not held in memory: read from the file a chunk at a time

    def chunks(self, size: int = 0) -> Iterator[tuple[list[list[str]], list[int]]]:
        """The rows with their sheet row numbers, `size` at a time (default CHUNK_ROWS)."""
        size = size or CHUNK_ROWS
        if self.stream is not None:
            yield from self.stream.chunks(size)
            return
        for start in range(0, len(self.rows), size):
            yield self.rows[start : start + size], self.sheet_rows[start : start + size]

    def row_count(self) -> int:
        return sum(len(rows) for rows, _ in self.chunks()) if self.stream is not None else len(self.rows)

    def filled(self, columns: list[int]) -> set[int]:
        """Which of these columns hold a value in some row (one pass over the rows)."""
        found: set[int] = set()
        if not columns:
            return found
        for rows, _ in self.chunks():
            for i in columns:
                if i not in found and any(i < len(r) and r[i].replace("\x00", "").strip() for r in rows):
                    found.add(i)
        return found

    def column(self, i: int) -> list[str]:
        """Cell i of every row ("" where a row is shorter)."""
        if self.stream is not None:
            return self.stream.column(i)
        return [r[i] if i < len(r) else "" for r in self.rows]


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


CHUNK_ROWS = 20000  # rows read, validated and stored at a time


def _scan(path: Path) -> tuple[str, str, str]:
    """One pass over the file's bytes, a block at a time: their SHA-256, the encoding (UTF-8 with or without BOM,
    else cp1252) and the delimiter (comma or semicolon) a CSV would have."""
    digest = hashlib.sha256()
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    first = b""
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                first = first or block
                if decoder is not None:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        decoder = None  # not UTF-8: keep hashing, stop decoding
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror}. Check the path and its permissions.") from None
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    line = first.split(b"\n", 1)[0]
    return digest.hexdigest(), "utf-8-sig" if decoder is not None else "cp1252", ";" if line.count(b";") > line.count(b",") else ","


@dataclass(frozen=True)
class CsvStream:
    """A CSV answer sheet read a chunk of rows at a time, so that a sheet of any length is ingested in bounded memory."""

    path: Path
    encoding: str
    delimiter: str

    def header(self) -> list[str]:
        with self.path.open(encoding=self.encoding, newline="") as fh:
            first = next(csv.reader(fh, delimiter=self.delimiter), None)
        if first is None:
            raise SourceError(f"{self.path} is empty: an answer sheet needs a header row. Export it again from the form.")
        return first

    def _pandas(self) -> dict[str, Any]:
        """pandas.read_csv options that read cells as csv.reader does: text as it stands, no NA guessing, blank lines kept."""
        return {
            "sep": self.delimiter,
            "header": None,
            "dtype": str,
            "na_filter": False,
            "skip_blank_lines": False,
            "engine": "c",
            "encoding": self.encoding,
            "quoting": csv.QUOTE_MINIMAL,
            "doublequote": True,
        }

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[list[str]], list[int]]]:
        """(rows, their sheet row numbers) after the header: pandas' C parser (short rows padded to the header's width);
        from the first row wider than the header (or a stray quote) on, the csv module, which gives such rows as they are."""
        import pandas as pd

        done = 0
        try:
            with pd.read_csv(self.path, chunksize=size, **self._pandas()) as reader:
                skip = 1  # the header
                pending: list[list[str]] = []  # exactly `size` rows per chunk, although pandas' first chunk holds the header too
                for frame in reader:
                    pending += frame.to_numpy().tolist()[skip:]
                    skip = 0
                    while len(pending) >= size:
                        yield pending[:size], list(range(done + 2, done + 2 + size))
                        done += size
                        pending = pending[size:]
                if pending:
                    yield pending, list(range(done + 2, done + 2 + len(pending)))
            return
        except (pd.errors.ParserError, ValueError):
            pass  # EmptyDataError is a ValueError too: the csv module says the same, faster
        with self.path.open(encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            for _ in range(done + 1):  # the header and what pandas gave already
                next(reader, None)
            rows: list[list[str]] = []
            for rec in reader:
                rows.append(rec)
                if len(rows) == size:
                    yield rows, list(range(done + 2, done + 2 + len(rows)))
                    done += len(rows)
                    rows = []
            if rows:
                yield rows, list(range(done + 2, done + 2 + len(rows)))

    def column(self, i: int) -> list[str]:
        """Cell i of every row after the header, read alone (the C parser skips the other columns)."""
        import pandas as pd

        try:
            frame = pd.read_csv(self.path, usecols=[i], **self._pandas())
            return list(frame[i])[1:]
        except (pd.errors.ParserError, ValueError):
            return [r[i] if i < len(r) else "" for rows, _ in self.chunks() for r in rows]


def csv_stream(path: Path) -> CsvStream:
    _, encoding, delimiter = _scan(path)
    return CsvStream(path, encoding, delimiter)


def read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Read a whole CSV sheet (UTF-8 with or without BOM, or cp1252; comma or semicolon): header, rows, sheet row numbers."""
    stream = csv_stream(path)
    header = stream.header()
    rows: list[list[str]] = []
    numbers: list[int] = []
    for chunk, nums in stream.chunks():
        rows += chunk
        numbers += nums
    return header, rows, numbers


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
        return (*self._named(path), _scan(path)[0])

    def _named(self, path: Path) -> tuple[str | None, str | None]:
        sector, wave = infer_from_name(path, self.sectors)
        return self.sector or sector, self.wave or wave

    def read(self, path: Path) -> RawBatch:
        if not path.exists():
            raise SourceError(f"{path} does not exist. Check the path given with --file.")
        suffix = path.suffix.lower()
        stream = None
        rows: list[list[str]] = []
        numbers: list[int] = []
        if suffix not in SUFFIXES:
            raise SourceError(f"{path} is neither .csv nor .xlsx: export the answer sheet as CSV or Excel (.xlsx).")
        digest, encoding, delimiter = _scan(path)  # one pass over the bytes for both
        if suffix == ".csv":
            stream = CsvStream(path, encoding, delimiter)
            header = stream.header()
        else:
            header, rows, numbers = read_xlsx(path)
        sector, wave = self._named(path)
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
            stream=stream,
        )
