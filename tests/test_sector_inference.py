"""A sheet's sector: from --sector, the file name, a sector column, or else its header's module questions; sector
codes in any letter case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bfs_pipeline import pipeline, store
from bfs_pipeline.errors import SurveyError
from bfs_pipeline.ingest import IngestResult
from bfs_pipeline.normalize import infer_sector
from bfs_pipeline.sources import SheetHints, catalog
from bfs_pipeline.sources.files import infer_from_name
from tests.conftest import Sheet, good_row
from tests.test_cli import bfs


def run(settings, path: Path, **hints: str) -> IngestResult:
    (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(**hints))
    assert res.rows_seen == res.accepted + res.duplicates + res.blank + res.quarantined, res
    return res


def stored_sectors(settings) -> list[str]:
    with pipeline.database(settings) as engine:
        return sorted(store.current_responses(engine, "blekinge-behov")["sector"])


@pytest.mark.parametrize(
    ("sector", "name", "answer", "first_module_title"),
    [
        ("polis", "Behovsenkät Polisen Blekinge (svar).csv", {"P01": "25 %"}, "Hur stor andel av din arbetstid"),
        ("naringsliv", "Behovsenkät Näringslivet Blekinge (svar).csv", {"N05": "4"}, "Vilken bransch tillhör"),
        ("kommun", "Behovsenkät Kommunerna (svar).csv", {"K04": "0,5"}, "Har kommunen en lägesbild"),
    ],
)
def test_a_google_forms_download_takes_the_sector_its_questions_belong_to(
    settings, survey, tmp_path, sector, name, answer, first_module_title
):
    path = Sheet(survey, sector).write(tmp_path / name, [good_row(**answer)])
    assert infer_from_name(path, list(survey.sectors)) == (None, None)  # the name says nothing
    res = run(settings, path)
    assert (res.status, res.accepted, res.sector, res.sector_inferred) == ("ok", 1, sector, sector), res
    n = len(survey.modules[sector])
    assert res.note is not None and res.note.startswith(
        f"sector {sector} inferred from the header: {n} columns only {sector} asks, e.g. '{first_module_title}"
    )
    assert res.as_json()["sector_inferred"] == sector
    assert stored_sectors(settings) == [sector]


def test_a_header_with_only_some_of_a_modules_questions_still_tells(settings, survey, tmp_path):
    keep = {"P01", "P06"}
    drop = {q.id for q in survey.modules["polis"]} - keep
    path = Sheet(survey, "polis", drop=drop).write(tmp_path / "Behovsenkät (svar).csv", [good_row(P01="10")])
    res = run(settings, path)
    assert (res.accepted, res.sector_inferred) == (1, "polis")
    assert res.note is not None and res.note.startswith("sector polis inferred from the header: 2 columns only polis")


def test_a_header_that_fits_no_single_sector_is_held(settings, survey, tmp_path):
    core = {q.id for qs in survey.modules.values() for q in qs}
    only_core = Sheet(survey, "kommun", drop=core).write(tmp_path / "Behovsenkät (svar).csv", [good_row()])
    held = run(settings, only_core)
    assert held.status == "held" and held.sector_inferred is None and held.accepted == 0
    assert held.error is not None and held.error.startswith(
        f"Cannot tell which sector answered {only_core} (its header has no question that only one sector is asked)"
    )
    titles = [title for _, title in Sheet(survey, "kommun").titles()] + [
        survey.question("P01").title(),
        survey.question("P06").title(),
    ]
    assert infer_sector(titles, survey, None) is None
    mixed = tmp_path / "Blandat (svar).csv"
    mixed.write_text(",".join(f'"{t}"' for t in titles) + "\n", encoding="utf-8")
    held = run(settings, mixed)
    assert held.status == "held" and held.error is not None
    n = len(survey.modules["kommun"])
    assert f"(its header has questions of several sectors' modules: kommun: {n}, polis: 2)" in held.error
    assert "pass --sector" in held.error


def test_a_sector_given_wins_over_the_header(settings, survey, tmp_path):
    path = Sheet(survey, "polis").write(tmp_path / "Behovsenkät Polisen (svar).csv", [good_row()])
    res = run(settings, path, sector="polis")
    assert (res.sector, res.sector_inferred, res.note) == ("polis", None, None)


def test_sources_check_says_the_sector_inferred(settings, survey):
    settings.inbox.mkdir(parents=True)
    Sheet(survey, "ideburen").write(settings.inbox / "Behovsenkät Idéburna (svar).csv", [good_row()])
    (check,) = pipeline.check_sources(settings)
    assert (check.ok, check.sector, check.sector_inferred) == (True, "ideburen", "ideburen")
    assert check.note is not None and "only ideburen asks" in check.note
    assert check.missing == [] and check.unmapped == []


# Sector codes in any letter case


@pytest.mark.parametrize("given", ["Polis", "POLIS", " polis "])
def test_sector_hints_in_any_letter_case(settings, survey, tmp_path, given):
    path = Sheet(survey, "polis").write(tmp_path / "svar.csv", [good_row()])
    res = run(settings, path, sector=given)
    assert (res.accepted, res.sector, res.sector_inferred) == (1, "polis", None)
    assert stored_sectors(settings) == ["polis"]


def test_sector_codes_in_file_names_sector_columns_and_the_codebook(settings, survey, tmp_path):
    assert infer_from_name(Path("inbox/POLIS-2026-Q1.csv"), list(survey.sectors)) == ("polis", "2026-Q1")
    assert infer_from_name(Path("inbox/Kommun_2026q1.xlsx"), list(survey.sectors)) == ("kommun", "2026-Q1")
    assert [c.question_id for c in survey.columns("Polis")] == [c.question_id for c in survey.columns("polis")]
    assert survey.check_sector("NARINGSLIV") == "naringsliv"
    with pytest.raises(SurveyError, match="has no sector 'polisen'"):
        survey.check_sector("polisen")
    assert catalog.checked(survey, SheetHints("Kommun")).sector == "kommun"
    res = run(settings, Sheet(survey, "polis").write(tmp_path / "Polis-2026-Q1.csv", [good_row()]))
    assert (res.accepted, res.sector, res.wave) == (1, "polis", "2026-Q1")
    rows = [good_row(email="a@x.se", sector="KOMMUN"), good_row(email="b@x.se", sector="polis", ORG="Polisen")]
    res = run(settings, Sheet(survey, None).write(tmp_path / "alla.csv", rows))
    assert res.accepted == 2
    assert stored_sectors(settings) == ["kommun", "polis", "polis"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_takes_sector_in_any_case(env, survey, tmp_path):
    path = Sheet(survey, "polis").write(tmp_path / "svar.csv", [good_row()])
    got = json.loads(bfs(env, "ingest", "--file", str(path), "--sector", "Polis", "--json").stdout)
    assert (got["accepted"], got["sector"]) == (1, "polis")
    again = json.loads(bfs(env, "ingest", "--file", str(path), "--sector", "POLIS", "--json").stdout)
    assert (again["accepted"], again["duplicates"], again["sector"]) == (0, 1, "polis")


def test_a_configured_sector_in_any_case_is_the_same_sheet(settings, survey):
    """A [[sources]] sector = "Polis": stored as polis, and the unchanged sheet is known the next night."""
    from bfs_pipeline.sources import MemorySource

    cols = Sheet(survey, "polis").titles()
    row = good_row()
    source = MemorySource(
        "gsheet:polis-form", [t for _, t in cols], [[row.get(k, "") for k, _ in cols]], SheetHints("Polis"), digest="d1"
    )
    with pipeline.database(settings) as engine:
        first = pipeline.ingest_source(engine, settings, survey, source, skip_unchanged=True)
        again = pipeline.ingest_source(engine, settings, survey, source, skip_unchanged=True)
    assert (first.status, first.accepted, first.sector) == ("ok", 1, "polis")
    assert (again.status, again.run_id, again.sector) == ("unchanged", first.run_id, "polis")
    assert source.reads == 1
    assert stored_sectors(settings) == ["polis"]
