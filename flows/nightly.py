"""The nightly ingest: read every configured source, validate and store each answer sheet that changed.

Flows take no settings as parameters: Prefect stores parameters in its database, and secrets must not go
there. Each task reads the settings from the environment it runs in.
"""

from __future__ import annotations

import time
from typing import Any, cast

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun, State, TaskRun

from bfs_pipeline import pipeline
from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import SourceError, TransientSourceError
from bfs_pipeline.ingest import IngestResult
from bfs_pipeline.sources import RawBatch


def transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a pull only when Google was unreachable or overloaded, never on a 403, 404 or bad sheet."""
    try:
        state.result()
    except TransientSourceError:
        return True
    except Exception:
        return False
    return False


@task(cache_policy=NO_CACHE)
def survey_ids(survey_id: str | None) -> list[str]:
    """The survey named, or every survey: one installation can serve several counties."""
    return [s.id for s in pipeline.surveys_for(load_settings(), survey_id)]


@task(cache_policy=NO_CACHE)
def google_sources(survey_id: str | None) -> list[str]:
    return pipeline.google_source_names(load_settings(), survey_id)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def pull_inbox(survey_id: str | None, sector: str | None, wave: str | None) -> tuple[list[RawBatch], list[IngestResult]]:
    """The inbox's files in one task (local reads are cheap): changed sheets, and results for unchanged or unreadable ones."""
    return pipeline.pull_changed(load_settings(), survey_id, sector, wave, google=False)


@task(retries=2, retry_delay_seconds=60, retry_condition_fn=transient, cache_policy=NO_CACHE)
def pull(name: str, survey_id: str | None, sector: str | None, wave: str | None) -> RawBatch:
    """One Google Sheets source; retried by Prefect only when Google was unreachable or overloaded."""
    return pipeline.read_source(load_settings(), name, survey_id, sector, wave)


@task(cache_policy=NO_CACHE)
def store(survey_id: str | None, batch: RawBatch) -> IngestResult:
    """Store a sheet unless its exact content was read before (status "unchanged")."""
    settings = load_settings()
    engine = pipeline.open_store(settings)
    try:
        return pipeline.ingest_one(engine, settings, pipeline.survey_for(settings, survey_id), batch, skip_unchanged=True)
    finally:
        engine.dispose()


@task(retries=1, retry_delay_seconds=60, cache_policy=NO_CACHE)
def retry_outbox() -> list[dict[str, Any]]:
    """Reports that wait as pending (the mail server refused or said 4xx) are tried again every night."""
    return [o.__dict__ for o in pipeline.retry_pending(load_settings())]


INBOX = "inbox"
SOURCE_DEPLOYMENT = "ingest-source/ingest-source"  # flow name / deployment name, in prefect.yaml and `bfs serve`


def ingest_survey(sid: str, sector: str | None, wave: str | None, only: str | None = None) -> list[IngestResult]:
    """One survey's sources (or only INBOX, or only one gsheet:NAME): Google sheets pulled side by side, then stored one by one."""
    results: list[IngestResult] = []
    batches: list[RawBatch] = []
    if only in (None, INBOX):
        batches, settled = pull_inbox(sid, sector, wave)
        results += settled
    names = [n for n in google_sources(sid) if only in (None, n)]
    futures = [pull.submit(name, sid, sector, wave) for name in names]  # Sheets reads wait on the network: in threads
    for name, future in zip(names, futures, strict=True):
        try:
            batches.append(future.result())
        except SourceError as exc:
            results.append(IngestResult(0, name, sid, sector, wave, "failed", error=str(exc)))
    return results + [store(sid, b) for b in batches]  # one writer at a time


def report(results: list[IngestResult]) -> list[dict[str, Any]]:
    """Log each source's counts; fail the run, after the others are stored, when a source could not be read."""
    logger = get_run_logger()
    for r in results:
        logger.info(
            "%s: %s, %s rows: %s accepted, %s duplicates, %s blank, %s quarantined",
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
        raise SourceError(f"{len(failed)} source(s) could not be read: " + "; ".join(r.error or r.source for r in failed))
    return [r.as_json() for r in results]


@flow(name="ingest-source")
def ingest_source(survey_id: str, source: str = INBOX, sector: str | None = None, wave: str | None = None) -> list[dict[str, Any]]:
    """One source of one survey: the inbox folder, or a Google sheet (gsheet:NAME). What the nightly run hands out to workers."""
    return report(ingest_survey(survey_id, sector, wave, only=source))


@flow(name="nightly-ingest")
def nightly_ingest(survey_id: str | None = None, sector: str | None = None, wave: str | None = None, spread: bool = False) -> list[dict[str, Any]]:
    """Ingest every source that changed; a source that fails is reported, and fails the run, after the others are stored.

    With spread, each source becomes a run of the ingest-source deployment, so that every worker of the
    pool can take one; this run waits for them all.
    """
    logger = get_run_logger()
    for path in pipeline.stray_files(load_settings()):
        logger.warning("%s is in no survey's folder: move it to inbox/SURVEY-ID/", path)
    if spread:
        spread_out(survey_ids(survey_id), sector, wave)
        results: list[IngestResult] = []
    else:
        results = [r for sid in survey_ids(survey_id) for r in ingest_survey(sid, sector, wave)]
    for d in retry_outbox():
        logger.info("outbox: %s %s", d["recipient"], d["state"])
    return report(results)


def spread_out(sids: list[str], sector: str | None, wave: str | None, poll: float = 5.0) -> None:
    """Start an ingest-source run per (survey, source) and wait for all; fail when any of them failed."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    waiting = {}  # label -> flow run id
    for sid in sids:
        for source in [INBOX, *google_sources(sid)]:
            params = {"survey_id": sid, "source": source, "sector": sector, "wave": wave}
            run = cast(FlowRun, run_deployment(SOURCE_DEPLOYMENT, parameters=params, timeout=0, as_subflow=True))
            logger.info("%s %s: flow run %s", sid, source, run.name)
            waiting[f"{sid} {source}"] = run.id
    failed = []
    with get_client(sync_client=True) as client:
        while waiting:
            for label, run_id in list(waiting.items()):
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    del waiting[label]
                    logger.info("%s: %s", label, state.name)
                    if not state.is_completed():
                        failed.append(f"{label}: {state.message or state.name}")
            if waiting:
                time.sleep(poll)
    if failed:
        raise SourceError(f"{len(failed)} source run(s) did not complete: " + "; ".join(failed))
