"""Live coverage (`bfs coverage`) and the coordinator's weekly digest, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bfs_pipeline import pipeline
from bfs_pipeline.config import Settings
from bfs_pipeline.outreach import links
from bfs_pipeline.outreach.coverage import coverage
from bfs_pipeline.outreach.digest import send_digest
from bfs_pipeline.outreach.invite import invite, opt_out
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey
from tests.conftest import good_row

WAVE = "2026-Q4"
ROSTER = (
    "organisation,sektor,kommun,kontakt\n"
    "Karlskrona kommun,kommun,Karlskrona,k@x.se\n"
    "Ronneby kommun,kommun,Ronneby,r@x.se\n"
    "Lokalpolisområde Karlskrona,polis,Karlskrona,\n"
    "Föreningen Trygg,ideburen,Karlskrona;Ronneby,t@x.se\n"
)


def setup(settings: Settings, engine: Engine, survey: Survey, tmp_path: Path) -> bytes:
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")
    import_roster(engine, tmp_path / "r.csv", survey)
    key = hash_key(settings.hash_key, settings.home)
    links.open_wave(engine, survey, WAVE, key, settings.public_url, links.today() + dt.timedelta(days=20))
    return key


def test_coverage_lists_every_actor_and_totals(
    settings: Settings, engine: Engine, survey: Survey, tmp_path: Path, sheet: Any
) -> None:
    key = setup(settings, engine, survey, tmp_path)
    invite(engine, settings, survey, WAVE, key)
    by_name = {a.organisation: a for a in coverage(engine, survey, WAVE).actors}
    opt_out(engine, by_name["Föreningen Trygg"].actor_id, WAVE)
    row = good_row(email="", ORG="Karlskrona kommun", C01="Karlskrona", timestamp="2026-11-02 10:00:00")
    pipeline.ingest_files(settings, file=sheet("kommun", wave=WAVE).write(tmp_path / f"kommun-{WAVE}.csv", [row]))
    found = coverage(engine, survey, WAVE).as_json()
    assert found["wave"] == WAVE and found["answered"] == 1 and found["expected"] == 4
    actors = {a["organisation"]: a for a in found["actors"]}
    assert set(actors["Karlskrona kommun"]) >= {
        "actor_id",
        "organisation",
        "sector",
        "municipality",
        "answered",
        "matched_by",
        "invited_at",
        "reminders",
        "opted_out",
    }
    assert actors["Karlskrona kommun"]["answered"] and actors["Karlskrona kommun"]["matched_by"] == "name"
    assert not actors["Ronneby kommun"]["answered"] and actors["Ronneby kommun"]["matched_by"] == "none"
    assert (
        actors["Ronneby kommun"]["invited_at"] is not None
        and actors["Lokalpolisområde Karlskrona"]["invited_at"] is None
    )
    assert (
        actors["Föreningen Trygg"]["opted_out"] and actors["Föreningen Trygg"]["municipality"] == "Karlskrona, Ronneby"
    )
    totals = {(t["municipality"], t["sector"]): (t["answered"], t["expected"]) for t in found["totals"]}
    assert totals == {
        ("1080", "kommun"): (1, 1),
        ("1080", "polis"): (0, 1),
        ("1080", "ideburen"): (0, 1),
        ("1081", "kommun"): (0, 1),
        ("1081", "ideburen"): (0, 1),
    }


def test_the_digest_goes_once_a_week_while_a_wave_is_open(
    settings: Settings, engine: Engine, survey: Survey, tmp_path: Path
) -> None:
    assert send_digest(engine, settings, survey) == []  # no wave open: no digest
    setup(settings, engine, survey, tmp_path)
    monday = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
    first = send_digest(engine, settings, survey, monday)
    assert [o.state for o in first] == ["written"] and first[0].recipient == settings.report_to[0]
    text = Path(first[0].path or "").read_text(encoding="utf-8")
    assert "0 av 4 organisationer har svarat" in text and "Har inte svarat:" in text
    assert "Lokalpolisområde Karlskrona" in text and "Föreningen Trygg" in text
    again = send_digest(engine, settings, survey, monday + dt.timedelta(days=2))
    assert again[0].already  # the same week: not again
    next_week = send_digest(engine, settings, survey, monday + dt.timedelta(days=7))
    assert not next_week[0].already and next_week[0].path != first[0].path
    links.close_wave(engine, survey, WAVE)
    assert send_digest(engine, settings, survey, monday + dt.timedelta(days=14)) == []


def test_cli_coverage(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")

    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bfs_pipeline", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert bfs("actors", "import", str(tmp_path / "r.csv")).returncode == 0
    assert bfs("wave", "open", WAVE).returncode == 0
    data = json.loads(bfs("coverage", "--wave", WAVE, "--json").stdout)
    assert {"wave", "actors", "totals"} <= set(data) and len(data["actors"]) == 4
    text = bfs("coverage", "--wave", WAVE)
    assert text.returncode == 0 and "0 of 4 actors have answered" in text.stdout and "Not answered:" in text.stdout


def test_cli_actors_match_and_alias_then_coverage_counts_it(
    env: dict[str, str], tmp_path: Path, sheet: Any, survey: Survey
) -> None:
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")

    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bfs_pipeline", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert bfs("actors", "import", str(tmp_path / "r.csv")).returncode == 0
    assert bfs("wave", "open", WAVE).returncode == 0
    row = good_row(email="", ORG="BOJ Trygg", C01="Karlskrona", timestamp="2026-11-02 10:00:00")
    path = sheet("ideburen", wave=WAVE).write(tmp_path / f"ideburen-{WAVE}.csv", [row])
    assert bfs("ingest", "--file", str(path)).returncode == 0
    listed = json.loads(bfs("actors", "match", "--wave", WAVE, "--json").stdout)
    assert [r["text"] for r in listed] == ["BOJ Trygg"]
    before = json.loads(bfs("coverage", "--wave", WAVE, "--json").stdout)
    trygg = next(a for a in before["actors"] if a["organisation"] == "Föreningen Trygg")
    assert not trygg["answered"] and trygg["matched_by"] == "none"  # not counted on a guess
    done = bfs("actors", "alias", "BOJ Trygg", str(trygg["actor_id"]))
    assert done.returncode == 0 and "Föreningen Trygg" in done.stdout
    after = json.loads(bfs("coverage", "--wave", WAVE, "--json").stdout)
    trygg = next(a for a in after["actors"] if a["organisation"] == "Föreningen Trygg")
    assert trygg["answered"] and trygg["matched_by"] == "alias"
    assert json.loads(bfs("actors", "match", "--wave", WAVE, "--json").stdout) == []
    unknown = bfs("actors", "alias", "BOJ Trygg", "99999")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr


def test_bfs_coverage_agrees_with_the_reports_coverage_table(
    settings: Settings, engine: Engine, survey: Survey, tmp_path: Path, sheet: Any
) -> None:
    """Answers by link, by exact name, by a name the sector words hide and by a misspelt name: the report's
    coverage per municipality and sector and `bfs coverage`'s totals count the same actors."""
    from bfs_pipeline.report import report_data
    from bfs_pipeline.roster import roster_frame
    from bfs_pipeline.store import current_responses
    from bfs_pipeline.web.forms import FormService

    key = setup(settings, engine, survey, tmp_path)
    opened = links.open_wave(engine, survey, WAVE, key, settings.public_url)
    service = FormService(engine, settings.surveys_dir, key)
    trygg = next(link for link in opened.links if link.organisation == "Föreningen Trygg")
    visit = service.visit(trygg.url.rsplit("/", 1)[1])
    assert visit is not None
    form = {f.name: [f.options[0].value] for s in service.page(visit, "sv").sections for f in s.fields if f.required}
    assert service.submit(visit, form | {"C01": ["1080"]}, "sv").outcome == "stored"
    rows = [
        good_row(email="", ORG="Karlskrona kommun", C01="Karlskrona", timestamp="2026-11-02 10:00:00"),
        good_row(email="", ORG="Ronneby", C01="Ronneby", timestamp="2026-11-02 11:00:00"),
    ]
    pipeline.ingest_files(settings, file=sheet("kommun", wave=WAVE).write(tmp_path / f"kommun-{WAVE}.csv", rows))
    police = [good_row(email="", ORG="Polisen LPO Karlskorna", C01="Karlskrona", timestamp="2026-11-03 10:00:00")]
    pipeline.ingest_files(settings, file=sheet("polis", wave=WAVE).write(tmp_path / f"polis-{WAVE}.csv", police))
    live = {
        (t["municipality"], t["sector"]): (t["answered"], t["expected"])
        for t in coverage(engine, survey, WAVE).as_json()["totals"]
    }
    data = report_data(
        survey, current_responses(engine, survey.id), WAVE, "sv", roster_frame(engine, county=survey.county)
    )
    reported = {(r.municipality, r.sector): (int(r.answered), int(r.expected)) for r in data.coverage.itertuples()}
    assert live == reported
    assert live[("1081", "kommun")] == (1, 1) and live[("1080", "polis")] == (1, 1)  # "Ronneby", a typo: counted
    assert sum(a for a, _ in live.values()) == 5  # Trygg counts in both its municipalities
