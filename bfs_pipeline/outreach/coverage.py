"""Live coverage of a wave: each roster actor, whether and how its answer was matched, when it was invited and
reminded, whether it opted out; totals per municipality and sector. Read by `bfs coverage` and the weekly digest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline.models import Actor, Delivery, OptOut
from bfs_pipeline.outreach.links import municipality_names
from bfs_pipeline.survey import Survey, wave_of

DELIVERED = ("sent", "written")


def matched_actors(engine: Engine, survey: Survey, wave: str) -> dict[int, str]:
    """The actors with a current answer in the wave, each with how it was matched (link, code, alias or name), by
    the same rules as the ingest and the report (outreach.matching)."""
    from bfs_pipeline.outreach import matching

    return {actor: str(how) for actor, how in matching.wave_matches(engine, survey, wave).items()}


def answered_actors(engine: Engine, survey: Survey, wave: str) -> set[int]:
    """The actors of the survey's county with a current answer in the wave (however matched)."""
    return set(matched_actors(engine, survey, wave))


@dataclass(frozen=True)
class ActorCoverage:
    actor_id: int
    organisation: str
    sector: str
    municipality: str  # names, comma-separated
    municipalities: tuple[str, ...]
    answered: bool
    matched_by: str  # link, code, name, alias or none
    invited_at: str | None  # ISO 8601, UTC
    reminders: int
    opted_out: bool

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["municipalities"] = list(self.municipalities)
        return out


@dataclass(frozen=True)
class Total:
    municipality: str  # code
    municipality_name: str
    sector: str
    expected: int
    answered: int

    @property
    def rate(self) -> float:
        return self.answered / self.expected if self.expected else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rate": round(self.rate, 4)}


@dataclass(frozen=True)
class WaveCoverage:
    survey: str
    wave: str
    actors: list[ActorCoverage]
    totals: list[Total]

    @property
    def answered(self) -> int:
        return sum(a.answered for a in self.actors)

    def as_json(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "wave": self.wave,
            "expected": len(self.actors),
            "answered": self.answered,
            "actors": [a.as_json() for a in self.actors],
            "totals": [t.as_json() for t in self.totals],
        }


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def coverage(engine: Engine, survey: Survey, wave: str) -> WaveCoverage:
    """Every active roster actor of the survey's county for the wave, and the totals per municipality × sector."""
    wave = wave_of(wave)
    matched = matched_actors(engine, survey, wave)
    invited: dict[int, dt.datetime] = {}
    reminders: dict[int, int] = {}
    prefix = f":{survey.id}:{wave}:"
    with Session(engine) as s:
        roster = list(
            s.scalars(
                select(Actor)
                .where(Actor.county == survey.county, Actor.active.is_(True))
                .order_by(Actor.sector, Actor.name)
            )
        )
        for d in s.scalars(
            select(Delivery)
            .join(Actor, Actor.id == Delivery.actor_id)
            .where(
                Delivery.period == wave,
                Delivery.kind.in_(("invite", "remind")),
                Delivery.state.in_(DELIVERED),
                Actor.county == survey.county,
            )
        ):
            if d.actor_id is None or prefix not in d.report_key:
                continue
            if d.kind == "invite":
                invited.setdefault(d.actor_id, d.updated_at)
            else:
                reminders[d.actor_id] = reminders.get(d.actor_id, 0) + 1
        quiet = set(s.scalars(select(OptOut.actor_id)))
    actors = [
        ActorCoverage(
            a.id,
            a.name,
            a.sector,
            municipality_names(a.municipalities),
            tuple(a.municipalities),
            a.id in matched,
            matched.get(a.id, "none"),
            _iso(invited.get(a.id)),
            reminders.get(a.id, 0),
            a.id in quiet,
        )
        for a in roster
        if a.sector in survey.sectors
    ]
    cells: dict[tuple[str, str], list[int]] = {}
    for a in actors:
        for m in a.municipalities:
            cell = cells.setdefault((m, a.sector), [0, 0])
            cell[0] += 1
            cell[1] += a.answered
    totals = [
        Total(m, municipality_names([m]), sector, expected, answered)
        for (m, sector), (expected, answered) in sorted(cells.items())
    ]
    return WaveCoverage(survey.id, wave, actors, totals)
