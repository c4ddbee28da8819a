"""The support log in the database: importing the coordinator's file, listing its events, and the events as a
DataFrame for the report.

Each row of the file ends up accepted, a duplicate (its normalised content is stored already, or came earlier in
the file), blank, or quarantined with all its reasons; the counts add up. Importing the same file again stores
nothing new. The file is read whole before anything is stored, and stored in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import db
from bfs_pipeline.errors import SourceError
from bfs_pipeline.normalize import clean
from bfs_pipeline.sources import read_csv, read_xlsx
from bfs_pipeline.support.models import SupportEvent, SupportImport, SupportKind, SupportQuarantine
from bfs_pipeline.support.parse import Event, Field, Reason, Vocabulary, check_row, locate_columns
from bfs_pipeline.support.template import is_example
from bfs_pipeline.survey import Survey

CHUNK = 500  # content hashes looked up per query


@dataclass
class ImportResult:
    """What one import did; rows_seen == accepted + duplicates + blank + quarantined."""

    import_id: int | None
    source: str
    survey: str
    rows_seen: int = 0
    accepted: int = 0
    duplicates: int = 0
    blank: int = 0
    quarantined: int = 0
    withdrawn: int = 0  # events of earlier imports of this file no longer in it, withdrawn (--replace)
    stale: int = 0  # such events kept, because --replace was not given
    ignored_columns: list[str] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # sheet_row, raw, reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "source": self.source,
            "survey": self.survey,
            "rows_seen": self.rows_seen,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "blank": self.blank,
            "quarantined": self.quarantined,
            "withdrawn": self.withdrawn,
            "stale": self.stale,
            "ignored_columns": self.ignored_columns,
            "quarantine": self.quarantine,
        }


def read_file(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and sheet row numbers of a CSV (comma or semicolon) or XLSX file (its first sheet)."""
    if not path.is_file():
        raise SourceError(f"{path} does not exist. Give the path of the support log (.csv or .xlsx).")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix == ".xlsx":
        return read_xlsx(path)
    raise SourceError(f"{path} is neither .csv nor .xlsx: save the support log as CSV or Excel.")


def today_in(survey: Survey) -> dt.date:
    return dt.datetime.now(ZoneInfo(survey.timezone)).date()


def import_log(
    engine: Engine,
    path: Path,
    survey: Survey,
    replace: bool = False,
    today: dt.date | None = None,
    lang: str = "sv",
) -> ImportResult:
    """Check every row of the file and store the new events; see the module's docstring.

    Events that earlier imports of a file of the same name stored and that the file no longer has are counted as
    stale, or withdrawn (kept, marked) with replace. today: the last date an event may have (default: today in
    the survey's time zone). A missing column raises SourceError before anything is stored.
    """
    header, rows, numbers = read_file(path)
    where, titles, ignored = locate_columns(header, str(path))
    vocab = Vocabulary.of(survey)
    today = today or today_in(survey)
    result = ImportResult(None, path.name, survey.id, ignored_columns=ignored)
    checked: list[tuple[int, str, Event]] = []  # (sheet row, content hash, event)
    kept: list[tuple[int, dict[str, str], list[Reason]]] = []
    seen: set[str] = set()
    for row, number in zip(rows, numbers, strict=True):
        result.rows_seen += 1
        cells = {f: clean(row[i]) if i < len(row) else "" for f, i in where.items()}
        if not any(cells.values()):
            result.blank += 1
            continue
        raw = {clean(t) or f"({i + 1})": clean(row[i]) if i < len(row) else "" for i, t in enumerate(header)}
        if is_example(cells):
            kept.append((number, raw, [_example_reason(titles, cells, lang)]))
            continue
        event, reasons = check_row(cells, titles, vocab, today, lang)
        if event is None:
            kept.append((number, raw, reasons))
            continue
        digest = event.content_hash(survey.id)
        if digest in seen:
            result.duplicates += 1
            continue
        seen.add(digest)
        checked.append((number, digest, event))
    result.quarantined = len(kept)
    result.quarantine = [
        {"sheet_row": n, "raw": raw, "reasons": [r.as_json() for r in reasons]} for n, raw, reasons in kept
    ]
    now = dt.datetime.now(dt.UTC)
    with Session(db.writer(engine)) as s, s.begin():
        db.lock(s, f"bfs:support:{survey.id}")
        stored: dict[str, SupportEvent] = {}
        hashes = [d for _, d, _ in checked]
        for i in range(0, len(hashes), CHUNK):
            q = select(SupportEvent).where(SupportEvent.content_hash.in_(hashes[i : i + CHUNK]))
            stored.update({e.content_hash: e for e in s.scalars(q)})
        run = SupportImport(source=str(path), survey_id=survey.id, file_hash=_file_hash(path), at=now)
        s.add(run)
        s.flush()
        county = survey.county
        for number, digest, event in checked:
            old = stored.get(digest)
            if old is not None and old.withdrawn_at is None:
                result.duplicates += 1
                continue
            if old is not None:  # withdrawn by an earlier --replace, and back in the file
                old.withdrawn_at = None
                result.accepted += 1
                continue
            s.add(_event_row(event, digest, run.id, survey.id, county, path.name, number))
            result.accepted += 1
        for number, raw, reasons in kept:
            s.add(
                SupportQuarantine(
                    import_id=run.id,
                    source=path.name,
                    sheet_row=number,
                    raw=raw,
                    reasons=[r.as_json() for r in reasons],
                )
            )
        earlier = s.scalars(
            select(SupportEvent).where(
                SupportEvent.survey_id == survey.id,
                SupportEvent.source == path.name,
                SupportEvent.withdrawn_at.is_(None),
                SupportEvent.import_id != run.id,
            )
        )
        gone = [e for e in earlier if e.content_hash not in seen]
        if replace:
            for e in gone:
                e.withdrawn_at = now
            result.withdrawn = len(gone)
        else:
            result.stale = len(gone)
        run.rows_seen, run.accepted, run.duplicates = result.rows_seen, result.accepted, result.duplicates
        run.blank, run.quarantined, run.withdrawn = result.blank, result.quarantined, result.withdrawn
        result.import_id = run.id
    return result


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _example_reason(titles: dict[Field, str], cells: dict[Field, str], lang: str) -> Reason:
    from bfs_pipeline import i18n

    _ = i18n.translator(lang)
    column = titles.get(Field.MOTTAGARE, Field.MOTTAGARE.value)
    return Reason(
        column,
        cells.get(Field.MOTTAGARE, ""),
        "example_row",
        _("Mallens exempelrad: ta bort raden eller skriv över den med ett riktigt stödtillfälle."),
    )


def _event_row(
    event: Event, digest: str, import_id: int, survey_id: str, county: str, source: str, number: int
) -> SupportEvent:
    return SupportEvent(
        import_id=import_id,
        survey_id=survey_id,
        county=county,
        datum=event.datum,
        period=event.period,
        county_wide=event.county_wide,
        municipalities=list(event.municipalities),
        recipient=event.recipient,
        sector=event.sector,
        needs=list(event.needs),
        kind=event.kind.value,
        hours=event.hours,
        participants=event.participants,
        content_hash=digest,
        source=source,
        sheet_row=number,
    )


def list_events(
    engine: Engine, survey_id: str | None = None, periods: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The events not withdrawn (of one survey, of these quarters), oldest first, as the JSON of `bfs support list`."""
    with Session(engine) as s:
        q = select(SupportEvent).where(SupportEvent.withdrawn_at.is_(None))
        if survey_id is not None:
            q = q.where(SupportEvent.survey_id == survey_id)
        if periods is not None:
            q = q.where(SupportEvent.period.in_(list(periods)))
        q = q.order_by(SupportEvent.datum, SupportEvent.id)
        return [
            {
                "id": e.id,
                "survey": e.survey_id,
                "datum": e.datum.isoformat(),
                "period": e.period,
                "municipalities": list(e.municipalities),
                "county_wide": e.county_wide,
                "mottagare": e.recipient,
                "sector": e.sector,
                "needs": list(e.needs),
                "typ": e.kind,
                "hours": e.hours,
                "participants": e.participants,
                "source": e.source,
                "sheet_row": e.sheet_row,
            }
            for e in s.scalars(q)
        ]


EVENT_COLUMNS = [
    "event_id",
    "datum",
    "period",
    "municipality",
    "county_wide",
    "sector",
    "need",
    "kind",
    "hours",
    "participants",
    "n_municipalities",
    "n_needs",
    "weight",
]


def events(engine: Engine, survey: Survey | str, periods: Iterable[str] | None = None) -> pd.DataFrame:
    """The support given, one row per (event, municipality, need), for the report (events withdrawn left out).

    Columns:
      event_id (int), datum (datetime.date), period ("YYYY-Qn"), municipality (SCB code, str), county_wide (bool:
      the event was for the whole county, and has a row for each of its municipalities), sector (the survey's
      sector code), need (question id, "B05"), kind (a SupportKind value: "metodstöd", ...), hours (float) and
      participants (int): the whole event's, repeated on each of its rows; n_municipalities and n_needs (the
      event's counts) and weight = 1 / (n_municipalities * n_needs).

    Sum `hours * weight` (or `participants * weight`) over any grouping to share an event's hours out without
    counting them twice: over all rows it gives the log's total. Count events with `event_id.nunique()`.
    periods: only these quarters (None: all). An empty log gives an empty frame with these columns.
    """
    survey_id = survey if isinstance(survey, str) else survey.id
    out: list[dict[str, Any]] = []
    for e in list_events(engine, survey_id, periods):
        munis, needs = e["municipalities"], e["needs"]
        weight = 1.0 / (len(munis) * len(needs))
        for code in munis:
            for need in needs:
                out.append(
                    {
                        "event_id": e["id"],
                        "datum": dt.date.fromisoformat(e["datum"]),
                        "period": e["period"],
                        "municipality": code,
                        "county_wide": e["county_wide"],
                        "sector": e["sector"],
                        "need": need,
                        "kind": SupportKind(e["typ"]).value,
                        "hours": float(e["hours"]),
                        "participants": int(e["participants"]),
                        "n_municipalities": len(munis),
                        "n_needs": len(needs),
                        "weight": weight,
                    }
                )
    frame = pd.DataFrame(out, columns=EVENT_COLUMNS)
    return frame.astype({"event_id": "int64", "hours": "float64", "participants": "int64", "weight": "float64"})


def quarantined(engine: Engine, import_id: int | None = None) -> list[dict[str, Any]]:
    """The rows of support logs kept out of the events, with their reasons (one import's, or all)."""
    with Session(engine) as s:
        q = select(SupportQuarantine).order_by(SupportQuarantine.id)
        if import_id is not None:
            q = q.where(SupportQuarantine.import_id == import_id)
        return [
            {"import_id": r.import_id, "source": r.source, "sheet_row": r.sheet_row, "raw": r.raw, "reasons": r.reasons}
            for r in s.scalars(q)
        ]
