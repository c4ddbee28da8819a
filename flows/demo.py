"""`bfs demo` through the real Prefect flows, on Prefect's temporary local server under BFS_HOME."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from bfs_pipeline.config import Settings
from bfs_pipeline.rundemo import Nightly, Quarterly
from flows.environment import prefect_runtime


def _warm_up() -> None:
    from bfs_pipeline import validation

    validation.validator()


@contextlib.contextmanager
def prefect_flows(settings: Settings, echo: Callable[[str], Any] = print) -> Iterator[tuple[Nightly, Quarterly]]:
    """The nightly and quarterly flows, ready to run on Prefect's temporary server."""
    with prefect_runtime(settings.home):
        echo("Starting Prefect (a temporary local server; the first start takes 10-20 s) ...")
        # Great Expectations takes seconds to import: do it while Prefect's server starts in its own process.
        threading.Thread(target=_warm_up, daemon=True).start()
        from flows.nightly import nightly_ingest
        from flows.quarterly import quarterly_report

        def quarterly(period: str) -> dict[str, Any]:
            return quarterly_report(period)

        yield nightly_ingest, quarterly
