"""Matching answers to the roster: typed names counted for their actor, uncertain ones listed for review, confirmed
aliases, and one identity for a sheet answer and a form answer of the same actor. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import ingest, pipeline, store
from bfs_pipeline.config import Settings
from bfs_pipeline.models import Actor, ActorAlias, Response
from bfs_pipeline.outreach import matching
from bfs_pipeline.outreach.matching import MatchError, Method, match_key
from bfs_pipeline.report import report_data
from bfs_pipeline.roster import import_roster, roster_frame
from bfs_pipeline.sources import SheetHints
from bfs_pipeline.sources.form import FormSource
from bfs_pipeline.survey import Survey
from tests.conftest import Sheet, good_row

Q1, Q2 = "2026-Q1", "2026-Q2"
KEY = b"test-hash-key-0123456789"

ROSTER = """organisation,sektor,kommun
Olofström kommun,kommun,Olofström
Karlskrona kommun,kommun,Karlskrona
Ronneby kommun,kommun,Ronneby
Lokalpolisområde Karlskrona,polis,Karlskrona; Ronneby
Lokalpolisområde Karlshamn,polis,Karlshamn; Olofström; Sölvesborg
Brottsofferjouren Karlskrona,ideburen,Karlskrona
Brottsofferjouren Ronneby,ideburen,Ronneby
Brottsofferjouren Olofström,ideburen,Olofström
Nattvandrarna Olofström,ideburen,Olofström
Ronneby IF,ideburen,Ronneby
Ronneby BK,ideburen,Ronneby
"""


@pytest.fixture
def roster(engine: Engine, survey: Survey, tmp_path: Path) -> dict[str, int]:
    """The roster imported; actor ids by name."""
    path = tmp_path / "aktorer.csv"
    path.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, path, survey)
    return {name: int(i) for name, i in zip(roster_frame(engine)["name"], roster_frame(engine)["id"], strict=True)}


Ingest = Callable[..., ingest.IngestResult]


@pytest.fixture
def load(settings: Settings, sheet: Callable[..., Sheet], tmp_path: Path) -> Ingest:
    """Write one sector's sheet (rows: organisation, municipality, and optionally other cells) and ingest it."""
    count = iter(range(1000))

    def run(sector: str, rows: list[tuple[str, str] | tuple[str, str, dict[str, str]]]) -> ingest.IngestResult:
        cells = []
        for row in rows:
            over = row[2] if len(row) == 3 else {}
            cells.append(good_row(**{"ORG": row[0], "C01": row[1], "email": "", **over}))
        path = sheet(sector).write(tmp_path / f"{sector}-{next(count)}.csv", cells)
        (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(sector=sector))
        assert res.rows_seen == res.accepted + res.duplicates + res.blank + res.quarantined
        assert res.quarantined == 0, res
        return res

    return run


def stored(engine: Engine) -> list[Response]:
    with Session(engine) as s:
        rows = list(s.scalars(select(Response).order_by(Response.id)))
        s.expunge_all()
    return rows


def actor_of(engine: Engine, organisation: str) -> int | None:
    return next(r.actor_id for r in stored(engine) if r.organisation == organisation)


def with_actor_ids(engine: Engine, survey: Survey) -> pd.DataFrame:
    """The report's responses (store.current_responses) with each response's stored actor_id."""
    frame = store.current_responses(engine, survey.id)
    if "actor_id" in frame:
        return frame
    ids = {r.id: r.actor_id for r in stored(engine)}
    return frame.assign(actor_id=[ids[i] for i in frame["id"]])


def missing(engine: Engine, survey: Survey, period: str) -> set[str]:
    """The report's "Har inte svarat": every organisation listed as not having answered in the period."""
    data = report_data(survey, with_actor_ids(engine, survey), period, roster=roster_frame(engine, county="10"))
    return {name for names in data.coverage["missing"] for name in names}


def reviewed(engine: Engine, survey: Survey, wave: str = Q1) -> dict[str, matching.Review]:
    return {r.text: r for r in matching.candidates(engine, survey, wave)}


# -- the match key: each rule planted, with a control ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "roster_name"),
    [
        ("Olofströms kommun", "Olofström kommun"),  # genitive s and "kommun"
        ("Olofström", "Olofström kommun"),  # "kommun" left out
        ("OLOFSTROM KOMMUN", "Olofström kommun"),  # case and diacritics
        ("Polisen LPO Karlskrona", "Lokalpolisområde Karlskrona"),  # the police's words
        ("Lokalpolisområdet Karlskrona", "Polisen lokalpolisområde Karlskrona"),
        ("Stockholms stad", "Stockholm kommun"),
        ("Malung-Säléns kommun", "Malung-Sälen kommun"),  # a genitive of a name with a hyphen
        ("Ronneby IF", "IF Ronneby"),  # word order
        ("Handelsföreningen Karlskrona", "Handelsföreningen i Karlskrona"),
        ("Karlskronahem", "Karlskronahem AB"),
        ("Polis & Kommun Samverkan", "Polis och kommun samverkan"),
    ],
)
def test_names_with_the_same_match_key(typed: str, roster_name: str) -> None:
    assert match_key(typed) == match_key(roster_name)


@pytest.mark.parametrize(
    ("typed", "roster_name"),
    [
        ("Karlshamns kommun", "Karlskrona kommun"),  # another municipality
        ("Polisområde Blekinge", "Lokalpolisområde Blekinge"),  # the county's police area is not a local one
        ("Borås kommun", "Bora kommun"),  # a name that ends in s is not a genitive
        ("Brottsofferjouren Karlskrona", "Brottsofferjouren Ronneby"),
    ],
)
def test_names_with_other_match_keys(typed: str, roster_name: str) -> None:
    assert match_key(typed) != match_key(roster_name)


def test_a_name_of_nothing_but_dropped_words_keeps_them() -> None:
    assert match_key("Polisen") == "polisen" and match_key("Kommunen") == "kommunen"


# -- the issue's three names -------------------------------------------------------------------------------------


def test_the_issues_three_names_are_counted_after_ingest(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("kommun", [("Olofströms kommun", "Olofström")])
    load("polis", [("Polisen LPO Karlskrona", "Karlskrona"), ("Polisen Olofström", "Olofström")])
    assert actor_of(engine, "Olofströms kommun") == roster["Olofström kommun"]
    assert actor_of(engine, "Polisen LPO Karlskrona") == roster["Lokalpolisområde Karlskrona"]
    # the only police actor whose roster row names Olofström
    assert actor_of(engine, "Polisen Olofström") == roster["Lokalpolisområde Karlshamn"]
    silent = missing(engine, survey, Q1)
    assert not {"Olofström kommun", "Lokalpolisområde Karlskrona", "Lokalpolisområde Karlshamn"} & silent
    assert {"Karlskrona kommun", "Ronneby kommun", "Brottsofferjouren Karlskrona"} <= silent  # control: silent ones
    assert reviewed(engine, survey) == {}


def test_the_report_counts_a_typed_name_without_a_stored_actor(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest, tmp_path: Path
) -> None:
    """Answers stored before their actor was in the roster: the report matches their names by the same rules."""
    with Session(engine) as s, s.begin():
        s.query(Actor).delete()
    load("kommun", [("Olofströms kommun", "Olofström")])
    assert actor_of(engine, "Olofströms kommun") is None  # no roster when it was read
    roster_file = tmp_path / "again.csv"
    roster_file.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, roster_file, survey)
    silent = missing(engine, survey, Q1)
    assert "Olofström kommun" not in silent and "Karlskrona kommun" in silent


def test_exact_names_are_never_listed(engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest) -> None:
    load("kommun", [("karlskrona KOMMUN", "Karlskrona"), ("Ronneby kommun", "Ronneby")])
    load("ideburen", [("Brottsofferjouren  Olofstrom", "Olofström"), ("ronneby if", "Ronneby")])
    assert reviewed(engine, survey) == {}
    assert {r.actor_id for r in stored(engine)} == {
        roster["Karlskrona kommun"],
        roster["Ronneby kommun"],
        roster["Brottsofferjouren Olofström"],
        roster["Ronneby IF"],
    }


# -- fuzzy matches -----------------------------------------------------------------------------------------------


def test_a_typing_mistake_above_the_threshold_is_counted(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("Brottsoferjouren Karlskrona", "Karlskrona")])
    load("kommun", [("Karlskorna kommun", "Karlskrona")])
    assert actor_of(engine, "Brottsoferjouren Karlskrona") == roster["Brottsofferjouren Karlskrona"]
    assert actor_of(engine, "Karlskorna kommun") == roster["Karlskrona kommun"]
    matcher = matching.load_matcher(engine, survey.county)
    found = matcher.match("Karlskorna kommun", "kommun", ["1080"])
    assert (found.method, found.detail, found.score) == (Method.NAME, "fuzzy", 90.0)
    assert reviewed(engine, survey) == {}
    assert not {"Brottsofferjouren Karlskrona", "Karlskrona kommun"} & missing(engine, survey, Q1)


def test_below_the_threshold_is_listed_and_not_counted(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("BOJ Karlskrona", "Karlskrona"), ("BOJ Karlskrona", "Karlskrona", {"B01": "1"})])
    assert actor_of(engine, "BOJ Karlskrona") is None
    review = reviewed(engine, survey)["BOJ Karlskrona"]
    assert review.sector == "ideburen" and review.municipalities == ["1080"] and review.detail == "below_threshold"
    assert review.answers == 1  # the second row is the same respondent's newer answer: one counts
    best = review.candidates[0]
    assert best.actor_id == roster["Brottsofferjouren Karlskrona"] and best.score < matching.THRESHOLD
    assert "Brottsofferjouren Karlskrona" in missing(engine, survey, Q1)
    assert review.as_json()["candidates"][0]["name"] == "Brottsofferjouren Karlskrona"


def test_the_municipality_keeps_a_typing_mistake_from_another_municipalitys_actor(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    """The same typo is counted where the answer names the actor's municipality (above), not where it names another."""
    load("ideburen", [("Brottsoferjouren Karlskrona", "Ronneby")])
    assert actor_of(engine, "Brottsoferjouren Karlskrona") is None
    review = reviewed(engine, survey)["Brottsoferjouren Karlskrona"]
    assert review.candidates[0].actor_id == roster["Brottsofferjouren Karlskrona"]  # listed for a person to decide
    assert {"Brottsofferjouren Karlskrona", "Brottsofferjouren Ronneby"} <= missing(engine, survey, Q1)


def test_two_close_candidates_are_not_counted(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("Ronneby IK", "Ronneby")])  # 90 against Ronneby IF and against Ronneby BK
    assert actor_of(engine, "Ronneby IK") is None
    review = reviewed(engine, survey)["Ronneby IK"]
    assert review.detail == "ambiguous"
    assert {c.actor_id for c in review.candidates[:2]} == {roster["Ronneby IF"], roster["Ronneby BK"]}
    assert {"Ronneby IF", "Ronneby BK"} <= missing(engine, survey, Q1)


def test_one_candidate_well_ahead_is_counted(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("Ronneby IFF", "Ronneby")])  # 95 against Ronneby IF, 76 against Ronneby BK
    assert actor_of(engine, "Ronneby IFF") == roster["Ronneby IF"]
    assert reviewed(engine, survey) == {}


def test_a_municipalitys_name_alone_is_counted_only_for_its_one_actor(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("Olofström", "Olofström")])  # two idéburna actors in Olofström
    load("polis", [("Polisen Ronneby", "Ronneby")])  # one police actor names Ronneby
    assert actor_of(engine, "Olofström") is None
    assert reviewed(engine, survey)["Olofström"].detail in ("below_threshold", "ambiguous")
    assert actor_of(engine, "Polisen Ronneby") == roster["Lokalpolisområde Karlskrona"]


def test_wave_matches_says_how_each_actor_was_matched(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    """What `bfs coverage` shows: link, name or alias per actor; uncertain names count for nobody."""
    load("kommun", [("Olofströms kommun", "Olofström"), ("Karlskorna kommun", "Karlskrona")])
    load("ideburen", [("BOJ Ronneby", "Ronneby"), ("Ronneby IK", "Ronneby")])
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    submit_form(engine, survey, roster["Ronneby kommun"], "Ronneby kommun", "kommun", at)
    matching.confirm_alias(engine, survey, "BOJ Ronneby", roster["Brottsofferjouren Ronneby"])
    assert matching.wave_matches(engine, survey, Q1) == {
        roster["Olofström kommun"]: Method.NAME,
        roster["Karlskrona kommun"]: Method.NAME,
        roster["Ronneby kommun"]: Method.LINK,
        roster["Brottsofferjouren Ronneby"]: Method.ALIAS,
    }
    assert matching.wave_matches(engine, survey, Q2) == {}


# -- aliases -----------------------------------------------------------------------------------------------------


def test_a_confirmed_alias_is_counted_and_holds_in_a_later_wave(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    load("ideburen", [("BOJ Karlskrona", "Karlskrona"), ("BOJ Ronneby", "Ronneby")])
    assert "Brottsofferjouren Karlskrona" in missing(engine, survey, Q1)
    done = matching.confirm_alias(engine, survey, "BOJ Karlskrona", roster["Brottsofferjouren Karlskrona"])
    assert (done.created, done.answers, done.sector) == (True, 1, "ideburen")
    assert actor_of(engine, "BOJ Karlskrona") == roster["Brottsofferjouren Karlskrona"]  # the stored answer too
    assert "Brottsofferjouren Karlskrona" not in missing(engine, survey, Q1)
    assert set(reviewed(engine, survey)) == {"BOJ Ronneby"}  # control: not confirmed, still listed
    # a later wave: the alias holds, in any case and spacing
    load("ideburen", [("boj  karlskrona", "Karlskrona", {"timestamp": "2026-05-14 10:00:00"})])
    later = next(r for r in stored(engine) if r.wave == Q2)
    assert later.actor_id == roster["Brottsofferjouren Karlskrona"]
    assert matching.load_matcher(engine, survey.county).match("boj  karlskrona", "ideburen").method == Method.ALIAS
    assert "Brottsofferjouren Karlskrona" not in missing(engine, survey, Q2)
    assert reviewed(engine, survey, Q2) == {}


def test_confirming_again_changes_nothing(engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest) -> None:
    load("ideburen", [("BOJ Karlskrona", "Karlskrona")])
    actor = roster["Brottsofferjouren Karlskrona"]
    assert matching.confirm_alias(engine, survey, "BOJ Karlskrona", actor).created
    again = matching.confirm_alias(engine, survey, " boj karlskrona ", actor)
    assert (again.created, again.answers) == (False, 0)
    with Session(engine) as s:
        assert len(s.scalars(select(ActorAlias)).all()) == 1


def test_an_alias_for_an_unknown_actor_or_another_countys_is_refused(
    engine: Engine, survey: Survey, roster: dict[str, int]
) -> None:
    with pytest.raises(MatchError) as unknown:
        matching.confirm_alias(engine, survey, "BOJ Karlskrona", 9999)
    assert str(unknown.value) == (
        "There is no actor 9999: `bfs actors list --survey blekinge-behov` shows the roster with its ids."
    )
    with Session(engine) as s, s.begin():
        other = Actor(county="07", name="Brottsofferjouren Växjö", name_key="x", sector="ideburen", municipalities=[])
        s.add(other)
        s.flush()
        other_id = other.id
    with pytest.raises(MatchError) as elsewhere:
        matching.confirm_alias(engine, survey, "BOJ Växjö", other_id)
    assert str(elsewhere.value) == (
        f"Actor {other_id} (Brottsofferjouren Växjö) is in the roster of county 07, not of blekinge-behov "
        "(county 10): pick an actor from `bfs actors list --survey blekinge-behov`."
    )
    with pytest.raises(MatchError, match="is the name of actor"):  # another actor's own name
        matching.confirm_alias(engine, survey, "Brottsofferjouren Ronneby", roster["Brottsofferjouren Karlskrona"])
    matching.confirm_alias(engine, survey, "BOJ", roster["Brottsofferjouren Karlskrona"])
    with pytest.raises(MatchError, match="already confirmed for actor"):
        matching.confirm_alias(engine, survey, "BOJ", roster["Brottsofferjouren Ronneby"])
    with Session(engine) as s:
        assert [(a.alias, a.actor_id) for a in s.scalars(select(ActorAlias))] == [
            ("BOJ", roster["Brottsofferjouren Karlskrona"])
        ]


# -- one identity for the sheet and the web form ---------------------------------------------------------------------


def submit_form(engine: Engine, survey: Survey, actor_id: int, name: str, sector: str, at: dt.datetime) -> None:
    answers = {"C01": ["1060"], **{f"B0{i}": ["3"] for i in range(1, 10)}}
    res = ingest.ingest_batch(engine, FormSource(survey, sector, Q1, name, answers, actor_id, at).read(), survey, KEY)
    assert res.accepted == 1, res


def test_a_form_answer_then_a_sheet_answer_of_the_same_actor_one_counts(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    actor = roster["Olofström kommun"]
    submit_form(engine, survey, actor, "Olofström kommun", "kommun", dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    load("kommun", [("Olofströms kommun", "Olofström")])  # 2026-03-14: newer
    rows = stored(engine)
    assert len(rows) == 2 and {r.actor_id for r in rows} == {actor}
    assert [r.organisation for r in rows if r.is_current] == ["Olofströms kommun"]
    assert (
        rows[0].respondent_key == rows[1].respondent_key == matching.actor_respondent_key("Olofström kommun", "kommun")
    )


def test_a_sheet_answer_then_a_newer_form_answer_the_form_counts(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    actor = roster["Olofström kommun"]
    load("kommun", [("OLOFSTRÖMS KOMMUN", "Olofström")])
    submit_form(engine, survey, actor, "Olofström kommun", "kommun", dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))
    assert [r.organisation for r in stored(engine) if r.is_current] == ["Olofström kommun"]


def test_an_email_stays_the_identity_where_there_is_one(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    """Control: a sheet answer with an e-mail address is its own respondent, though counted for the actor."""
    actor = roster["Olofström kommun"]
    submit_form(engine, survey, actor, "Olofström kommun", "kommun", dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    load("kommun", [("Olofströms kommun", "Olofström", {"email": "a@olofstrom.example.se"})])
    rows = stored(engine)
    assert {r.actor_id for r in rows} == {actor} and all(r.is_current for r in rows)


def test_an_unmatched_name_keeps_its_own_identity(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    """Control: a name matched to no actor is the respondent itself, as before."""
    load("ideburen", [("BOJ Karlskrona", "Karlskrona"), ("BOJ Ronneby", "Ronneby")])
    rows = stored(engine)
    assert all(r.is_current and r.actor_id is None for r in rows)
    assert rows[0].respondent_key == ingest.content_hash({"org": "boj karlskrona", "sector": "ideburen"})


def test_a_confirmed_alias_makes_the_actor_the_respondent_of_answers_stored_before(
    engine: Engine, survey: Survey, roster: dict[str, int], load: Ingest
) -> None:
    actor = roster["Brottsofferjouren Olofström"]
    load("ideburen", [("BOJ Olofström", "Olofström")])  # 2026-03-14
    submit_form(
        engine, survey, actor, "Brottsofferjouren Olofström", "ideburen", dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    )
    assert sum(r.is_current for r in stored(engine)) == 2  # not known to be one actor yet
    assert matching.confirm_alias(engine, survey, "BOJ Olofström", actor).answers == 1
    rows = stored(engine)
    assert [r.organisation for r in rows if r.is_current] == ["BOJ Olofström"]  # the newer of the two
    assert {r.respondent_key for r in rows} == {
        matching.actor_respondent_key("Brottsofferjouren Olofström", "ideburen")
    }


# -- the matcher without a database ----------------------------------------------------------------------------------


def actors(*rows: tuple[int, str, str, tuple[str, ...]]) -> matching.Matcher:
    return matching.Matcher([matching.RosterActor(i, n, s, m, match_key(n)) for i, n, s, m in rows], "10")


def test_one_name_twice_in_a_sector_is_told_apart_by_the_municipality() -> None:
    m = actors((1, "Fältgruppen", "kommun", ("1080",)), (2, "Fältgruppen", "kommun", ("1081",)))
    assert m.match("Fältgruppen", "kommun", ["1081"]).actor_id == 2
    both = m.match("Fältgruppen", "kommun", ["1080", "1081"])
    assert both.actor_id is None and both.detail == "ambiguous"


def test_another_sector_is_never_matched() -> None:
    m = actors((1, "Karlskrona kommun", "kommun", ("1080",)))
    assert m.match("Karlskrona kommun", "polis", ["1080"]).method == Method.NONE
    assert m.match("Karlskrona kommun", "kommun", ["1080"]).method == Method.NAME


def test_each_distinct_name_is_matched_once() -> None:
    m = actors((1, "Karlskrona kommun", "kommun", ("1080",)))
    first = m.match("Karlskorna kommun", "kommun", ["1080"])
    assert m.match("Karlskorna kommun", "kommun", ("1080",)) is first


def test_matching_responses_tells_link_from_name(survey: Survey) -> None:
    m = actors((1, "Karlskrona kommun", "kommun", ("1080",)), (2, "Ronneby kommun", "kommun", ("1081",)))
    frame = pd.DataFrame(
        {
            "organisation": ["Karlskrona kommun", "Ronneby kommun", "Karlskrona kommun", "Okänd förening"],
            "sector": ["kommun"] * 4,
            "actor_id": [1, 2, None, None],
            "source": ["form:x/2026-Q1", "inbox/k.csv", "inbox/k.csv", "inbox/k.csv"],
            "answers": [{"C01": ["1080"]}, {"C01": ["1081"]}, {"C01": ["1080"]}, {"C01": ["1080"]}],
        }
    )
    out = matching.match_responses(frame, m, "C01")
    assert list(out["matched_by"]) == ["link", "name", "name", "none"]
    assert list(out["actor_id"])[:3] == [1, 2, 1] and pd.isna(list(out["actor_id"])[3])
