"""Rows handed over in memory as a Source: the test double of every other source (as httpx's MockTransport)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bfs_pipeline.errors import SourceError
from bfs_pipeline.sources.base import RawBatch, SheetHints, SourceKind


@dataclass
class MemorySource:
    """A sheet given as a header and rows; `error` makes read() fail as an unreadable source would."""

    name: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    hints: SheetHints = field(default_factory=SheetHints)
    survey_id: str | None = None
    error: str | None = None
    digest: str | None = None
    kind: SourceKind = SourceKind.MEMORY
    reads: int = 0  # how often read() was called

    def fingerprint(self) -> str | None:
        return self.digest

    def read(self) -> RawBatch:
        self.reads += 1
        if self.error is not None:
            raise SourceError(self.error)
        return RawBatch(
            source=self.name,
            header=list(self.header),
            rows=[list(r) for r in self.rows],
            sheet_rows=list(range(2, len(self.rows) + 2)),
            survey_id=self.survey_id,
            sector=self.hints.sector,
            wave=self.hints.wave,
            locale=self.hints.locale,
            fingerprint=self.digest,
            fetched_at=dt.datetime.now(dt.UTC),
        )


@dataclass
class FailingSource:
    """A source known to be unusable before it is read: a Google sheet without credentials, a stray inbox file.
    read() raises its error."""

    name: str
    error: SourceError
    kind: SourceKind = SourceKind.GSHEET
    hints: SheetHints = field(default_factory=SheetHints)

    def fingerprint(self) -> str | None:
        return None

    def read(self) -> RawBatch:
        raise self.error
