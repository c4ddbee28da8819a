"""The coordinator's weekly digest while a wave is open (BFS_DIGEST_CRON): answered against expected, and who is
silent. Takes no settings as parameters: the task reads them from its environment."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bfs_pipeline import pipeline
from bfs_pipeline.config import load_settings


@task(retries=1, retry_delay_seconds=60, cache_policy=NO_CACHE)
def send_digests(survey_id: str | None) -> list[dict[str, Any]]:
    return pipeline.digest(load_settings(), survey_id)


@flow(name="weekly-digest")
def weekly_digest(survey_id: str | None = None) -> list[dict[str, Any]]:
    """This week's digest of every survey with an open wave, once per week and recipient."""
    out = send_digests(survey_id)
    for d in out:
        get_run_logger().info("digest %s to %s: %s", d["survey"], d["recipient"], d["state"])
    return out
