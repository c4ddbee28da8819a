"""The quarterly report: render the period's needs report and deliver it to the coordinator; then, with
BFS_MUNICIPAL_REPORTS=true, each municipality's own report to its opted-in roster contacts."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from bfs_pipeline import pipeline
from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import BfsError, ReportError
from bfs_pipeline.report import Report


@task(cache_policy=NO_CACHE)
def render_report(period: str, lang: str | None, survey_id: str | None) -> Report:
    return pipeline.render(load_settings(), period, lang, survey_id)


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def deliver_report(report: Report) -> list[dict[str, Any]]:
    return [o.as_json() for o in pipeline.send(load_settings(), report)]


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def deliver_municipal_reports(period: str, survey_id: str) -> list[dict[str, Any]]:
    return [run.as_json() for run in pipeline.municipal_reports(load_settings(), period, survey_id)]


@flow(name="quarterly-report")
def quarterly_report(
    period: str, lang: str | None = None, survey_id: str | None = None, send: bool = True
) -> dict[str, Any]:
    """Render the period's report for the survey named, or every survey (county), and deliver each unless send is false.

    Returns the (first) report's files, summary, alerts and deliveries, and every report under "reports". With
    BFS_MUNICIPAL_REPORTS=true and send, each municipality's own report follows its county's (under "municipal").
    """
    out, failed = [], []
    settings = load_settings()
    for sid in [s.id for s in pipeline.surveys_for(settings, survey_id)]:
        try:
            report = render_report(period, lang, sid)
            deliveries = deliver_report(report) if send else []
            municipal = deliver_municipal_reports(report.period, sid) if send and settings.municipal_reports else []
        except BfsError as exc:  # one county without answers must not keep the others' reports back
            failed.append(f"{sid}: {exc}")
            continue
        out.append(
            {
                "survey": sid,
                "subject": report.subject,
                "files": report.files,
                "summary": report.summary,
                "alerts": report.alerts,
                "actions": report.actions,
                "deliveries": deliveries,
                "municipal": municipal,
            }
        )
    if failed:
        raise ReportError("; ".join(failed))
    return {**out[0], "reports": out}
