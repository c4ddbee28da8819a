"""`bfs run nightly` and `bfs run quarterly`: the scheduled flows once, now, on the Prefect server in PREFECT_API_URL
(or Prefect's temporary local server when it is unset), so that the run shows in Prefect like a scheduled one."""

from __future__ import annotations

import os
from typing import Any

from bfs_pipeline.config import Settings
from bfs_pipeline.errors import BfsError, SourceError
from flows.environment import prefect_runtime


def run_nightly(settings: Settings, survey_id: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Every source's result (the ingest fields, survey and status), and the run's error when some source failed."""
    os.environ["BFS_HOME"] = str(settings.home)  # the flow's tasks read their settings from the environment
    with prefect_runtime(settings.home):
        from flows.nightly import SourcesFailed, nightly_ingest

        state = nightly_ingest(survey_id=survey_id, return_state=True)
        try:
            results: list[dict[str, Any]] = state.result()
        except SourcesFailed as exc:
            return exc.results, str(exc)
        except BfsError:
            raise
        except Exception as exc:  # the flow crashed (Prefect's own error, say): say so in one line
            raise SourceError(f"The nightly run ended as {state.name}: {exc}. See Prefect's log of the run.") from None
        return results, None


def run_quarterly(settings: Settings, period: str = "previous", send: bool = False) -> dict[str, Any]:
    """The quarterly report for every survey: what was written, what it says, and the deliveries (with send)."""
    os.environ["BFS_HOME"] = str(settings.home)
    with prefect_runtime(settings.home):
        from flows.quarterly import quarterly_report

        state = quarterly_report(period, send=send, return_state=True)
        try:
            out: dict[str, Any] = state.result()
        except BfsError:
            raise
        except Exception as exc:
            raise BfsError(f"The quarterly run ended as {state.name}: {exc}. See Prefect's log of the run.") from None
        return out
