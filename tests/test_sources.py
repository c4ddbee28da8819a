"""The source catalog and the one ingest loop: which sources a survey has; each source pulled once, failing alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bfs_pipeline import normalize as nz
from bfs_pipeline import pipeline
from bfs_pipeline.config import Settings, SheetConfig
from bfs_pipeline.errors import SourceError
from bfs_pipeline.ingest import RunStatus
from bfs_pipeline.sources import MemorySource, SheetHints, SourceKind, catalog
from bfs_pipeline.sources.files import FileSource, infer_from_name
from bfs_pipeline.sources.gsheets import GoogleAccount
from bfs_pipeline.survey import Survey, load_survey
from tests.conftest import Sheet, good_row
from tests.test_counties import two_surveys


def names(sources: list) -> list[str]:
    return [Path(s.name).name if s.kind == SourceKind.FILE else s.name for s in sources]


def test_one_survey_reads_the_whole_inbox(settings: Settings, survey: Survey, sheet):
    settings.inbox.mkdir(parents=True)
    (settings.inbox / "sub").mkdir()
    sheet().write(settings.inbox / "kommun-2026-Q1.csv", [good_row()])
    sheet("polis").write(settings.inbox / "sub" / "polis-2026-Q1.csv", [])
    (settings.inbox / "notes.txt").write_text("not a sheet", encoding="utf-8")
    (settings.inbox / "~$kommun-2026-Q1.xlsx").write_bytes(b"Excel's lock file")
    found = catalog.sources_for(settings, survey)
    assert names(found) == ["kommun-2026-Q1.csv", "polis-2026-Q1.csv"]
    assert [(s.hints.sector, s.hints.wave) for s in found] == [("kommun", "2026-Q1"), ("polis", "2026-Q1")]
    assert catalog.stray_sources(settings) == []


def test_several_surveys_each_its_own_folder_and_strays_apart(settings: Settings, tmp_path: Path):
    s = replace(settings, surveys_dir=two_surveys(tmp_path))
    blekinge, kalmar = (
        load_survey(s.surveys_dir / "blekinge-behov.yaml"),
        load_survey(s.surveys_dir / "kalmar-behov.yaml"),
    )
    for sid in ("blekinge-behov", "kalmar-behov"):
        (s.inbox / sid).mkdir(parents=True)
        Sheet(blekinge, "kommun").write(s.inbox / sid / "kommun-2026-Q1.csv", [good_row()])
    Sheet(blekinge, "kommun").write(s.inbox / "kommun-2026-Q2.csv", [good_row()])
    assert [Path(x.name).relative_to(s.inbox).as_posix() for x in catalog.sources_for(s, kalmar)] == [
        "kalmar-behov/kommun-2026-Q1.csv"
    ]
    plan = catalog.plan(s)
    assert [(sv.id if sv else None, Path(src.name).relative_to(s.inbox).as_posix()) for sv, src in plan] == [
        (None, "kommun-2026-Q2.csv"),
        ("blekinge-behov", "blekinge-behov/kommun-2026-Q1.csv"),
        ("kalmar-behov", "kalmar-behov/kommun-2026-Q1.csv"),
    ]
    stray = plan[0][1]
    assert stray.kind == SourceKind.STRAY and stray.fingerprint() is None
    with pytest.raises(SourceError, match=r"is in no survey's folder: move it to .*/inbox/SURVEY-ID/"):
        stray.read()
    assert [sv.id if sv else None for sv, _ in catalog.plan(s, survey_id="kalmar-behov")] == [
        None,
        "kalmar-behov",
    ]  # strays always told


def test_google_sheets_of_the_survey_only_and_by_name(settings: Settings, survey: Survey):
    cfgs = (SheetConfig("kommun-form", "kommun", "KEY1"), SheetConfig("other", "polis", "KEY2", survey="kalmar-behov"))
    s = replace(settings, sources=cfgs)
    account = GoogleAccount(client=_NoHttp())
    found = catalog.sources_for(s, survey, connect=lambda _: account)
    assert [(x.name, x.kind, x.hints.sector) for x in found] == [("gsheet:kommun-form", SourceKind.GSHEET, "kommun")]
    assert names(catalog.sources_for(s, survey, only="kommun-form", connect=lambda _: account)) == [
        "gsheet:kommun-form"
    ]
    assert names(catalog.sources_for(s, survey, only="gsheet:kommun-form", connect=lambda _: account)) == [
        "gsheet:kommun-form"
    ]
    with pytest.raises(
        SourceError, match=r"No configured source 'nope'; the sources are gsheet:kommun-form, gsheet:other\."
    ):
        catalog.plan(s, only="nope", connect=lambda _: account)


def test_without_google_credentials_each_sheet_fails_alone(settings: Settings, survey: Survey, sheet):
    s = replace(settings, sources=(SheetConfig("kommun-form", "kommun", "KEY1"),))
    s.inbox.mkdir(parents=True)
    sheet().write(s.inbox / "kommun-2026-Q1.csv", [good_row()])
    results = {Path(r.source).name: r for r in pipeline.ingest_files(s)}
    assert results["kommun-2026-Q1.csv"].accepted == 1
    failed = results["gsheet:kommun-form"]
    assert (
        failed.status == RunStatus.FAILED
        and failed.run_id is None
        and "BFS_GOOGLE_SERVICE_ACCOUNT_FILE is not set" in (failed.error or "")
    )


def test_hints_win_over_the_file_name_and_are_checked(survey: Survey, tmp_path: Path):
    path = tmp_path / "kommun-2026-Q1.csv"
    assert infer_from_name(path, list(survey.sectors)) == ("kommun", "2026-Q1")
    assert catalog.file_source(survey, path, SheetHints(sector="polis")).hints == SheetHints("polis", "2026-Q1")
    assert catalog.file_source(survey, path, SheetHints(wave="2025-q4")).hints == SheetHints("kommun", "2025-Q4")
    with pytest.raises(Exception, match="has no sector 'brandkår'"):
        catalog.file_source(survey, path, SheetHints(sector="brandkår"))


def test_a_fake_source_goes_through_the_one_loop(settings: Settings, survey: Survey):
    """The pull/ingest loop knows sources only by their interface: a MemorySource stands in for any of them."""
    header = [c.title for c in survey.columns("kommun")]
    row = [good_row().get(c.question_id or c.type, "") for c in survey.columns("kommun")]
    fake = MemorySource("memory:kommun", header, [row], SheetHints("kommun", "2026-Q1"), digest="abc")
    with pipeline.database(settings) as engine:
        first = pipeline.ingest_source(engine, settings, survey, fake, skip_unchanged=True)
        again = pipeline.ingest_source(engine, settings, survey, fake, skip_unchanged=True)
        broken = pipeline.ingest_source(
            engine, settings, survey, MemorySource("memory:x", header, error="the sheet is gone")
        )
        stray = pipeline.ingest_source(
            engine, settings, None, MemorySource("memory:y", header, error="in no survey's folder")
        )
    assert (first.status, first.accepted, first.wave) == (RunStatus.OK, 1, "2026-Q1")
    assert (again.status, again.run_id, fake.reads) == (
        RunStatus.UNCHANGED,
        first.run_id,
        1,
    )  # the fingerprint alone settled it
    assert (broken.status, broken.error, broken.run_id) == (RunStatus.FAILED, "the sheet is gone", None)
    assert (stray.status, stray.survey) == (RunStatus.FAILED, "")
    assert first.as_json()["status"] == "ok"


def test_a_read_sheet_moves_to_read_and_a_held_one_stays_unparsed(
    settings: Settings, survey: Survey, sheet, monkeypatch
):
    """A sheet read without trouble moves to inbox/read/WAVE/; a held one stays, and is not parsed again while its
    bytes are the same (status unchanged)."""
    settings.inbox.mkdir(parents=True)
    sheet().write(settings.inbox / "kommun-2026-Q1.csv", [good_row()])
    sheet("polis", extra_titles=["Okänd"]).write(settings.inbox / "polis-2026-Q1.csv", [good_row()])
    first = {Path(r.source).name: r for r in pipeline.nightly(settings)}
    assert (first["kommun-2026-Q1.csv"].status, first["polis-2026-Q1.csv"].status) == (RunStatus.OK, RunStatus.HELD)
    assert sorted(p.relative_to(settings.inbox).as_posix() for p in settings.inbox.rglob("*.csv")) == [
        "polis-2026-Q1.csv",
        "read/2026-Q1/kommun-2026-Q1.csv",
    ]
    reads: list[str] = []
    real = FileSource.read
    monkeypatch.setattr(FileSource, "read", lambda self: reads.append(self.name) or real(self))
    second = {
        Path(r.source).relative_to(settings.inbox).as_posix(): (r.status, r.run_id) for r in pipeline.nightly(settings)
    }
    assert second == {
        "polis-2026-Q1.csv": (RunStatus.UNCHANGED, first["polis-2026-Q1.csv"].run_id),
        "read/2026-Q1/kommun-2026-Q1.csv": (RunStatus.UNCHANGED, first["kommun-2026-Q1.csv"].run_id),
    }
    assert reads == []  # neither was parsed


def test_describe_header_says_what_maps_what_not_and_what_is_missing(survey: Survey):
    cols = survey.columns("kommun")
    titles = [c.title for c in cols if c.question_id != "B03"] + ["Okänd kolumn", "", "  Tidstämpel  ".upper()]
    described = nz.describe_header(titles, survey, "kommun", None)
    mapped = {t: c.question_id or c.type for _, t, c in described.mapped}
    assert mapped[cols[0].title] == "timestamp" and mapped[cols[5].title] == cols[5].question_id
    assert described.unmapped == ["Okänd kolumn"]
    assert [c.question_id for c in described.missing] == ["B03"]
    assert [i for i, t, _ in described.entries if not t] == [
        len(titles) - 2
    ]  # the untitled column is kept, by position
    assert described.mapped[-1][2].type == "timestamp"  # titles match whatever their case and spaces


def test_sources_check_uses_the_same_description(settings: Settings, survey: Survey, sheet):
    settings.inbox.mkdir(parents=True)
    sheet(drop={"B03"}, extra_titles=["Okänd kolumn"]).write(settings.inbox / "kommun-2026-Q1.csv", [good_row()])
    (check,) = pipeline.check_sources(settings)
    out = check.as_json()
    assert (out["readable"], out["ok"], out["rows"], out["unmapped"]) == (True, False, 1, ["Okänd kolumn"])
    assert out["missing"] == [next(c.title for c in survey.columns("kommun") if c.question_id == "B03")]
    assert 'has no column "Okänd kolumn"' in out["error"]


class _NoHttp:
    """A Sheets client that must not be called: listing sources reads nothing."""

    http_client = None

    def set_timeout(self, timeout: object) -> None:
        pass


def test_one_file_is_one_source_by_relative_or_absolute_path(settings: Settings, sheet, tmp_path: Path, monkeypatch):
    """Ingested once as a relative path and once as an absolute one (and once through a symbolic link), the same file
    is the same source: its rows are duplicates the second time, its quarantined rows listed once."""
    from bfs_pipeline import store

    folder = tmp_path / "svar"
    folder.mkdir()
    path = sheet().write(folder / "kommun-2026-Q1.csv", [good_row(), good_row(email="x@x.se", C01="Kalmar")])
    (tmp_path / "genväg").symlink_to(folder, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    given = [
        Path("svar/kommun-2026-Q1.csv"),
        path,
        Path("./svar/../svar/kommun-2026-Q1.csv"),
        Path("genväg/kommun-2026-Q1.csv"),
    ]
    results = [pipeline.ingest_files(settings, file=p)[0] for p in given]
    assert {r.source for r in results} == {str(path.resolve())}
    assert [(r.accepted, r.duplicates, r.quarantined) for r in results] == [(1, 0, 1)] + [(0, 1, 1)] * 3
    with pipeline.database(settings) as engine:
        listed = store.quarantine_rows(engine)
        assert store.status(engine).quarantined == 1
    assert [(q["source"], q["sheet_row"], q["run_id"]) for q in listed] == [(str(path), 3, results[-1].run_id)]
