"""The stages joined: what the CLI and the Prefect flows call. Plain functions, no Prefect here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from bfs_pipeline import db
from bfs_pipeline.config import Settings
from bfs_pipeline.errors import SourceError
from bfs_pipeline.ingest import IngestResult, fail_run, ingest_batch, unchanged_since
from bfs_pipeline.mailer import Outcome, deliver
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.report import Report, build_report, write_report
from bfs_pipeline.sources import FileSource, RawBatch
from bfs_pipeline.store import current_responses
from bfs_pipeline.survey import Survey, load_surveys, pick_survey, wave_of


def open_store(settings: Settings) -> Engine:
    return db.open_database(settings.database_url)


def survey_for(settings: Settings, survey_id: str | None) -> Survey:
    return pick_survey(load_surveys(settings.surveys_dir), survey_id)


def file_source(
    settings: Settings, survey: Survey, file: Path | None = None, sector: str | None = None, wave: str | None = None, locale: str | None = None
) -> FileSource:
    """One file given by the user, or every CSV/XLSX file in the inbox folder."""
    sector = survey.check_sector(sector)
    wave = wave_of(wave) if wave else None
    sectors = list(survey.sectors)
    if file is not None:
        return FileSource([file], sectors, survey.id, sector, wave, locale, name=str(file))
    settings.inbox.mkdir(parents=True, exist_ok=True)
    return FileSource.inbox(settings.inbox, sectors, survey_id=survey.id, sector=sector, wave=wave, locale=locale)


def ingest_one(engine: Engine, settings: Settings, survey: Survey, batch: RawBatch, skip_unchanged: bool = False) -> IngestResult:
    key = hash_key(settings.hash_key, settings.home)
    return ingest_batch(engine, batch, survey, key, settings.lang, skip_unchanged)


def ingest_files(
    settings: Settings,
    survey_id: str | None = None,
    file: Path | None = None,
    sector: str | None = None,
    wave: str | None = None,
    locale: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest one file or the whole inbox; a file that cannot be read is reported and the others still run."""
    survey = survey_for(settings, survey_id)
    source = file_source(settings, survey, file, sector, wave, locale)
    engine = open_store(settings)
    results = []
    for path in source.paths:
        try:
            batch = source.read(path)
        except SourceError as exc:
            if file is not None:
                raise
            res = IngestResult(0, str(path), survey.id, sector, wave, "failed", error=str(exc))
        else:
            res = ingest_one(engine, settings, survey, batch)
        results.append(res)
        if progress:
            progress(res)
    engine.dispose()
    return results


def pull_changed(
    settings: Settings, survey_id: str | None = None, sector: str | None = None, wave: str | None = None
) -> tuple[list[RawBatch], list[IngestResult]]:
    """Read the inbox: the sheets to ingest, and results for those unchanged since their last run or unreadable."""
    survey = survey_for(settings, survey_id)
    source = file_source(settings, survey, None, sector, wave)
    engine = open_store(settings)
    batches: list[RawBatch] = []
    settled: list[IngestResult] = []
    try:
        for path in source.paths:
            try:
                batch = source.read(path)
            except SourceError as exc:
                settled.append(IngestResult(0, str(path), survey.id, sector, wave, "failed", error=str(exc)))
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
        report = build_report(survey, current_responses(engine, survey.id), period, lang or settings.lang)
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


def send(settings: Settings, report: Report) -> list[Outcome]:
    engine = open_store(settings)
    try:
        return deliver(engine, settings, report)
    finally:
        engine.dispose()


__all__ = ["SourceError", "fail_run", "ingest_files", "ingest_one", "open_store", "render", "send", "survey_for"]
