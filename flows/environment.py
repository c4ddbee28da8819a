"""Prefect's own settings for bfs: offline, quiet, its state under BFS_HOME. Call before importing prefect."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

OFFLINE = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def prepare_prefect(home: Path) -> None:
    """Set Prefect's environment unless the operator has set it; the temporary server keeps its database under home."""
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))


@contextlib.contextmanager
def prefect_runtime(home: Path) -> Iterator[None]:
    """Prefect offline and quiet, its temporary server's state under BFS_HOME, no heartbeat thread."""
    prepare_prefect(home)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
