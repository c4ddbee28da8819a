"""The stages joined: what the CLI and the Prefect flows call. Plain functions, no Prefect here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from bfs_pipeline import db
from bfs_pipeline.config import Settings
from bfs_pipeline.errors import SourceError
from bfs_pipeline.ingest import IngestResult, ingest_batch, previous_rows, sheet_key, unchanged_since
from bfs_pipeline.mailer import Outcome, deliver
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.report import Report, build_report, write_report
from bfs_pipeline.sources import FileSource, RawBatch
from bfs_pipeline.store import current_responses
from bfs_pipeline.survey import Survey, load_surveys, pick_survey, wave_of

if TYPE_CHECKING:
    from bfs_pipeline.gsheets import SheetConfig


def open_store(settings: Settings) -> Engine:
    return db.open_database(settings.database_url)


def survey_for(settings: Settings, survey_id: str | None) -> Survey:
    return pick_survey(load_surveys(settings.surveys_dir), survey_id)


def ingest_one(
    engine: Engine,
    settings: Settings,
    survey: Survey,
    batch: RawBatch,
    skip_unchanged: bool = False,
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest one batch, holding a sheet that is empty or suddenly far shorter than its previous pull."""
    key = hash_key(settings.hash_key, settings.home)
    return ingest_batch(engine, batch, survey, key, settings.lang, skip_unchanged, hold=shrink_guard(engine, batch), on_chunk=on_chunk)


SHRINK_MIN_ROWS = 10  # below this a sheet is too small to judge
SHRINK_RATIO = 0.5


def shrink_guard(engine: Engine, batch: RawBatch) -> str | None:
    """A reason to hold a sheet that has lost most of its rows since its last pull (rows deleted or a wrong tab)."""
    if not batch.source.startswith("gsheet:"):
        return None
    before = previous_rows(engine, batch.source)
    now = batch.row_count()
    if before is not None and before >= SHRINK_MIN_ROWS and now < before * SHRINK_RATIO:
        return (
            f"{batch.source} has {now} rows, its previous pull had {before}: nothing from it was stored. "
            "If rows were deleted on purpose, nothing needs doing (stored answers stay); otherwise check the sheet."
        )
    return None


Reader = tuple[str, Callable[[], RawBatch]]


def inbox_source(settings: Settings, survey: Survey, sector: str | None = None, wave: str | None = None, locale: str | None = None) -> FileSource:
    """A survey's inbox files: the whole inbox when there is one survey, else the folder inbox/SURVEY-ID/."""
    settings.inbox.mkdir(parents=True, exist_ok=True)
    several = len(load_surveys(settings.surveys_dir)) > 1
    folder = settings.inbox / survey.id if several else settings.inbox
    folder.mkdir(parents=True, exist_ok=True)
    return FileSource.inbox(folder, list(survey.sectors), survey_id=survey.id, sector=survey.check_sector(sector), wave=wave, locale=locale)


def stray_files(settings: Settings) -> list[Path]:
    """With several surveys, inbox files outside every survey's folder: they belong to no survey until moved."""
    surveys = load_surveys(settings.surveys_dir)
    if len(surveys) < 2 or not settings.inbox.is_dir():
        return []
    everything = FileSource.inbox(settings.inbox, []).paths
    return [p for p in everything if p.relative_to(settings.inbox).parts[0] not in surveys]


def surveys_for(settings: Settings, survey_id: str | None) -> list[Survey]:
    """One survey when named, else all of them (one installation can serve several counties)."""
    surveys = load_surveys(settings.surveys_dir)
    return [pick_survey(surveys, survey_id)] if survey_id else list(surveys.values())


def readers(
    settings: Settings,
    survey: Survey,
    file: Path | None = None,
    sector: str | None = None,
    wave: str | None = None,
    locale: str | None = None,
    only: str | None = None,
    inbox_files: bool = True,
    google: bool = True,
) -> list[Reader]:
    """What to read: one file, or every inbox file and every configured Google Sheets source (or just `only`)."""
    sector = survey.check_sector(sector)
    wave = wave_of(wave) if wave else None
    sectors = list(survey.sectors)
    if file is not None:
        fs = FileSource([file], sectors, survey.id, sector, wave, locale, name=str(file))
        return [(str(file), lambda: fs.read(file))]
    inbox = inbox_source(settings, survey, sector, wave, locale)
    out: list[Reader] = [] if only or not inbox_files else [(str(p), lambda p=p: inbox.read(p)) for p in inbox.paths]  # type: ignore[misc]
    if not google:
        return out
    configs = [c for c in settings.sources if (c.survey or survey.id) == survey.id and (only is None or c.name == only)]
    if only and not configs:
        known = ", ".join(c.name for c in settings.sources) or "none (add [[sources]] to bfs.toml)"
        raise SourceError(f"No configured source {only!r}; the sources are {known}.")
    out += google_readers(settings, configs)
    return out


def google_readers(settings: Settings, configs: list[SheetConfig]) -> list[Reader]:
    """A reader per configured response sheet; without usable credentials each one fails with the same message."""
    if not configs:
        return []
    from bfs_pipeline import gsheets

    try:
        client, account = gsheets.service_account_client(settings.google_service_account_file)
    except SourceError as exc:
        problem = exc

        def fail() -> RawBatch:
            raise problem

        return [(f"gsheet:{c.name}", fail) for c in configs]
    limiter = gsheets.RateLimiter()  # one quota for all sheets read with this account
    return [(f"gsheet:{c.name}", gsheets.GoogleSheetSource(c, client, account, limiter=limiter).read) for c in configs]


def ingest_files(
    settings: Settings,
    survey_id: str | None = None,
    file: Path | None = None,
    sector: str | None = None,
    wave: str | None = None,
    locale: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
    only: str | None = None,
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest one file, or every configured source of every survey; a source that cannot be read is reported and the others still run."""
    if file is not None or only is not None:
        survey = survey_for(settings, survey_id) if file is not None else _survey_of_source(settings, survey_id, only)
        plan = [(survey, readers(settings, survey, file, sector, wave, locale, only))]
    else:
        plan = [(sv, readers(settings, sv, None, sector, wave, locale)) for sv in surveys_for(settings, survey_id)]
    engine = open_store(settings)
    results = []
    for path in stray_files(settings) if file is None and only is None else []:
        res = IngestResult(
            0, str(path), "", sector, wave, "failed", error=f"{path} is in no survey's folder: move it to {settings.inbox}/SURVEY-ID/ (bfs survey list)."
        )
        results.append(res)
        if progress:
            progress(res)
    try:
        for survey, todo in plan:
            for name, read in todo:
                try:
                    batch = read()
                except SourceError as exc:
                    if file is not None:
                        raise
                    res = IngestResult(0, name, survey.id, sector, wave, "failed", error=str(exc))
                else:
                    res = ingest_one(engine, settings, survey, batch, on_chunk=on_chunk)
                results.append(res)
                if progress:
                    progress(res)
    finally:
        engine.dispose()
    return results


def _survey_of_source(settings: Settings, survey_id: str | None, name: str | None) -> Survey:
    cfg = next((c for c in settings.sources if c.name == name), None)
    return survey_for(settings, survey_id or (cfg.survey if cfg else None))


def google_source_names(settings: Settings, survey_id: str | None = None) -> list[str]:
    """The configured Google Sheets sources of a survey, as gsheet:NAME."""
    survey = survey_for(settings, survey_id)
    return [f"gsheet:{c.name}" for c in settings.sources if (c.survey or survey.id) == survey.id]


def read_source(settings: Settings, name: str, survey_id: str | None = None, sector: str | None = None, wave: str | None = None) -> RawBatch:
    """Read one source by the name `source_names` gave: an inbox path or gsheet:NAME."""
    survey = survey_for(settings, survey_id)
    if name.startswith("gsheet:"):
        ((_, read),) = readers(settings, survey, None, sector, wave, only=name.removeprefix("gsheet:"))
    else:
        ((_, read),) = readers(settings, survey, Path(name), sector, wave)
    return read()


def check_sources(settings: Settings, survey_id: str | None = None, only: str | None = None) -> list[dict[str, Any]]:
    """For each source: can it be read, how many rows, which columns map to which questions, which do not."""

    out: list[dict[str, Any]] = []
    for path in stray_files(settings) if only is None else []:
        out.append(
            {
                "source": str(path),
                "readable": False,
                "ok": False,
                "error": f"{path} is in no survey's folder: move it to {settings.inbox}/SURVEY-ID/.",
                "rows": None,
                "columns": [],
                "unmapped": [],
                "missing": [],
            }
        )
    for survey in surveys_for(settings, survey_id):
        out += _check(settings, survey, only)
    return out


def _check(settings: Settings, survey: Survey, only: str | None) -> list[dict[str, Any]]:
    from bfs_pipeline import normalize as nz
    from bfs_pipeline.errors import HeaderError

    out: list[dict[str, Any]] = []
    if only is not None and not any(c.name == only and (c.survey or survey.id) == survey.id for c in settings.sources):
        return out
    for name, read in readers(settings, survey, only=only):
        entry: dict[str, Any] = {"source": name, "readable": False, "ok": False, "error": None, "rows": None, "columns": [], "unmapped": [], "missing": []}
        out.append(entry)
        try:
            batch = read()
        except SourceError as exc:
            entry["error"] = str(exc)
            continue
        entry.update(readable=True, rows=batch.row_count(), sector=batch.sector, wave=batch.wave, timezone=batch.timezone or survey.timezone)
        form = survey.columns(batch.sector if batch.sector in survey.sectors else None, batch.wave)
        lookup = {nz.key(a): c for c in form for a in (c.title, *c.aliases)}
        found = set()
        for title in batch.header:
            col = lookup.get(nz.key(title)) if nz.clean(title) else None
            if col is None:
                if nz.clean(title):
                    entry["unmapped"].append(nz.clean(title))
                continue
            found.add(col.question_id or col.type)
            entry["columns"].append({"title": nz.clean(title), "question_id": col.question_id, "type": col.type})
        entry["missing"] = [c.title for c in form if c.required and (c.question_id or c.type) not in found and c.type != "sector"]
        try:
            nz.map_header(batch, survey)
            entry["ok"] = True
        except HeaderError as exc:
            entry["error"] = str(exc)
    return out


def pull_changed(
    settings: Settings, survey_id: str | None = None, sector: str | None = None, wave: str | None = None, google: bool = True
) -> tuple[list[RawBatch], list[IngestResult]]:
    """Read every source (the inbox only, without google): the sheets to ingest, and results for those unchanged or unreadable.

    An inbox file whose bytes have not changed since its last run is not even parsed.
    """
    survey = survey_for(settings, survey_id)
    engine = open_store(settings)
    batches: list[RawBatch] = []
    settled: list[IngestResult] = []
    settings.inbox.mkdir(parents=True, exist_ok=True)
    inbox = FileSource.inbox(
        settings.inbox, list(survey.sectors), survey_id=survey.id, sector=survey.check_sector(sector), wave=wave_of(wave) if wave else None
    )
    try:
        for path in inbox.paths:
            try:
                f_sector, f_wave, digest = inbox.describe(path)
                earlier = unchanged_since(engine, (str(path), sheet_key(survey.id, f_sector, f_wave, digest)), survey)
                if earlier is not None:
                    settled.append(IngestResult(earlier, str(path), survey.id, f_sector, f_wave, "unchanged"))
                    continue
                batches.append(inbox.read(path))
            except SourceError as exc:
                settled.append(IngestResult(0, str(path), survey.id, sector, wave, "failed", error=str(exc)))
        for name, read in readers(settings, survey, None, sector, wave, inbox_files=False, google=google):
            try:
                batch = read()
            except SourceError as exc:
                settled.append(IngestResult(0, name, survey.id, sector, wave, "failed", error=str(exc)))
                continue
            earlier = unchanged_since(engine, batch, survey)
            if earlier is None:
                batches.append(batch)
            else:
                settled.append(IngestResult(earlier, batch.source, survey.id, batch.sector, batch.wave, "unchanged"))
    finally:
        engine.dispose()
    return batches, settled


def render(settings: Settings, period: str, lang: str | None = None, survey_id: str | None = None, out: Path | None = None) -> Report:
    """Build the period's report and write its HTML and text under out (default BFS_HOME/reports/PERIOD)."""
    survey = survey_for(settings, survey_id)
    period = resolve_period(period)
    engine = open_store(settings)
    try:
        from bfs_pipeline.roster import roster_frame

        report = build_report(
            survey,
            current_responses(engine, survey.id),
            period,
            lang or settings.lang,
            roster=roster_frame(engine, county=survey.county),
            min_coverage=settings.alert_coverage,
        )
    finally:
        engine.dispose()
    write_report(report, out or settings.reports_dir / period)
    return report


def resolve_period(period: str, today: dt.date | None = None) -> str:
    """A wave name, or 'previous' for the last quarter that has ended."""
    if period.strip().lower() == "previous":
        today = today or dt.date.today()
        q = (today.month - 1) // 3 + 1
        return f"{today.year}-Q{q - 1}" if q > 1 else f"{today.year - 1}-Q4"
    return wave_of(period)


def retry_pending(settings: Settings) -> list[Outcome]:
    """Deliver again what waits as pending (a refused connection or a 4xx reply earlier); never uncertain ones."""
    from bfs_pipeline.mailer import outbox_rows

    engine = open_store(settings)
    try:
        waiting = [r for r in outbox_rows(engine) if r["state"] == "pending"]
    finally:
        engine.dispose()
    out: list[Outcome] = []
    for key in sorted({r["report"] for r in waiting}):
        survey_id, period, lang = key.split(":")
        report = render(settings, period, lang, survey_id)
        out += send(settings, report, tuple(r["recipient"] for r in waiting if r["report"] == key))
    return out


def send(settings: Settings, report: Report, recipients: tuple[str, ...] | None = None) -> list[Outcome]:
    """Deliver a report to the given recipients, else the survey's own (report_to in its file), else BFS_REPORT_TO."""
    engine = open_store(settings)
    try:
        return deliver(engine, settings, report, recipients or survey_for(settings, report.survey_id).report_to or None)
    finally:
        engine.dispose()


__all__ = ["SourceError", "ingest_files", "ingest_one", "open_store", "render", "send", "survey_for"]
