"""The support log: what support the coordinator gave, to which municipalities, for which needs (#14).

`events(engine, survey, periods)` is the report's door to it (see `bfs_pipeline.support.log.events`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bfs_pipeline.support import models as models  # the tables join Base.metadata with the package

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from bfs_pipeline.survey import Survey


def events(engine: Engine, survey: Survey | str, periods: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per (event, municipality, need) of these quarters: see `bfs_pipeline.support.log.events`."""
    from bfs_pipeline.support.log import events as frame

    return frame(engine, survey, periods)
