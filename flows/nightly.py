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
from bfs_pipeline.ingest import IngestResult, RunStatus
from bfs_pipeline.sources import catalog
from bfs_pipeline.sources.base import RawBatch, SheetHints, SourceKind


class SourcesFailed(SourceError):
    """Some sources could not be read or were held; the others were stored. Carries every source's result."""

    def __init__(self, message: str, results: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.results = results


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
def list_sources(survey_id: str, only: str | None, sector: str | None, wave: str | None) -> list[tuple[str, bool]]:
    """A survey's sources from the catalog, by name, each with whether it is read over the network."""
    found = catalog.sources_for(
        load_settings(), pipeline.survey_for(load_settings(), survey_id), only, SheetHints(sector, wave)
    )
    return [(s.name, s.kind == SourceKind.GSHEET) for s in found]


@task(cache_policy=NO_CACHE)
def stray_files() -> list[IngestResult]:
    """Inbox files in no survey's folder: reported as failed, never read (pipeline.pull settles them)."""
    settings = load_settings()
    with pipeline.database(settings) as engine:
        return [cast(IngestResult, pipeline.pull(engine, None, s)) for s in catalog.stray_sources(settings)]


def _pull(
    survey_id: str, names: list[str], sector: str | None, wave: str | None, catch: bool
) -> list[RawBatch | IngestResult]:
    settings = load_settings()
    survey = pipeline.survey_for(settings, survey_id)
    hints = SheetHints(sector, wave)
    with pipeline.database(settings) as engine:
        return [
            pipeline.pull(engine, survey, source, catch=catch)
            for name in names
            for source in catalog.sources_for(settings, survey, name, hints)
        ]


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def pull_files(survey_id: str, names: list[str], sector: str | None, wave: str | None) -> list[RawBatch | IngestResult]:
    """The inbox's files in one task (local reads are cheap).

    Returns the changed sheets, and results for unchanged or unreadable ones.
    """
    return _pull(survey_id, names, sector, wave, catch=True)


@task(retries=2, retry_delay_seconds=60, retry_condition_fn=transient, cache_policy=NO_CACHE)
def pull_sheet(survey_id: str, name: str, sector: str | None, wave: str | None) -> RawBatch | IngestResult:
    """One Google sheet; retried by Prefect only when Google was unreachable or overloaded."""
    (got,) = _pull(survey_id, [name], sector, wave, catch=False)
    return got


@task(cache_policy=NO_CACHE)
def store_sheet(survey_id: str, batch: RawBatch) -> IngestResult:
    """Validate and store one sheet unless its exact content was read before (status "unchanged"); an inbox file
    read without trouble then moves to read/."""
    settings = load_settings()
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        result = pipeline.ingest_one(engine, settings, survey, batch, skip_unchanged=True)
    pipeline.file_away(settings, survey, result)
    return result


@task(retries=1, retry_delay_seconds=60, cache_policy=NO_CACHE)
def retry_outbox() -> list[dict[str, Any]]:
    """Reports that wait as pending (the mail server refused or said 4xx) are tried again every night."""
    return [o.as_json() for o in pipeline.retry_pending(load_settings())]


@task(cache_policy=NO_CACHE)
def outreach(survey_id: str | None) -> list[dict[str, Any]]:
    """Invitations for the open waves, then reminders to the silent (after the night's answers are stored)."""
    return pipeline.outreach(load_settings(), survey_id)


@task(cache_policy=NO_CACHE)
def prune_inbox() -> list[dict[str, Any]]:
    """Read sheets older than BFS_INBOX_KEEP_DAYS are removed, each logged with its digest."""
    return pipeline.prune_inbox(load_settings())


INBOX = catalog.INBOX
SOURCE_DEPLOYMENT = "ingest-source/ingest-source"  # flow name / deployment name, in prefect.yaml and `bfs serve`


def ingest_survey(sid: str, sector: str | None, wave: str | None, only: str | None = None) -> list[IngestResult]:
    """One survey's sources (or only INBOX, or only one gsheet:NAME).

    Google sheets are pulled side by side, then stored one by one.
    """
    listed = list_sources(sid, only, sector, wave)
    files = [name for name, remote in listed if not remote]
    sheets = [name for name, remote in listed if remote]
    pulled: list[RawBatch | IngestResult] = pull_files(sid, files, sector, wave) if files else []
    futures = [
        pull_sheet.submit(sid, name, sector, wave) for name in sheets
    ]  # Sheets reads wait on the network: in threads
    for name, future in zip(sheets, futures, strict=True):
        try:
            pulled.append(future.result())
        except SourceError as exc:
            pulled.append(IngestResult.failed(name, sid, SheetHints(sector, wave), str(exc)))
    settled = [p for p in pulled if isinstance(p, IngestResult)]
    return settled + [store_sheet(sid, b) for b in pulled if isinstance(b, RawBatch)]  # one writer at a time


def log_results(results: list[IngestResult]) -> list[dict[str, Any]]:
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
    out = [r.as_json() for r in results]
    failed = [r for r in results if r.status == RunStatus.FAILED]
    if failed:
        raise SourcesFailed(
            f"{len(failed)} source(s) could not be read: " + "; ".join(r.error or r.source for r in failed), out
        )
    return out


@flow(name="ingest-source")
def ingest_source(
    survey_id: str, source: str = INBOX, sector: str | None = None, wave: str | None = None
) -> list[dict[str, Any]]:
    """One source of one survey: the inbox folder, or a Google sheet (gsheet:NAME).

    What the nightly run hands out to workers.
    """
    return log_results(ingest_survey(survey_id, sector, wave, only=source))


@flow(name="nightly-ingest")
def nightly_ingest(
    survey_id: str | None = None, sector: str | None = None, wave: str | None = None, spread: bool = False
) -> list[dict[str, Any]]:
    """Ingest every source that changed; a failing source is reported, and fails the run, after the others are stored.

    With spread, each source becomes a run of the ingest-source deployment, so that every worker of the
    pool can take one; this run waits for them all.
    """
    logger = get_run_logger()
    results: list[IngestResult] = stray_files()
    for r in results:
        logger.warning("%s", r.error)
    if spread:
        spread_out(survey_ids(survey_id), sector, wave)
    else:
        results += [r for sid in survey_ids(survey_id) for r in ingest_survey(sid, sector, wave)]
    for d in retry_outbox():
        logger.info("outbox: %s %s", d["recipient"], d["state"])
    for o in outreach(survey_id):
        logger.info(
            "%s %s: %s invited, %s reminded, %s without a contact address",
            o["survey"],
            o["wave"],
            o["invited"],
            o["reminded"],
            o["no_contact"],
        )
    for removed in prune_inbox():
        logger.info("removed %s (sha256 %s), read %s", removed["file"], removed["sha256"], removed["read_at"])
    return log_results(results)


def spread_out(sids: list[str], sector: str | None, wave: str | None, poll: float = 5.0) -> None:
    """Start an ingest-source run per (survey, source) and wait for all; fail when any of them failed."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    waiting = {}  # label -> flow run id
    for sid in sids:
        for source in [INBOX, *(name for name, remote in list_sources(sid, None, sector, wave) if remote)]:
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
