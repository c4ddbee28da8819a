"""CSV and XLSX answer sheets: one file, one Source. CSV is streamed a chunk at a time; XLSX is read whole."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bfs_pipeline.errors import SourceError
from bfs_pipeline.sources.base import CHUNK_ROWS, RawBatch, SheetHints, SourceKind

WAVE_IN_NAME = re.compile(r"(\d{4})[-_ ]?[qQ]([1-4])")
SUFFIXES = (".csv", ".xlsx")


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


BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _scan(path: Path) -> tuple[str, str | None, str]:
    """One pass over the file's bytes, a block at a time: their SHA-256, the encoding a CSV has (from its BOM: UTF-8
    or UTF-16; else UTF-8 if every byte decodes, else Windows-1252 if every byte does, else None) and its delimiter
    (comma or semicolon)."""
    digest = hashlib.sha256()
    first = b""
    decoders = {enc: codecs.getincrementaldecoder(enc)() for enc in ("utf-8", "cp1252")}
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                first = first or block
                for enc, decoder in list(decoders.items()):
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        del decoders[enc]  # not this encoding: keep hashing, stop decoding
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror}. Check the path and its permissions.") from None
    for enc, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[enc]
    bom = next((enc for mark, enc in BOMS if first.startswith(mark)), None)
    encoding = bom or ("utf-8-sig" if "utf-8" in decoders else "cp1252" if decoders else None)
    line = first.decode(encoding or "latin-1", errors="replace").split("\n", 1)[0]
    return digest.hexdigest(), encoding, ";" if line.count(";") > line.count(",") else ","


def _unreadable(path: Path, exc: Exception, row: int | None = None) -> SourceError:
    """A file's own fault as one line for this file alone: what is wrong, where, and what to do."""
    where = f" (row {row})" if row else ""
    if isinstance(exc, UnicodeError):
        what = "has characters that are not in its encoding"
    elif isinstance(exc, csv.Error):
        what = f"cannot be read as CSV: {exc}"
    else:
        what = f"cannot be read ({type(exc).__name__})"
    return SourceError(f"{path}{where} {what}. Open it and save it again as CSV UTF-8 or Excel (.xlsx).")


@dataclass(frozen=True)
class CsvStream:
    """A CSV answer sheet read a chunk of rows at a time, so a sheet of any length is ingested in bounded memory."""

    path: Path
    encoding: str
    delimiter: str

    def header(self) -> list[str]:
        try:
            with self.path.open(encoding=self.encoding, newline="") as fh:
                first = next(csv.reader(fh, delimiter=self.delimiter), None)
        except (UnicodeError, csv.Error) as exc:
            raise _unreadable(self.path, exc, 1) from None
        if first is None:
            raise SourceError(
                f"{self.path} is empty: an answer sheet needs a header row. Export it again from the form."
            )
        return first

    def _pandas(self) -> dict[str, Any]:
        """pandas.read_csv options to read cells as csv.reader does: text as is, no NA guessing, blank lines kept."""
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
        from the first row wider than the header (or a stray quote) on, the csv module, which gives such rows as
        they are. A file that cannot be read raises SourceError for this file alone."""
        done = 0
        try:
            for rows, numbers in self._chunks(size):
                done = numbers[-1] if numbers else done
                yield rows, numbers
        except (UnicodeError, csv.Error, OSError) as exc:
            raise _unreadable(self.path, exc, done + 1) from None

    def _chunks(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        import pandas as pd

        done = 0
        try:
            with pd.read_csv(self.path, chunksize=size, **self._pandas()) as reader:
                skip = 1  # the header
                pending: list[
                    list[str]
                ] = []  # exactly `size` rows per chunk, although pandas' first chunk holds the header too
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
    if encoding is None:
        raise _not_text(path)
    return CsvStream(path, encoding, delimiter)


def _not_text(path: Path) -> SourceError:
    return SourceError(
        f"{path} is not text in UTF-8, UTF-16 or Windows-1252: is it really a CSV file? "
        "Open it and save it again as CSV UTF-8 or Excel (.xlsx)."
    )


def read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Read a whole CSV sheet (UTF-8 with or without BOM, or cp1252; comma or semicolon).

    Returns the header, the rows and their sheet row numbers.
    """
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
        raise SourceError(
            f"Cannot read {path} as an Excel workbook ({type(exc).__name__}). Save it again as .xlsx."
        ) from None
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
    except SourceError:
        raise
    except Exception as exc:  # a workbook broken inside (its XML, its zip) fails alone, as any unreadable file
        raise SourceError(
            f"Cannot read {path} as an Excel workbook ({type(exc).__name__}). Save it again as .xlsx."
        ) from None
    finally:
        wb.close()
    while header and not header[-1] and all(len(r) < len(header) or not r[len(header) - 1] for r in rows):
        header.pop()
    # read_only mode reports trailing empty rows of formatted sheets: they are blank rows, kept and counted.
    return header, rows, numbers


def infer_from_name(path: Path, sectors: list[str]) -> tuple[str | None, str | None]:
    """Sector and wave named in a file's path, as in inbox/kommun-2026-Q1.csv (or Polis-2026-Q1.csv: letter case does
    not matter); the sector as the survey spells its code."""
    parts = re.split(r"[^0-9A-Za-zåäöÅÄÖ]+", "/".join(path.parts[-3:]).casefold())
    codes = {s.casefold(): s for s in sectors}
    sector = next((codes[p] for p in reversed(parts) if p in codes), None)
    # a folder named after a wave says the wave, but not read/WAVE/: that is where retention put a read sheet, whose
    # wave came from its own name or its answers' timestamps, and must stay so (the same sheet, the same key)
    named = path.parent.parent.name != "read"
    m = WAVE_IN_NAME.search(path.name) or (WAVE_IN_NAME.search(path.parent.name) if named else None)
    wave = f"{m.group(1)}-Q{m.group(2)}" if m else None
    return sector, wave


def inbox_files(folder: Path) -> list[Path]:
    """The answer sheets under a folder, in order: .csv and .xlsx, no hidden files or Excel's lock files."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in SUFFIXES and p.is_file() and not p.name.startswith((".", "~$"))
    )


@dataclass
class FileSource:
    """One CSV/XLSX answer sheet: an inbox file, or the one given with --file. Its sector and wave come from the
    operator's hints, else from the file's name (inbox/kommun-2026-Q1.csv).

    The path is made absolute (symbolic links resolved) before it becomes the source's name: one file is one
    source, whether it was given as kommun.csv, ./kommun.csv or /home/…/kommun.csv.
    """

    path: Path
    sectors: list[str]
    survey_id: str | None = None
    given: SheetHints = field(default_factory=SheetHints)
    kind: SourceKind = SourceKind.FILE

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser().resolve()

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def hints(self) -> SheetHints:
        return self.given.over(*infer_from_name(self.path, self.sectors))

    def fingerprint(self) -> str | None:
        """A digest of the file's bytes, without parsing it."""
        return _scan(self.path)[0]

    def read(self) -> RawBatch:
        path = self.path
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
            if encoding is None:
                raise _not_text(path)
            stream = CsvStream(path, encoding, delimiter)
            header = stream.header()
        else:
            header, rows, numbers = read_xlsx(path)
        hints = self.hints
        return RawBatch(
            source=str(path),
            header=header,
            rows=rows,
            sheet_rows=numbers,
            survey_id=self.survey_id,
            sector=hints.sector,
            wave=hints.wave,
            fingerprint=digest,
            locale=hints.locale,
            stream=stream,
        )
