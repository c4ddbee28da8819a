"""Survey files: the default loads; mistakes are named with file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bfs_pipeline.errors import SurveyError
from bfs_pipeline.survey import load_survey, load_surveys
from tests.conftest import SURVEY_FILE


def test_default_survey(survey):
    assert survey.id == "blekinge-behov" and survey.county == "10"
    assert list(survey.sectors) == ["kommun", "polis", "myndighet", "naringsliv", "ideburen"]
    ids = [q.id for q in survey.questions(None)]
    assert len(ids) == len(set(ids)) and {"B01", "B09", "K04", "P01", "M09", "N10", "I11"} <= set(ids)
    assert survey.question("K01").yearly and not survey.question("K04").yearly
    assert [c.code for c in survey.question("B01").choices] == ["1", "2", "3", "4", "5", "9"]
    assert survey.question("B01").text["en"].startswith("Need of support")


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SURVEY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "s.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line)


def test_bad_type_names_file_line_and_fix(tmp_path):
    path = broken(tmp_path, "type: likert", "type: likret")
    with pytest.raises(SurveyError) as exc:
        load_survey(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{line_of(path, 'likret')}: questions.")
    assert "has type 'likret'" in msg and "Use one of likert, single" in msg


def test_unknown_scale(tmp_path):
    path = broken(tmp_path, "scale: NEED5", "scale: NEED7")
    with pytest.raises(SurveyError, match=r"s.yaml:\d+: questions\.\d+\.scale: question B01 names scale 'NEED7'"):
        load_survey(path)


def test_duplicate_id(tmp_path):
    path = broken(tmp_path, "id: B02", "id: B01")
    with pytest.raises(SurveyError, match="question id B01 is used twice"):
        load_survey(path)


def test_wave_mapping_to_unknown_question(tmp_path):
    path = broken(tmp_path, "lagar)': B04", "lagar)': B99")
    with pytest.raises(SurveyError, match="maps to unknown question 'B99'"):
        load_survey(path)


def test_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("id: x\n  title: [\n", encoding="utf-8")
    with pytest.raises(SurveyError, match=r"s.yaml:\d+: not valid YAML"):
        load_survey(path)


def test_empty_folder(tmp_path):
    with pytest.raises(SurveyError, match="No survey files"):
        load_surveys(tmp_path)
