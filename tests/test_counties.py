"""One installation serving several counties: each survey with its own inbox folder, roster, recipients and report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bfs_pipeline import pipeline, roster
from bfs_pipeline.config import Settings
from bfs_pipeline.survey import load_survey
from tests.conftest import SURVEY_FILE, Sheet, good_row, migrated_to


def two_surveys(tmp_path: Path) -> Path:
    """A surveys folder with Blekinge's survey and a copy for Kalmar län."""
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "blekinge-behov.yaml").write_text(SURVEY_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    kalmar = (
        SURVEY_FILE.read_text(encoding="utf-8")
        .replace("id: blekinge-behov", "id: kalmar-behov", 1)
        .replace("county: '10'", "county: '08'", 1)
    )
    (folder / "kalmar-behov.yaml").write_text(kalmar + "report_to:\n- samordnare@kalmar.example.se\n", encoding="utf-8")
    return folder


@pytest.fixture
def two_counties(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, surveys_dir=two_surveys(tmp_path))


def test_each_county_its_own_inbox_roster_recipients_and_report(two_counties: Settings, tmp_path: Path):
    s = two_counties
    blekinge, kalmar = (
        load_survey(s.surveys_dir / "blekinge-behov.yaml"),
        load_survey(s.surveys_dir / "kalmar-behov.yaml"),
    )
    assert kalmar.county == "08" and [c.code for c in kalmar.question("C01").choices][-1] == "08"
    (s.inbox / "blekinge-behov").mkdir(parents=True)
    (s.inbox / "kalmar-behov").mkdir(parents=True)
    Sheet(blekinge, "kommun").write(
        s.inbox / "blekinge-behov" / "kommun-2026-Q1.csv",
        [good_row(email=f"b{i}@x.se", ORG=f"Org {i}") for i in range(5)],
    )
    Sheet(kalmar, "kommun").write(
        s.inbox / "kalmar-behov" / "kommun-2026-Q1.csv",
        [good_row(email=f"k{i}@x.se", ORG="Kalmar kommun", C01="Kalmar") for i in range(5)]
        + [good_row(email="z@x.se", C01="Karlskrona")],
    )
    Sheet(blekinge, "kommun").write(s.inbox / "kommun-2026-Q1.csv", [good_row()])  # in no survey's folder
    results = {Path(r.source).relative_to(s.inbox).as_posix(): r for r in pipeline.ingest_files(s)}
    assert results["kommun-2026-Q1.csv"].status == "failed" and "in no survey's folder" in (
        results["kommun-2026-Q1.csv"].error or ""
    )
    assert results["blekinge-behov/kommun-2026-Q1.csv"].accepted == 5
    kal = results["kalmar-behov/kommun-2026-Q1.csv"]
    assert (kal.accepted, kal.quarantined, kal.survey) == (5, 1, "kalmar-behov")  # Karlskrona is outside Kalmar län

    rosters = tmp_path / "r"
    rosters.mkdir()
    (rosters / "b.csv").write_text(
        "organisation,sektor,kommun\nOrg 0,kommun,Karlskrona\nTyst förening,ideburen,Ronneby\n", encoding="utf-8"
    )
    # "Org 0" (kommun) is on both rosters: two organisations of one name, one per county
    (rosters / "k.csv").write_text(
        "organisation,sektor,kommun\nKalmar kommun,kommun,Kalmar\nOrg 0,kommun,Torsås\n", encoding="utf-8"
    )
    engine = pipeline.open_store(s)
    roster.import_roster(engine, rosters / "b.csv", blekinge)
    assert roster.import_roster(engine, rosters / "k.csv", kalmar) == {
        "added": 2,
        "updated": 0,
        "inactive": 0,
    }  # Blekinge's actors stay active
    assert roster.import_roster(engine, rosters / "b.csv", blekinge) == {
        "added": 0,
        "updated": 2,
        "inactive": 0,
    }  # and Kalmar's are not Blekinge's
    both = roster.roster_frame(engine)
    assert sorted(zip(both["county"], both["name"], both["municipalities"].map(tuple), strict=True)) == [
        ("08", "Kalmar kommun", ("0880",)),
        ("08", "Org 0", ("0834",)),
        ("10", "Org 0", ("1080",)),
        ("10", "Tyst förening", ("1081",)),
    ]
    engine.dispose()

    rep_b = pipeline.render(s, "2026-Q1", survey_id="blekinge-behov")
    rep_k = pipeline.render(s, "2026-Q1", survey_id="kalmar-behov")
    assert (
        rep_k.subject == "Behovsrapport Kalmar län 2026-Q1"
        and "Torsås" in rep_k.html
        and "Karlskrona" not in rep_k.html
    )
    assert "Olofström" in rep_b.html and "Torsås" not in rep_b.html
    assert rep_b.coverage_rate == 0.5 and rep_k.coverage_rate == 0.5  # Kalmar's Org 0 has not answered, Blekinge's has
    (k_out,) = pipeline.send(s, rep_k)
    (b_out,) = pipeline.send(s, rep_b)
    assert k_out.recipient == "samordnare@kalmar.example.se" and b_out.recipient == s.report_to[0]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_gives_an_existing_roster_its_county(db_url: str):
    """A database made before rosters had a county: upgrading keeps every actor, each in its municipalities' county."""
    from sqlalchemy import inspect, text

    from bfs_pipeline import db

    engine = db.make_engine(db_url)
    with migrated_to(engine, "0003") as conn:
        conn.execute(
            text(
                "INSERT INTO actors (name, name_key, sector, municipalities, active, updated_at) VALUES "
                "('Org A', 'org a', 'kommun', '[\"1080\"]', true, CURRENT_TIMESTAMP), "
                "('Org B', 'org b', 'polis', '[\"0880\", \"0834\"]', true, CURRENT_TIMESTAMP)"
            )
        )
    db.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, county FROM actors ORDER BY name")).all()
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("responses")}
    assert [tuple(r) for r in rows] == [("Org A", "10"), ("Org B", "08")]
    assert "ix_responses_respondent" not in indexes and "ix_responses_respondent_key" in indexes
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_rehashed_answers_are_still_duplicates(db_url: str, settings: Settings, sheet, tmp_path: Path):
    """Answers stored under the earlier hash get the new one on upgrade: the same sheet read again adds nothing."""
    from sqlalchemy import text

    from bfs_pipeline import db

    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row(email=f"r{i}@x.se") for i in range(3)])
    (first,) = pipeline.ingest_files(settings, file=path)
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        stored = sorted(conn.execute(text("SELECT content_hash FROM responses")).scalars())
    with migrated_to(engine, "0004", down=True) as conn:  # the hashes as versions before 0005 wrote them
        older = sorted(conn.execute(text("SELECT content_hash FROM responses")).scalars())
    db.upgrade(engine)
    with engine.connect() as conn:
        again = sorted(conn.execute(text("SELECT content_hash FROM responses")).scalars())
    engine.dispose()
    assert first.accepted == 3 and len(set(older)) == 3 and set(older).isdisjoint(stored) and again == stored
    (second,) = pipeline.ingest_files(settings, file=path)
    assert (second.accepted, second.duplicates) == (0, 3)
