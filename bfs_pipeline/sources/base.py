"""What every source gives: a RawBatch (a header and rows as text, sheet row numbers, provenance).

Every kind of source sits behind the one Source interface.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

CHUNK_ROWS = 20000  # rows read, validated and stored at a time


@dataclass(frozen=True)
class SheetHints:
    """What the operator says about sheets that they do not say themselves: sector, wave, how dates are written."""

    sector: str | None = None
    wave: str | None = None
    locale: str | None = None  # sv-SE (day-first) or en-US (month-first) for slashed dates

    def over(self, sector: str | None, wave: str | None) -> SheetHints:
        """These hints where given, else what the source itself tells (a file's name, a configured sheet)."""
        return SheetHints(self.sector or sector, self.wave or wave, self.locale)


NO_HINTS = SheetHints()


class SourceKind(StrEnum):
    """Where a source's sheets come from."""

    FILE = "file"  # a CSV/XLSX file in the inbox or given with --file
    FORM = "form"  # one submission of the project's own web form, by an actor's personal link
    GSHEET = "gsheet"  # a configured Google Sheets response sheet
    MEMORY = "memory"  # rows handed over in memory (tests, the web form)
    STRAY = "stray"  # an inbox file in no survey's folder: reported, never read


class RowStream(Protocol):
    """Rows read from their origin a chunk at a time (a CSV file), never held whole."""

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[list[str]], list[int]]]: ...

    def column(self, i: int) -> list[str]: ...


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
    stream: RowStream | None = None  # rows not held in memory: read from the file a chunk at a time
    actor_id: int | None = None  # the roster actor every row is from, where a personal link says (the web form)

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


@runtime_checkable
class Source(Protocol):
    """One answer sheet's origin: an inbox file, a Google sheet, a web form's answers, a test's rows.

    `fingerprint()` is cheap (a file's digest, or None where only reading tells), so that an unchanged sheet
    is skipped without being parsed; `read()` raises SourceError for this source alone.
    """

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> SourceKind: ...

    @property
    def hints(self) -> SheetHints:
        """The sector and wave known before reading: the operator's, else the file name's or the configuration's."""
        ...

    def fingerprint(self) -> str | None: ...

    def read(self) -> RawBatch: ...
