"""Every question has a purpose (`reported_in:` or `kept_for:`), and the `yearly:` flag holds everywhere (#13)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import pipeline
from bfs_pipeline.blank_sheets import write_template
from bfs_pipeline.cli import cli
from bfs_pipeline.config import Settings, default_surveys_dir
from bfs_pipeline.errors import SurveyError
from bfs_pipeline.guide import render_guide
from bfs_pipeline.models import Response
from bfs_pipeline.normalize import describe_header
from bfs_pipeline.sources import SheetHints
from bfs_pipeline.survey import REPORT_SECTIONS, Survey, form_columns, load_survey, unpurposed
from bfs_pipeline.web.forms import FormService
from tests.conftest import SURVEY_FILE, good_row

FREE_TEXT = "the coordinator's export (bfs answers export --free-text), never in a report"
SECTIONS = {
    "needs": {f"B0{i}" for i in range(1, 10)},
    "coverage": {"ORG", "C01"},
    "capacity": {"K04", "K05", "K06", "K07", "K10", "K11"},
    "law": {"K01", "K02", "K03"},
    "maturity": {f"K12{x}" for x in "abcde"},
    "others_view": {"P02", "P03", "P05", "P07", "I06", "I08", "N06", "M08"},
    "satisfaction": {"C04"},
    "network": {"C03"},
}
SECTORS = ("kommun", "polis", "myndighet", "naringsliv", "ideburen")


def planted(tmp_path: Path, **question: Any) -> Path:
    """The default survey with one more kommun question (given as its YAML mapping)."""
    data = yaml.safe_load(SURVEY_FILE.read_text(encoding="utf-8"))
    data["modules"]["kommun"].append({"id": "K99", "type": "yesno", "text": {"sv": "Planterad fråga?"}, **question})
    path = tmp_path / "planted.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_every_quarterly_question_has_a_purpose(survey: Survey) -> None:
    missing = [q.id for q in unpurposed(survey)]
    assert missing == [], f"quarterly questions with neither reported_in nor kept_for: {missing}"
    assert all(q.has_purpose for q in survey.questions(None))  # the yearly ones say theirs too


def test_a_planted_quarterly_question_without_a_purpose_is_flagged(tmp_path: Path) -> None:
    """The control: the same check finds a quarterly question that says nothing, and only it."""
    flagged = load_survey(planted(tmp_path))
    assert [q.id for q in unpurposed(flagged)] == ["K99"]
    # the same question made yearly, or given a reason, passes
    assert unpurposed(load_survey(planted(tmp_path, yearly=True))) == []
    assert unpurposed(load_survey(planted(tmp_path, kept_for="the yearly account to Brå"))) == []
    assert unpurposed(load_survey(planted(tmp_path, reported_in="capacity"))) == []


def test_the_sections_read_what_the_issue_names(survey: Survey) -> None:
    by_section: dict[str, set[str]] = {s: set() for s in REPORT_SECTIONS}
    for q in survey.questions(None):
        if q.reported_in:
            by_section[q.reported_in].add(q.id)
    assert by_section == SECTIONS


def test_free_text_is_kept_for_the_export_and_never_reported(survey: Survey) -> None:
    texts = [q for q in survey.questions(None) if q.type == "text"]
    assert {q.id for q in texts} == {"C05", "K16", "P11", "M10", "N10", "I11"}
    assert all(q.kept_for == FREE_TEXT and q.reported_in is None for q in texts)


def test_each_decision_is_recorded_beside_its_question() -> None:
    """The comment line above each `- id:` says the decision."""
    lines = SURVEY_FILE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s*- id: (\S+)$", line)
        if m:
            assert re.match(rf"^\s*# {m.group(1)}: (reported|kept|made yearly|free text)", lines[i - 1]), line


def test_a_question_with_both_is_refused_with_its_line(tmp_path: Path) -> None:
    path = planted(tmp_path, reported_in="capacity", kept_for="the yearly account to Brå")
    with pytest.raises(SurveyError) as err:
        load_survey(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    planted_at = next(i for i, t in enumerate(lines) if t.strip() == "- id: K99")
    line = next(i for i, t in enumerate(lines, 1) if i > planted_at and t.strip().startswith("kept_for:"))
    assert f"{path}:{line}:" in str(err.value)
    assert "question K99 has both reported_in and kept_for" in str(err.value)


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ({"reported_in": "tables"}, "is reported in 'tables', which is no report section"),
        ({"kept_for": "  "}, "has kept_for without a reason"),
    ],
)
def test_a_wrong_purpose_is_refused(tmp_path: Path, question: dict[str, str], said: str) -> None:
    with pytest.raises(SurveyError, match=re.escape(said)):
        load_survey(planted(tmp_path, **question))


def yearly_ids(survey: Survey, sector: str) -> set[str]:
    return {q.id for q in survey.questions(sector) if q.yearly}


@pytest.mark.parametrize("sector", SECTORS)
def test_the_forms_of_q2_to_q4_leave_the_yearly_questions_out(survey: Survey, sector: str) -> None:
    assert survey.yearly_quarter == 1 and yearly_ids(survey, sector)
    everything = [c.question_id for c in survey.columns(sector) if c.question_id]
    assert [c.question_id for c in form_columns(survey, sector, "2026-Q1") if c.question_id] == everything
    assert [c.question_id for c in form_columns(survey, sector, None) if c.question_id] == everything
    for wave in ("2026-Q2", "2026-Q3", "2026-Q4"):
        asked = [c.question_id for c in form_columns(survey, sector, wave) if c.question_id]
        assert asked == [q for q in everything if q not in yearly_ids(survey, sector)], wave
    # the ingest still knows every column in every wave (what an older sheet may carry)
    assert [c.question_id for c in survey.columns(sector, "2026-Q2") if c.question_id] == everything


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_the_templates_of_q2_to_q4_no_longer_repeat_the_yearly_questions(
    survey: Survey, tmp_path: Path, suffix: str
) -> None:
    def header(wave: str) -> list[str]:
        out = write_template(survey, "kommun", tmp_path / f"{wave}{suffix}", wave)
        if suffix == ".csv":
            with out.open(encoding="utf-8-sig") as fh:
                return next(csv.reader(fh))
        return [str(c.value) for c in openpyxl.load_workbook(out).active[1]]

    yearly_titles = {c.title for c in survey.columns("kommun") if c.question and c.question.yearly}
    assert yearly_titles <= set(header("2026-Q1"))
    for wave in ("2026-Q2", "2026-Q3", "2026-Q4"):
        got = header(wave)
        assert not yearly_titles & set(got), wave
        assert got == [c.title for c in form_columns(survey, "kommun", wave)]
        # a sheet with that header loads: no column unknown, no required one missing
        described = describe_header(got, survey, "kommun", wave)
        assert described.unmapped == [] and described.missing == []


def test_the_guide_of_a_quarterly_wave_lists_no_yearly_question(survey: Survey) -> None:
    def ids(wave: str) -> list[str]:
        doc = lxml_html.fromstring(render_guide(survey, "kommun", wave, "sv"))
        return [str(li.get("data-question-id")) for li in doc.xpath("//li[contains(@class, 'question')]")]

    yearly = yearly_ids(survey, "kommun")
    assert yearly <= set(ids("2026-Q1"))
    assert not yearly & set(ids("2026-Q3")) and len(ids("2026-Q3")) == len(ids("2026-Q1")) - len(yearly)


def test_the_codebook_json_says_each_questions_purpose_and_frequency(survey: Survey) -> None:
    cols = {c.question_id: c.as_json() for c in survey.columns("kommun") if c.question_id}
    assert cols["K01"]["yearly"] is True and cols["K01"]["reported_in"] == "law" and "kept_for" not in cols["K01"]
    assert cols["B01"]["yearly"] is False and cols["B01"]["reported_in"] == "needs"
    assert cols["K16"]["kept_for"] == FREE_TEXT and "reported_in" not in cols["K16"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_q2_sheet_that_still_has_a_yearly_column_is_accepted_and_keeps_its_answers(
    settings: Settings, survey: Survey, tmp_path: Path
) -> None:
    """The rule: a wave's form leaves the yearly questions out, but an answer sheet may still carry their columns
    (an old template, a Google Form not yet trimmed); the ingest knows every question of the survey in every wave,
    so the row is accepted and those answers are stored with it, checked like any other, never quarantined."""
    titles = [c.title for c in survey.columns("kommun", "2026-Q2")]  # every column, yearly ones included
    assert survey.question("K01").title() in titles and not survey.asks_yearly("2026-Q2")
    row = good_row(timestamp="2026-05-14 10:22:31", K01="Ja, beslutad inom de senaste 12 månaderna", K09="4")
    path = tmp_path / "kommun-2026-Q2.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(titles)
        w.writerow([row.get(c.question_id or c.type, "") for c in survey.columns("kommun", "2026-Q2")])
    (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(sector="kommun", wave="2026-Q2"))
    assert (res.rows_seen, res.accepted, res.quarantined, res.set_aside) == (1, 1, 0, 0)
    engine = pipeline.open_store(settings)
    with Session(engine) as s:
        (stored,) = s.scalars(select(Response.answers)).all()
    engine.dispose()
    assert stored["K01"] == "1" and stored["K09"] == "4" and stored["B01"] == "4"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_web_form_asks_what_the_codebook_of_its_wave_lists(engine: Engine, survey: Survey) -> None:
    """bfs_pipeline/web/forms.py keeps its own filter (asks_yearly); it must be the same rule as form_columns."""
    service = FormService(engine, default_surveys_dir(), b"k" * 32)
    for sector in SECTORS:
        for wave in ("2026-Q1", "2026-Q2", "2026-Q4"):
            fields = [f.name for s in service.sections(survey, sector, wave, "sv") for f in s.fields]
            listed = [c.question_id for c in form_columns(survey, sector, wave) if c.question_id]
            assert fields == [q for q in listed if q != "ORG"], (sector, wave)  # the link names the organisation


def test_the_codebook_of_a_quarterly_wave_lists_no_yearly_question(survey: Survey, tmp_path: Path) -> None:
    def ids(*wave: str) -> list[str]:
        args = ["survey", "codebook", survey.id, "--sector", "kommun", "--json", *wave]
        result = CliRunner().invoke(cli, args, obj={})
        assert result.exit_code == 0, result.output
        return [c["question_id"] for c in json.loads(result.output) if c["question_id"]]

    yearly = {q.id for q in survey.questions("kommun") if q.yearly}
    assert yearly <= set(ids()) and yearly <= set(ids("--wave", "2026-Q1"))
    q2 = ids("--wave", "2026-Q2")
    assert not yearly & set(q2) and q2 == [q for q in ids() if q not in yearly]
    out = tmp_path / "q2.csv"
    args = ["survey", "template", survey.id, "--sector", "kommun", "--wave", "2026-Q2", "--out", str(out)]
    result = CliRunner().invoke(cli, args, obj={})
    assert result.exit_code == 0 and f"({len(q2) + 2} columns)" in result.output  # + timestamp and e-mail
