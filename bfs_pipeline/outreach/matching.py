"""Which roster actor an answer is from, and how sure that is: the one door for matching answers to the roster.

The ingest (a sheet row's actor and resubmission identity), the report's coverage and "Har inte svarat",
`bfs coverage`, `bfs actors match` and `bfs actors alias` all match through here, so they always agree.

An answer is matched within its sector, against the active actors of the survey's county, in this order:

1. ``link``: the answer came through the actor's personal link (the web form), so responses.actor_id says who.
   ``code``: a sheet's answer carried the code of the actor's pre-filled Google Form (outreach.prefill); the
   ingest stored the actor with responses.matched_by "code". Both are exact: the name is not looked at.
2. ``name`` (detail ``exact``): the answer's organisation and an actor have the same match key (below). Where
   several actors of the sector share a key, only those whose municipalities fit the answer's count; if that
   leaves more than one, the answer is not counted.
3. ``alias``: a name a person confirmed for an actor (`bfs actors alias TEXT ACTOR_ID`, table actor_aliases), by
   match key and sector. It holds in every later wave, and for the answers already stored when it is confirmed.
4. ``name`` (detail ``municipality``): the key is just a municipality's name ("Polisen Olofström", "Olofströms
   kommun") and exactly one actor of the sector names that municipality in the roster.
5. ``name`` (detail ``fuzzy``): rapidfuzz's token_sort_ratio (0-100: the edit similarity of the keys' words in
   alphabetical order) against the actors of the sector whose municipalities fit the answer's. Counted only when
   the best score is at least THRESHOLD (90: about one typing mistake in ten letters, "Karlskorna" for "Karlskrona")
   and beats the second best by at least MARGIN (5). Otherwise the answer is not counted (``none``, detail
   ``below_threshold`` or ``ambiguous``) and `bfs actors match` lists it with its best candidates, for a person to
   confirm as an alias. token_sort_ratio rather than WRatio or token_set_ratio: those score a name that is part of
   a longer one high ("Brottsofferjouren" against every "Brottsofferjouren <kommun>"), which guesses; an abbreviation
   or a missing word ("BOJ Karlskrona") is for a person to confirm, once.
6. ``none``: no actor (detail ``no_candidate``, ``no_name``, or one of the above).

The match key of a name: letters without diacritics and case (Ö = ö = o), punctuation and white space as single
spaces, "&" as "och"; a municipality's name in the genitive as the name ("Olofströms" = "Olofström"); then these
words dropped, since the sector already says them: "kommun", "kommunen", "kommuns", "stad", "stads" (so
"Olofströms kommun" = "Olofström kommun" = "Olofström"), "polisen", "polis", "polismyndigheten", "lpo",
"lokalpolisområde(t)" (so "Polisen LPO Karlskrona" = "Lokalpolisområde Karlskrona" = "Karlskrona"), the
preposition "i" and the company form "AB"; last, the words in alphabetical order ("IF Ronneby" = "Ronneby IF").
A name that is nothing but those words keeps them ("Polisen").

An actor's municipalities fit an answer's when the answer names none (or only the county), when the actor covers
the whole county, or when they share one.

Resubmission identity: a sheet answer counted for an actor (name or alias) that carries no e-mail hash has the actor
as its respondent, under the web form's key (actor_respondent_key), so the actor's sheet and form answers of one
wave replace each other and the newest counts. An e-mail hash, where there is one, stays the identity.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bfs_pipeline import db, reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.models import Actor, ActorAlias, Response
from bfs_pipeline.sources.form import FORM_PREFIX
from bfs_pipeline.survey import Survey, wave_of

THRESHOLD = 90.0  # the least token_sort_ratio score (0-100) a fuzzy match is counted with
MARGIN = 5.0  # how far the best fuzzy candidate must be ahead of the second: closer, and neither is counted
CANDIDATES = 3  # candidates listed for review per uncertain name

DROP_WORDS = frozenset(
    {
        "kommun",
        "kommunen",
        "kommuns",
        "stad",
        "stads",
        "polisen",
        "polis",
        "polismyndigheten",
        "lpo",
        "lokalpolisomrade",
        "lokalpolisomradet",
        "lokalpolisomrades",
        "i",
        "ab",
    }
)


class MatchError(BfsError):
    """An alias cannot be confirmed as asked (an unknown actor, one of another county, a name taken)."""


class Method(StrEnum):
    """How an answer was matched to its actor."""

    LINK = "link"  # the personal link (web form) says who
    CODE = "code"  # a pre-filled Google Form's code says who (outreach.prefill; responses.matched_by)
    NAME = "name"  # the organisation's name: exact match key, the municipality's one actor, or fuzzy
    ALIAS = "alias"  # a name confirmed for the actor by a person
    NONE = "none"  # not counted for any actor


@dataclass(frozen=True)
class Candidate:
    """An actor an uncertain name may be, with its score (0-100)."""

    actor_id: int
    name: str
    score: float
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """Which actor an answer is from (actor_id None: not counted), how, and for review the best candidates."""

    actor_id: int | None
    method: Method
    detail: str | None = None  # exact, municipality, fuzzy; for none: below_threshold, ambiguous, no_candidate, ...
    score: float | None = None
    name: str | None = None  # the actor's name in the roster
    candidates: tuple[Candidate, ...] = ()

    @property
    def certain(self) -> bool:
        return self.actor_id is not None


def _fold(text: str) -> str:
    """Case, diacritics and punctuation away; "&" as "och"; single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("&", " och ")
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


@functools.cache
def _genitive() -> re.Pattern[str]:
    """Any Swedish municipality's name with a genitive s ("olofstroms"), to take the s off."""
    names = sorted({_fold(m.name) for m in reference.municipalities().values()}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")s\b")


@functools.lru_cache(maxsize=65536)
def match_key(name: str) -> str:
    """The key names are matched by (the module docstring has the rules): "Olofströms kommun" → "olofstrom"."""
    folded = _genitive().sub(r"\1", _fold(name))
    words = folded.split()
    kept = [w for w in words if w not in DROP_WORDS] or words
    return " ".join(sorted(kept))


@dataclass(frozen=True)
class RosterActor:
    """An active actor as matching sees it."""

    id: int
    name: str
    sector: str
    municipalities: tuple[str, ...]
    key: str


@dataclass
class _SectorIndex:
    """One sector's actors, indexed once."""

    actors: list[RosterActor] = field(default_factory=list)
    exact: dict[str, list[RosterActor]] = field(default_factory=dict)
    by_municipality: dict[str, list[RosterActor]] = field(default_factory=dict)
    aliases: dict[str, set[int]] = field(default_factory=dict)
    by_id: dict[int, RosterActor] = field(default_factory=dict)


class Matcher:
    """One county's active roster indexed per sector, each distinct (name, sector, municipalities) matched once."""

    def __init__(self, actors: Iterable[RosterActor], county: str, aliases: Iterable[tuple[str, str, int]] = ()):
        self.county = county
        self._sectors: dict[str, _SectorIndex] = {}
        for a in actors:
            idx = self._sectors.setdefault(a.sector, _SectorIndex())
            idx.actors.append(a)
            idx.by_id[a.id] = a
            idx.exact.setdefault(a.key, []).append(a)
            for m in a.municipalities:
                idx.by_municipality.setdefault(m, []).append(a)
        for alias_key, sector, actor_id in aliases:
            found = self._sectors.get(sector)
            if found is not None and actor_id in found.by_id:  # an inactive actor's alias counts for nobody
                found.aliases.setdefault(alias_key, set()).add(actor_id)
        self._municipality_keys = {match_key(m.name): m.code for m in reference.county_municipalities(county)}
        self._cache: dict[tuple[str, str, tuple[str, ...]], Match] = {}
        self._seen: dict[tuple[str | None, str, tuple[str, ...]], Match] = {}
        self._pools: dict[tuple[str, tuple[str, ...]], tuple[list[RosterActor], list[str]]] = {}

    @classmethod
    def from_frame(cls, roster: pd.DataFrame, county: str) -> Matcher:
        """From a roster frame (roster.roster_frame: id, name, sector, municipalities)."""
        if roster.empty:
            return cls([], county)
        ids = roster["id"] if "id" in roster else pd.Series(range(1, len(roster) + 1), index=roster.index)
        actors = [
            RosterActor(int(i), str(n), str(s), tuple(ms), match_key(str(n)))
            for i, n, s, ms in zip(ids, roster["name"], roster["sector"], roster["municipalities"], strict=True)
        ]
        return cls(actors, county)

    @property
    def empty(self) -> bool:
        """No active actor in the county's roster: nothing can be matched."""
        return not self._sectors

    def actor_ids(self) -> list[int]:
        """Every active actor of the county's roster."""
        return [a for idx in self._sectors.values() for a in idx.by_id]

    def actor(self, actor_id: int) -> RosterActor | None:
        return next((idx.by_id[actor_id] for idx in self._sectors.values() if actor_id in idx.by_id), None)

    def match(self, text: str | None, sector: str, municipalities: Iterable[str] | str | None = ()) -> Match:
        """The actor an answer's organisation names, in its sector and (for fuzzy matches) its municipalities."""
        given = (municipalities,) if isinstance(municipalities, str) else tuple(municipalities or ())
        seen = self._seen.get((text, sector, given))  # a sheet repeats names: the answer as given, looked up once
        if seen is not None:
            return seen
        munis = tuple(sorted({m for m in given if m and m != self.county}))
        cache_key = (text or "", sector, munis)
        hit = self._cache.get(cache_key)
        if hit is None:
            hit = self._cache[cache_key] = self._match(text or "", sector, munis)
        self._seen[(text, sector, given)] = hit
        return hit

    def _match(self, text: str, sector: str, munis: tuple[str, ...]) -> Match:
        idx = self._sectors.get(sector)
        if not text.strip():
            return Match(None, Method.NONE, "no_name")
        if idx is None:
            return Match(None, Method.NONE, "no_candidate")
        key = match_key(text)
        same = idx.exact.get(key)
        if same:
            fit = same if len(same) == 1 else [a for a in same if self._fits(a, munis)]
            if len(fit) == 1:
                return Match(fit[0].id, Method.NAME, "exact", 100.0, fit[0].name)
            return Match(None, Method.NONE, "ambiguous", 100.0, candidates=self._listed(same, 100.0))
        confirmed = idx.aliases.get(key)
        if confirmed and len(confirmed) == 1:
            a = idx.by_id[next(iter(confirmed))]
            return Match(a.id, Method.ALIAS, None, 100.0, a.name)
        code = self._municipality_keys.get(key)
        if code is not None and len(idx.by_municipality.get(code, ())) == 1:
            a = idx.by_municipality[code][0]
            return Match(a.id, Method.NAME, "municipality", 100.0, a.name)
        pool = self._pool(sector, idx, munis)
        # only scores within MARGIN of the threshold can decide: the C scorer skips the rest early
        scored = self._scored(key, pool, 2, THRESHOLD - MARGIN)
        if scored:
            (best, top), second = scored[0], (scored[1][1] if len(scored) > 1 else 0.0)
            if top >= THRESHOLD and top - second >= MARGIN:
                return Match(best.id, Method.NAME, "fuzzy", top, best.name)
            detail = "below_threshold" if top < THRESHOLD else "ambiguous"
            return Match(None, Method.NONE, detail, top)
        return Match(None, Method.NONE, "below_threshold" if pool[0] else "no_candidate")

    def review(self, text: str | None, sector: str, municipalities: Iterable[str] | str | None = ()) -> Match:
        """match() and, where it is not certain, the sector's best candidates for a person to choose from (whatever
        their municipalities)."""
        found = self.match(text, sector, municipalities)
        idx = self._sectors.get(sector)
        if found.certain or found.candidates or idx is None or not (text or "").strip():
            return found
        listed = self._candidates(self._scored(match_key(text or ""), self._pool(sector, idx, ()), CANDIDATES))
        return replace(found, candidates=listed)

    def _pool(self, sector: str, idx: _SectorIndex, munis: tuple[str, ...]) -> tuple[list[RosterActor], list[str]]:
        """The sector's actors whose municipalities fit, and their keys: once per (sector, municipalities)."""
        found = self._pools.get((sector, munis))
        if found is None:
            fit = [a for a in idx.actors if self._fits(a, munis)]
            found = self._pools[(sector, munis)] = (fit, [a.key for a in fit])
        return found

    def _fits(self, actor: RosterActor, munis: tuple[str, ...]) -> bool:
        return (
            not munis
            or not actor.municipalities
            or self.county in actor.municipalities
            or (not set(munis).isdisjoint(actor.municipalities))
        )

    @staticmethod
    def _scored(
        key: str, pool: tuple[list[RosterActor], list[str]], limit: int, cutoff: float = 0.0
    ) -> list[tuple[RosterActor, float]]:
        """The best actors by fuzz.ratio of the keys; their words are in order already, so this is token_sort_ratio."""
        actors, keys = pool
        if not actors:
            return []
        found = process.extract(key, keys, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff)
        return [(actors[i], round(float(score), 1)) for _, score, i in found]

    @staticmethod
    def _candidates(scored: list[tuple[RosterActor, float]]) -> tuple[Candidate, ...]:
        return tuple(Candidate(a.id, a.name, s, a.municipalities) for a, s in scored)

    @staticmethod
    def _listed(actors: Sequence[RosterActor], score: float) -> tuple[Candidate, ...]:
        return tuple(Candidate(a.id, a.name, score, a.municipalities) for a in actors[:CANDIDATES])


def load_matcher(engine: Engine, county: str) -> Matcher:
    """The county's active roster and its confirmed aliases, read once."""
    with Session(engine) as s:
        actors = [
            RosterActor(i, name, sector, tuple(munis), match_key(name))
            for i, name, sector, munis in s.execute(
                select(Actor.id, Actor.name, Actor.sector, Actor.municipalities).where(
                    Actor.county == county, Actor.active.is_(True)
                )
            )
        ]
        aliases = [
            (k, sector, actor_id)
            for k, sector, actor_id in s.execute(
                select(ActorAlias.alias_key, ActorAlias.sector, ActorAlias.actor_id)
                .join(Actor, Actor.id == ActorAlias.actor_id)
                .where(Actor.county == county)
            )
        ]
    return Matcher(actors, county, aliases)


def municipalities_of(survey: Survey) -> str | None:
    """The question whose answer names the respondent's municipalities (C01 in the default survey)."""
    return next((q.id for q in survey.core if q.type == "municipalities"), None)


def _answer_munis(answers: Any, mq: str | None) -> list[str]:
    value = answers.get(mq) if mq and isinstance(answers, dict) else None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def match_responses(responses: pd.DataFrame, matcher: Matcher, mq: str | None) -> pd.DataFrame:
    """Per response (same index): actor_id (None: not counted), matched_by, detail, score.

    A response with actor_id counts for that actor: ``link`` where it came through the web form (its source says
    so, or it has no source column), else how its name matches now (``name`` or ``alias``, as the ingest found).
    The others are matched by their organisation, sector and municipalities.
    """
    cols = ["actor_id", "matched_by", "detail", "score"]
    if responses.empty:
        return pd.DataFrame(columns=cols, index=responses.index)
    n = len(responses)
    known = responses["actor_id"] if "actor_id" in responses else pd.Series([None] * n, index=responses.index)
    sources = responses["source"] if "source" in responses else pd.Series([None] * n, index=responses.index)
    answers = responses["answers"] if "answers" in responses else pd.Series([{}] * n, index=responses.index)
    how = responses["matched_by"] if "matched_by" in responses else pd.Series([None] * n, index=responses.index)
    rows: list[tuple[int | None, str, str | None, float | None]] = []
    for org, sector, given, source, ans, by in zip(
        responses["organisation"], responses["sector"], known, sources, answers, how, strict=True
    ):
        if by == Method.CODE.value and given is not None and not pd.isna(given):  # a pre-filled form's code
            rows.append((int(given), Method.CODE.value, None, None))
            continue
        m = matcher.match(org if isinstance(org, str) else None, str(sector), _answer_munis(ans, mq))
        if given is not None and not pd.isna(given):
            actor = int(given)
            from_form = source is None or (isinstance(source, str) and source.startswith(FORM_PREFIX))
            if from_form or m.actor_id != actor:
                rows.append((actor, Method.LINK.value, None, None))
                continue
        rows.append((m.actor_id, m.method.value, m.detail, m.score))
    return pd.DataFrame(rows, columns=cols, index=responses.index)


def answered_by(matcher: Matcher, mq: str | None) -> Callable[[pd.DataFrame], Collection[int]]:
    """For metrics.roster_coverage: the actors a wave's responses are counted for (uncertain names count for none)."""

    def answered(responses: pd.DataFrame) -> set[int]:
        ids = match_responses(responses, matcher, mq)["actor_id"]
        return {int(i) for i in ids if i is not None and not pd.isna(i)}

    return answered


RANK = {Method.LINK: 0, Method.CODE: 1, Method.ALIAS: 2, Method.NAME: 3}  # the surest way first


def wave_matches(engine: Engine, survey: Survey, wave: str) -> dict[int, Method]:
    """The actors with a current answer in the wave, each with how it was matched (the surest, where several
    answers count for one actor): what `bfs coverage` shows, matched as the report's coverage is."""
    with Session(engine) as s:
        rows = s.execute(
            select(
                Response.organisation,
                Response.sector,
                Response.answers,
                Response.actor_id,
                Response.source,
                Response.matched_by,
            ).where(Response.survey_id == survey.id, Response.wave == wave_of(wave), Response.is_current.is_(True))
        ).all()
    columns = ["organisation", "sector", "answers", "actor_id", "source", "matched_by"]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    found = match_responses(frame, load_matcher(engine, survey.county), municipalities_of(survey))
    out: dict[int, Method] = {}
    for actor_id, how in zip(found["actor_id"], found["matched_by"], strict=True):
        if actor_id is None or pd.isna(actor_id):
            continue
        method = Method(how)
        if int(actor_id) not in out or RANK[method] < RANK[out[int(actor_id)]]:
            out[int(actor_id)] = method
    return out


# -- review and aliases (`bfs actors match`, `bfs actors alias`) ------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """An organisation name in a wave's answers that is not counted for any actor: for a person to look at."""

    text: str  # as the answers wrote it
    sector: str
    municipalities: list[str]  # every municipality its answers named
    answers: int  # how many of the wave's answers (that count now) carry it
    detail: str  # why it is not counted: below_threshold, ambiguous, no_candidate, no_name
    candidates: list[Candidate]  # best first

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = [{**asdict(c), "municipalities": list(c.municipalities)} for c in self.candidates]
        return out


def _wave_answers(engine: Engine, survey: Survey, wave: str) -> list[Any]:
    with Session(engine) as s:
        return list(
            s.execute(
                select(Response.organisation, Response.sector, Response.answers, Response.actor_id).where(
                    Response.survey_id == survey.id, Response.wave == wave, Response.is_current.is_(True)
                )
            ).all()
        )


def candidates(engine: Engine, survey: Survey, wave: str) -> list[Review]:
    """Each organisation name in the wave's answers that is not matched with certainty, with its best candidates.

    Answers through a personal link, and names matched exactly, by an alias or fuzzily above the threshold, are
    never listed. Ordered by sector, then by name.
    """
    wave = wave_of(wave)
    matcher = load_matcher(engine, survey.county)
    mq = municipalities_of(survey)
    groups: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for org, sector, answers, actor_id in _wave_answers(engine, survey, wave):
        if actor_id is not None or not org:
            continue
        count, munis = groups.get((org, sector), (0, set()))
        groups[(org, sector)] = (count + 1, munis | set(_answer_munis(answers, mq)))
    out = []
    for (org, sector), (count, munis) in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0].casefold())):
        m = matcher.review(org, sector, sorted(munis))
        if not m.certain:
            out.append(Review(org, sector, sorted(munis), count, m.detail or "", list(m.candidates)))
    return out


@dataclass(frozen=True)
class AliasResult:
    """What confirming an alias did: whether it is new, and how many stored answers now count for the actor."""

    alias: str
    actor_id: int
    actor: str  # the actor's name
    sector: str
    created: bool  # False: it was confirmed before (nothing changed)
    answers: int  # stored answers (every wave, older versions included) that the alias gave to the actor now

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def confirm_alias(engine: Engine, survey: Survey, text: str, actor_id: int) -> AliasResult:
    """Confirm that answers naming `text` (in the actor's sector) are from the actor, in this and later waves.

    Idempotent. The answers already stored with that name count for the actor from now on (their actor_id is set),
    and where they carry no e-mail hash the actor becomes their respondent, as it is for later sheets and the web
    form: within a wave the newest of its answers counts.
    """
    alias = " ".join(text.split())
    if not alias:
        raise MatchError("The alias is empty: give the organisation's name as the answers wrote it.")
    key = match_key(alias)
    with Session(engine) as s:
        actor = s.get(Actor, actor_id)
        if actor is None:
            raise MatchError(
                f"There is no actor {actor_id}: `bfs actors list --survey {survey.id}` shows the roster with its ids."
            )
        if actor.county != survey.county:
            raise MatchError(
                f"Actor {actor_id} ({actor.name}) is in the roster of county {actor.county}, not of {survey.id} "
                f"(county {survey.county}): pick an actor from `bfs actors list --survey {survey.id}`."
            )
        if not actor.active:
            raise MatchError(
                f"Actor {actor_id} ({actor.name}) is inactive (no longer in the roster file): add it to the roster "
                "again with `bfs actors import`, or pick an active actor."
            )
        name, sector = actor.name, actor.sector
        other = load_matcher(engine, survey.county).match(alias, sector)
        if other.certain and other.method == Method.NAME and other.detail == "exact" and other.actor_id != actor_id:
            raise MatchError(
                f"{alias!r} is the name of actor {other.actor_id} ({other.name}) in the roster: answers with it "
                "count for that actor. Nothing was changed."
            )
        taken = s.scalars(
            select(ActorAlias).where(
                ActorAlias.alias_key == key, ActorAlias.sector == sector, ActorAlias.actor_id != actor_id
            )
        ).first()
        if taken is not None:
            holder = s.get(Actor, taken.actor_id)
            raise MatchError(
                f"{alias!r} is already confirmed for actor {taken.actor_id} ({holder.name if holder else '?'}): "
                "an answer counts for one actor only. Nothing was changed."
            )
    with Session(db.writer(engine)) as s, s.begin():
        exists = s.scalars(
            select(ActorAlias).where(
                ActorAlias.alias_key == key, ActorAlias.sector == sector, ActorAlias.actor_id == actor_id
            )
        ).first()
        if exists is None:
            s.add(ActorAlias(actor_id=actor_id, alias=alias, alias_key=key, sector=sector))
        given = _give_answers(s, survey.id, sector, key, actor_id, name)
    return AliasResult(alias, actor_id, name, sector, exists is None, given)


def actor_respondent_key(name: str, sector: str) -> str:
    """The respondent key of an actor's answers: what the web form stores (FormService.respondent_key)."""
    from bfs_pipeline import ingest
    from bfs_pipeline.normalize import key

    return ingest.content_hash({"org": key(name), "sector": sector})


def _give_answers(s: Session, survey_id: str, sector: str, key: str, actor_id: int, name: str) -> int:
    """Stored answers with the alias's name and no actor: now the actor's, and (without an e-mail hash) with the
    actor as respondent; in each wave the newest of the actor's answers is the current one."""
    texts = [
        t
        for t in s.scalars(
            select(Response.organisation)
            .where(
                Response.survey_id == survey_id,
                Response.sector == sector,
                Response.actor_id.is_(None),
                Response.organisation.is_not(None),
            )
            .distinct()
        )
        if t and match_key(t) == key
    ]
    if not texts:
        return 0
    mine = Response.survey_id == survey_id, Response.sector == sector, Response.actor_id.is_(None)
    rows = s.execute(
        select(Response.id, Response.wave, Response.submitted_at, Response.is_current, Response.email_hash).where(
            *mine, Response.organisation.in_(texts)
        )
    ).all()
    db.lock(s, *(f"responses:{survey_id}:{w}" for w in sorted({r.wave for r in rows})))
    s.execute(update(Response).where(Response.id.in_([r.id for r in rows])).values(actor_id=actor_id))
    respondent = actor_respondent_key(name, sector)
    rekey = [r for r in rows if r.email_hash is None]
    for wave in sorted({r.wave for r in rekey}):
        moving = [r for r in rekey if r.wave == wave]
        staying = s.execute(
            select(Response.id, Response.wave, Response.submitted_at, Response.is_current, Response.email_hash).where(
                Response.survey_id == survey_id, Response.wave == wave, Response.respondent_key == respondent
            )
        ).all()
        group = {r.id: r for r in [*moving, *staying]}
        newest = max(group.values(), key=lambda r: (_aware(r.submitted_at), r.id)).id
        off = [i for i, r in group.items() if r.is_current and i != newest]
        if off:  # first: never two current answers of one respondent, not even inside the transaction
            s.execute(update(Response).where(Response.id.in_(off)).values(is_current=False))
        s.execute(update(Response).where(Response.id.in_([r.id for r in moving])).values(respondent_key=respondent))
        if not group[newest].is_current:
            s.execute(update(Response).where(Response.id == newest).values(is_current=True))
    return len(rows)


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
