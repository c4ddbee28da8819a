"""Who of the roster has answered a wave: by personal link (the response names the actor), else by name."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline.models import Actor, Response
from bfs_pipeline.normalize import org_key
from bfs_pipeline.survey import Survey


def answered_actors(engine: Engine, survey: Survey, wave: str) -> set[int]:
    """The actors of the survey's county with a current answer in the wave: the actor a personal link named, or
    the actor of the same sector whose roster name the answer's organisation matches."""
    with Session(engine) as s:
        actors = {(a.name_key, a.sector): a.id for a in s.scalars(select(Actor).where(Actor.county == survey.county))}
        rows = s.execute(
            select(Response.actor_id, Response.organisation, Response.sector).where(
                Response.survey_id == survey.id, Response.wave == wave, Response.is_current.is_(True)
            )
        ).all()
    out = set()
    for actor_id, organisation, sector in rows:
        if actor_id is not None:
            out.add(actor_id)
        elif organisation and (found := actors.get((org_key(organisation), sector))) is not None:
            out.add(found)
    return out
