"""The quarterly report: render the period's needs report and deliver it to the coordinator."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from bfs_pipeline import pipeline
from bfs_pipeline.config import load_settings
from bfs_pipeline.report import Report


@task(cache_policy=NO_CACHE)
def render_report(period: str, lang: str | None, survey_id: str | None) -> Report:
    return pipeline.render(load_settings(), period, lang, survey_id)


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def deliver_report(report: Report) -> list[dict[str, Any]]:
    return [o.__dict__ for o in pipeline.send(load_settings(), report)]


@flow(name="quarterly-report")
def quarterly_report(period: str, lang: str | None = None, survey_id: str | None = None, send: bool = True) -> dict[str, Any]:
    """Render the period's report and, unless send is false, deliver it (SMTP or the outbox folder)."""
    report = render_report(period, lang, survey_id)
    deliveries = deliver_report(report) if send else []
    return {"files": report.files, "summary": report.summary, "alerts": report.alerts, "deliveries": deliveries}
