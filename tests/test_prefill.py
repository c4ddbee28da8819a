"""Pre-filled Google Forms links with a code (issue 12): the invitation links to the Google Form with the actor's
code, and an answer sheet's code column names the actor exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import pipeline
from bfs_pipeline.config import Settings, load_settings
from bfs_pipeline.errors import SurveyError
from bfs_pipeline.models import Response
from bfs_pipeline.outreach import links, prefill
from bfs_pipeline.outreach.coverage import coverage
from bfs_pipeline.outreach.invite import invite
from bfs_pipeline.outreach.matching import Method
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey, load_survey
from tests.conftest import SURVEY_FILE, good_row

WAVE = "2026-Q4"
FORM = "https://docs.google.com/forms/d/e/1FAIpQLSdExample/viewform?usp=pp_url"
ENTRY = "entry.1234567890"
ROSTER = (
    "organisation,sektor,kommun,kontakt\n"
    "Karlskrona kommun,kommun,Karlskrona,k@x.se\n"
    "Ronneby kommun,kommun,Ronneby,r@x.se\n"
    "Olofström kommun,kommun,Olofström,o@x.se\n"
)


def survey_with_prefill(folder: Path, spec: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / SURVEY_FILE.name
    shutil.copy(SURVEY_FILE, target)
    text = target.read_text(encoding="utf-8")
    assert f"  {WAVE}: {{}}\n" in text
    target.write_text(text.replace(f"  {WAVE}: {{}}\n", f"  {WAVE}:\n{spec}"), encoding="utf-8")
    return folder


@pytest.fixture
def world(env: dict[str, str], engine: Engine, tmp_path: Path) -> tuple[Settings, Survey, bytes]:
    spec = f"    prefill:\n      url: {FORM}\n      entry: {ENTRY}\n"
    surveys = survey_with_prefill(tmp_path / "surveys", spec)
    settings = load_settings(env | {"BFS_SURVEYS_DIR": str(surveys)}, cwd=tmp_path)
    survey = load_survey(surveys / SURVEY_FILE.name)
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")
    import_roster(engine, tmp_path / "r.csv", survey)
    key = hash_key(settings.hash_key, settings.home)
    links.open_wave(engine, survey, WAVE, key, settings.public_url, links.today() + dt.timedelta(days=20))
    return settings, survey, key


def actor_ids(engine: Engine, survey: Survey) -> dict[str, int]:
    return {a.organisation: a.actor_id for a in coverage(engine, survey, WAVE).actors}


def write_sheet(survey: Survey, path: Path, rows: list[dict[str, str]], code_title: str = "Kod") -> Path:
    cols = [(c.question_id or c.type, c.title) for c in survey.columns("kommun", WAVE)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([t for _, t in cols] + [code_title])
        for r in rows:
            w.writerow([r.get(k, "") for k, _ in cols] + [r.get("code", "")])
    return path


def test_the_invitation_links_to_the_google_form_with_the_actors_code(
    engine: Engine, world: tuple[Settings, Survey, bytes]
) -> None:
    settings, survey, key = world
    assert invite(engine, settings, survey, WAVE, key).done == 3
    ids = actor_ids(engine, survey)
    found = {}
    for path in sorted((settings.home / "outbox").rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_content()
        form_link = next(w for w in body.split() if w.startswith("https://docs.google.com/"))
        found[str(msg["To"])] = form_link
        assert "/avregistrera" not in body  # an invitation carries no unsubscribe link; reminders do
    assert set(found) == {"k@x.se", "r@x.se", "o@x.se"}
    link = found["k@x.se"]
    query = parse_qs(urlsplit(link).query)
    assert link.startswith(FORM.split("?")[0]) and query["usp"] == ["pp_url"]
    assert query[ENTRY] == [prefill.derive_code(key, survey.id, WAVE, ids["Karlskrona kommun"])]
    assert len({parse_qs(urlsplit(v).query)[ENTRY][0] for v in found.values()}) == 3  # a code of its own each


def test_an_answer_with_a_code_is_matched_exactly_whatever_its_name(
    engine: Engine, world: tuple[Settings, Survey, bytes], tmp_path: Path
) -> None:
    settings, survey, key = world
    ids = actor_ids(engine, survey)
    code = prefill.derive_code(key, survey.id, WAVE, ids["Ronneby kommun"])
    rows = [
        # a name that matches nobody, but the code says Ronneby kommun (typed in lower case with a dash)
        good_row(email="", ORG="Kommunen vid havet", C01="Ronneby", timestamp="2026-11-02 10:00:00")
        | {"code": f"{code[:6].lower()}-{code[6:]}"},
        # a code nobody has: not trusted; the name decides (Karlskrona kommun by name)
        good_row(email="", ORG="Karlskrona kommun", C01="Karlskrona", timestamp="2026-11-02 11:00:00")
        | {"code": "AAAAAAAAAAAA"},
    ]
    [result] = pipeline.ingest_files(settings, file=write_sheet(survey, tmp_path / f"kommun-{WAVE}.csv", rows))
    assert (result.accepted, result.quarantined) == (2, 0)
    with Session(engine) as s:
        stored = {r.organisation: (r.actor_id, r.matched_by) for r in s.scalars(select(Response))}
    assert stored["Kommunen vid havet"] == (ids["Ronneby kommun"], Method.CODE.value)
    assert stored["Karlskrona kommun"] == (ids["Karlskrona kommun"], None)
    shown = {a["organisation"]: a for a in coverage(engine, survey, WAVE).as_json()["actors"]}
    assert shown["Ronneby kommun"]["answered"] and shown["Ronneby kommun"]["matched_by"] == "code"
    assert shown["Karlskrona kommun"]["matched_by"] == "name"
    assert not shown["Olofström kommun"]["answered"] and shown["Olofström kommun"]["matched_by"] == "none"


def test_a_code_column_is_refused_where_no_wave_has_a_prefilled_form(
    settings: Settings, engine: Engine, survey: Survey, tmp_path: Path
) -> None:
    path = write_sheet(survey, tmp_path / f"kommun-{WAVE}.csv", [good_row(email="", timestamp="2026-11-02 10:00:00")])
    [result] = pipeline.ingest_files(settings, file=path)
    assert result.status == "held" and 'no column "Kod"' in (result.error or "")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("    prefill: yes\n", "is not a mapping"),
        (f"    prefill:\n      url: http://example.se/form\n      entry: {ENTRY}\n", "is not an https address"),
        (f"    prefill:\n      url: {FORM}\n      entry: '1234'\n", "is not an entry id"),
    ],
)
def test_a_wrong_prefill_is_named_with_how_to_fix_it(tmp_path: Path, spec: str, words: str) -> None:
    folder = survey_with_prefill(tmp_path / "surveys", spec)
    with pytest.raises(SurveyError, match=words) as caught:
        prefill.prefills(load_survey(folder / SURVEY_FILE.name))
    assert f"waves.{WAVE}.prefill" in str(caught.value)


def test_the_link_replaces_a_value_the_prefill_link_had_and_codes_are_stable() -> None:
    form = prefill.Prefill(WAVE, FORM + f"&{ENTRY}=exempel&entry.55=ja", ENTRY)
    query = parse_qs(urlsplit(form.link("ABCDEFGHJKLM")).query)
    assert query[ENTRY] == ["ABCDEFGHJKLM"] and query["entry.55"] == ["ja"] and query["usp"] == ["pp_url"]
    first = prefill.derive_code(b"k" * 32, "s", WAVE, 7)
    assert first == prefill.derive_code(b"k" * 32, "s", WAVE, 7) and prefill.CODE_RE.match(first)
    assert first != prefill.derive_code(b"k" * 32, "s", "2027-Q1", 7) != prefill.derive_code(b"x" * 32, "s", WAVE, 7)
    assert prefill.clean_code(f" {first[:4].lower()} {first[4:]} ") == first and prefill.clean_code("nej") is None
