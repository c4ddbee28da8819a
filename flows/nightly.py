"""The nightly ingest: read every configured source, validate and store each answer sheet that changed.

Flows take no settings as parameters: Prefect stores parameters in its database, and secrets must not go
there. Each task reads the settings from the environment it runs in.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bfs_pipeline import pipeline
from bfs_pipeline.config import load_settings
from bfs_pipeline.ingest import IngestResult
from bfs_pipeline.sources import RawBatch


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def pull(survey_id: str | None, sector: str | None, wave: str | None) -> tuple[list[RawBatch], list[IngestResult]]:
    """Read every source; sheets unchanged since their last run, or unreadable, come back as results."""
    return pipeline.pull_changed(load_settings(), survey_id, sector, wave)


@task(cache_policy=NO_CACHE)
def store(survey_id: str | None, batch: RawBatch) -> IngestResult:
    settings = load_settings()
    engine = pipeline.open_store(settings)
    try:
        return pipeline.ingest_one(engine, settings, pipeline.survey_for(settings, survey_id), batch)
    finally:
        engine.dispose()


@flow(name="nightly-ingest")
def nightly_ingest(survey_id: str | None = None, sector: str | None = None, wave: str | None = None) -> list[dict[str, Any]]:
    """Ingest every changed answer sheet; a source that fails is reported after the others are stored."""
    logger = get_run_logger()
    batches, settled = pull(survey_id, sector, wave)
    results = settled + [store(survey_id, b) for b in batches]
    for r in results:
        logger.info(
            "%s: %s, %s seen, %s accepted, %s duplicates, %s blank, %s quarantined",
            r.source,
            r.status,
            r.rows_seen,
            r.accepted,
            r.duplicates,
            r.blank,
            r.quarantined,
        )
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise pipeline.SourceError(f"{len(failed)} source(s) could not be read: " + "; ".join(r.error or "" for r in failed))
    return [r.as_json() for r in results]
