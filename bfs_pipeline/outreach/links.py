"""Waves opened for answers by personal link: open, close, revoke, and find the link a token names.

A token is derived from the hash key, the survey, the wave and the actor (HMAC-SHA256), so the same actor gets
the same link every time it is printed; only the token's sha256 digest is stored, which finds a link but opens
nothing. Whoever has the database and not the key cannot make a link.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import db, reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.models import Actor, Wave, WaveLink
from bfs_pipeline.survey import Survey, wave_of

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
TZ = "Europe/Stockholm"  # deadlines are days in the county's time


class WaveError(BfsError):
    """A wave or a link cannot be opened, closed or revoked as asked."""


class WaveState(StrEnum):
    """Whether a wave takes answers now."""

    OPEN = "open"
    CLOSED = "closed"  # closed early (`bfs wave close`)
    PAST_DEADLINE = "past_deadline"


def derive_token(key: bytes, survey_id: str, wave: str, actor_id: int) -> str:
    """The personal token of one actor for one wave: 32 URL-safe characters (192 bits) of an HMAC."""
    message = f"bfs-form-link\x00{survey_id}\x00{wave}\x00{actor_id}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode("ascii")


def token_digest(token: str) -> str:
    """What the database keeps of a token: its sha256, which finds the link and cannot be turned back into it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def default_deadline(wave: str) -> dt.date:
    """The last day of the wave's quarter."""
    year, q = int(wave[:4]), int(wave[-1])
    first_next = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return first_next - dt.timedelta(days=1)


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TZ)).date()


def state_of(wave: Wave, on: dt.date | None = None) -> WaveState:
    if wave.closed_at is not None:
        return WaveState.CLOSED
    if (on or today()) > wave.deadline:
        return WaveState.PAST_DEADLINE
    return WaveState.OPEN


@dataclass(frozen=True)
class Link:
    """One actor's personal link for a wave, as printed."""

    actor_id: int
    organisation: str
    sector: str
    municipality: str  # the names of the actor's municipalities, comma-separated
    municipalities: tuple[str, ...]  # their codes
    url: str
    revoked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "organisation": self.organisation,
            "sector": self.sector,
            "municipality": self.municipality,
            "municipalities": list(self.municipalities),
            "url": self.url,
        }


@dataclass(frozen=True)
class Opened:
    """What `bfs wave open` did: the wave, its deadline, its active links, and what changed."""

    survey: str
    wave: str
    deadline: dt.date
    links: list[Link]
    added: int  # links made now (actors new to the roster, or a first opening)
    reopened: bool  # the wave had been closed early and is open again
    revoked: int  # actors whose link was revoked: not printed

    def as_json(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "wave": self.wave,
            "deadline": self.deadline.isoformat(),
            "links": [link.as_json() for link in self.links],
        }


def form_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/f/{token}"


def controller_name(configured: str | None, survey: Survey | None) -> str:
    """Who is responsible for the form and its answers: BFS_CONTROLLER, else the survey county's länsstyrelse."""
    if configured:
        return configured
    county = reference.counties().get(survey.county) if survey else None
    return f"Länsstyrelsen i {county.name}" if county else "Länsstyrelsen"


def municipality_names(codes: list[str] | tuple[str, ...]) -> str:
    known = reference.municipalities()
    counties = reference.counties()
    names = []
    for code in codes:
        if code in known:
            names.append(known[code].name)
        elif code in counties:
            names.append(counties[code].name)
        else:
            names.append(code)
    return ", ".join(names)


def _roster(s: Session, survey: Survey) -> list[Actor]:
    q = select(Actor).where(Actor.county == survey.county, Actor.active.is_(True)).order_by(Actor.sector, Actor.name)
    return [a for a in s.scalars(q) if a.sector in survey.sectors]


def open_wave(
    engine: Engine,
    survey: Survey,
    wave: str,
    key: bytes,
    public_url: str,
    deadline: dt.date | None = None,
) -> Opened:
    """Open (or open again) a wave for the survey's active roster: a link for each actor that has none yet.

    Running it again gives the same links and adds links for actors new to the roster; a deadline given moves
    the wave's deadline; a wave closed early is open again. Revoked links stay revoked.
    """
    wave = wave_of(wave)
    if deadline is not None and deadline < today():
        raise WaveError(f"The deadline {deadline.isoformat()} has passed: give a later day (--deadline YYYY-MM-DD).")
    with Session(db.writer(engine)) as s, s.begin():
        db.lock(s, f"wave:{survey.id}:{wave}")
        row = s.scalar(select(Wave).where(Wave.survey_id == survey.id, Wave.wave == wave))
        reopened = False
        if row is None:
            row = Wave(survey_id=survey.id, wave=wave, deadline=deadline or default_deadline(wave))
            s.add(row)
            s.flush()
        else:
            reopened = row.closed_at is not None
            row.closed_at = None
            if deadline is not None:
                row.deadline = deadline
        if row.deadline < today():
            raise WaveError(
                f"Wave {wave} of {survey.id} ended on {row.deadline.isoformat()}: "
                "give a new deadline to open it again (--deadline YYYY-MM-DD)."
            )
        actors = _roster(s, survey)
        if not actors:
            raise WaveError(
                f"The roster of {survey.id} (county {survey.county}) has no active actors: "
                "import it first (bfs actors import FILE)."
            )
        existing = {link.actor_id: link for link in s.scalars(select(WaveLink).where(WaveLink.wave_id == row.id))}
        links, added, revoked = [], 0, 0
        for actor in actors:
            token = derive_token(key, survey.id, wave, actor.id)
            link = existing.get(actor.id)
            if link is None:
                s.add(WaveLink(wave_id=row.id, actor_id=actor.id, token_digest=token_digest(token)))
                added += 1
            elif link.revoked_at is not None:
                revoked += 1
                continue
            links.append(
                Link(
                    actor.id,
                    actor.name,
                    actor.sector,
                    municipality_names(actor.municipalities),
                    tuple(actor.municipalities),
                    form_url(public_url, token),
                )
            )
        return Opened(survey.id, wave, row.deadline, links, added, reopened, revoked)


def _wave_row(s: Session, survey: Survey, wave: str) -> Wave:
    row = s.scalar(select(Wave).where(Wave.survey_id == survey.id, Wave.wave == wave_of(wave)))
    if row is None:
        raise WaveError(f"Wave {wave} of {survey.id} has not been opened: open it first (bfs wave open {wave}).")
    return row


def close_wave(engine: Engine, survey: Survey, wave: str) -> bool:
    """Close a wave early: its links show that it is closed and store nothing. False when it was closed already."""
    with Session(db.writer(engine)) as s, s.begin():
        row = _wave_row(s, survey, wave)
        if row.closed_at is not None:
            return False
        row.closed_at = dt.datetime.now(dt.UTC)
        return True


def revoke_link(engine: Engine, survey: Survey, wave: str, actor_id: int) -> bool:
    """Revoke one actor's link for a wave: it then opens nothing (404). False when it was revoked already."""
    with Session(db.writer(engine)) as s, s.begin():
        row = _wave_row(s, survey, wave)
        link = s.scalar(select(WaveLink).where(WaveLink.wave_id == row.id, WaveLink.actor_id == actor_id))
        if link is None:
            known = s.get(Actor, actor_id)
            if known is None:
                raise WaveError(f"There is no actor {actor_id}: see the ids with bfs actors list --json.")
            raise WaveError(f"Actor {actor_id} ({known.name}) has no link for wave {wave}: nothing to revoke.")
        if link.revoked_at is not None:
            return False
        link.revoked_at = dt.datetime.now(dt.UTC)
        return True


@dataclass(frozen=True)
class Visit:
    """What a valid token opens: the link, its actor and wave, and whether the wave takes answers now."""

    link_id: int
    actor_id: int
    organisation: str
    sector: str
    municipalities: tuple[str, ...]
    survey_id: str
    wave: str
    deadline: dt.date
    state: WaveState


def find_link(engine: Engine, token: str, key: bytes) -> Visit | None:
    """The link a token opens, or None for a malformed, unknown or revoked token (the caller says only 404).

    The token is found by its digest and then compared, in constant time, with the token derived again from the
    key: a digest planted in the database opens nothing.
    """
    if not TOKEN_RE.match(token):
        return None
    with Session(engine) as s:
        found = s.execute(
            select(WaveLink, Wave, Actor)
            .join(Wave, Wave.id == WaveLink.wave_id)
            .join(Actor, Actor.id == WaveLink.actor_id)
            .where(WaveLink.token_digest == token_digest(token))
        ).first()
        if found is None:
            return None
        link, wave, actor = found
        expected = derive_token(key, wave.survey_id, wave.wave, actor.id)
        if not hmac.compare_digest(expected.encode("ascii"), token.encode("ascii")) or link.revoked_at is not None:
            return None
        return Visit(
            link.id,
            actor.id,
            actor.name,
            actor.sector,
            tuple(actor.municipalities),
            wave.survey_id,
            wave.wave,
            wave.deadline,
            state_of(wave),
        )
