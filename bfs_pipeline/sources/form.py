"""One submission of the project's own web form as a Source: a sheet of one row, with the codebook's header.

The web form's answers go through the same door as every other sheet (normalising, the GX suite, storing with
an ingest run and a content hash): the form only turns its fields into the row a form export would have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bfs_pipeline.sources.base import RawBatch, SheetHints, SourceKind
from bfs_pipeline.survey import Column, Survey

FORM_PREFIX = "form:"
SHEET_ROW = 2  # the one row under the header


def form_columns(survey: Survey, sector: str, wave: str) -> list[Column]:
    """The sheet columns of one sector's form in a wave (Swedish titles: the header is the codebook's)."""
    return survey.columns(sector, wave, "sv")


def source_name(survey_id: str, wave: str) -> str:
    return f"{FORM_PREFIX}{survey_id}/{wave}"


@dataclass
class FormSource:
    """One actor's submission: answers by question id (several values for checkboxes), known organisation,
    sector and wave from the personal link, and the moment it was submitted."""

    survey: Survey
    sector: str
    wave: str
    organisation: str
    answers: Mapping[str, Sequence[str]]
    actor_id: int | None = None
    submitted: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    kind: SourceKind = SourceKind.FORM

    @property
    def name(self) -> str:
        return source_name(self.survey.id, self.wave)

    @property
    def hints(self) -> SheetHints:
        return SheetHints(self.sector, self.wave)

    def fingerprint(self) -> str | None:
        return None

    def read(self) -> RawBatch:
        columns = form_columns(self.survey, self.sector, self.wave)
        row = []
        for c in columns:
            if c.type == "timestamp":
                row.append(self.submitted.astimezone(dt.UTC).isoformat(timespec="microseconds"))
            elif c.type == "organisation":
                row.append(self.organisation)
            elif c.question_id is not None:
                values = [v.strip() for v in self.answers.get(c.question_id, ()) if v and v.strip()]
                row.append("; ".join(values))
            else:  # e-mail: the link says who answers, no address is asked
                row.append("")
        return RawBatch(
            source=self.name,
            header=[c.title for c in columns],
            rows=[row],
            sheet_rows=[SHEET_ROW],
            survey_id=self.survey.id,
            sector=self.sector,
            wave=self.wave,
            locale="sv-SE",
            timezone="UTC",
            fetched_at=self.submitted,
            actor_id=self.actor_id,
        )
