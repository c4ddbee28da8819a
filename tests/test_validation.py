"""The Great Expectations suite's verdicts, cell by cell, on the path ingest takes: prepare, failures, reasons_for."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import great_expectations.expectations as gxe
import pytest

from bfs_pipeline import normalize as nz
from bfs_pipeline import reference, validation
from bfs_pipeline.sources import RawBatch
from bfs_pipeline.survey import Column, Survey, load_surveys

SURVEYS = Path(__file__).resolve().parents[1] / "surveys"


@pytest.fixture(scope="module")
def survey() -> Survey:
    return load_surveys(SURVEYS)["blekinge-behov"]


def ident(c: Column) -> str:
    return c.question_id or c.type


def good(**over: str) -> dict[str, str]:
    """A valid kommun answer by question id (or meta type); keyword arguments replace cells."""
    row = {"timestamp": "2026-03-14 10:22:31", "email": "a@karlskrona.example.se", "ORG": "Karlskrona kommun"}
    row |= {"C01": "Karlskrona", "C02": "2"}
    row |= {f"B0{i}": "4 - Stort behov" if i % 2 else "2" for i in range(1, 10)}
    return row | over


@dataclass
class Judged:
    """A sheet judged as ingest's _judge does: the prepared batch, GX's failures and each row's reasons."""

    columns: list[Column]
    cells: nz.Cells
    prepared: validation.Prepared
    failures: dict[int, list[tuple[str, str, str]]]

    def reasons(self, pos: int, survey: Survey, lang: str = "sv") -> list[validation.Reason]:
        fails = self.failures.get(pos)
        return validation.reasons_for(fails, self.cells.row(pos), self.columns, survey, lang) if fails else []


def judge(survey: Survey, rows: list[dict[str, str]], sector: str | None = "kommun") -> Judged:
    form = survey.columns(sector)
    batch = RawBatch(
        source=f"{sector or 'alla'}.csv",
        header=[c.title for c in form],
        rows=[[r.get(ident(c), "") for c in form] for r in rows],
        sheet_rows=list(range(2, len(rows) + 2)),
        sector=sector,
    )
    header = nz.map_header(batch, survey)
    cells = nz.answer_cells(batch.rows, len(batch.header), header)
    prepared = validation.prepare(cells, header.columns, survey, header.sector, survey.timezone, survey.locale)
    return Judged(header.columns, cells, prepared, validation.validator().failures(prepared, header.columns))


def title(survey: Survey, qid: str) -> str:
    return next(c.title for c in survey.columns(None) if ident(c) == qid)


# One sheet holds every case, judged once (GX's first run is slow); each test looks at its own row.

REQUIRED = "Svar saknas på en obligatorisk fråga."
UNKNOWN_CHOICE = "Svaret finns inte bland frågans svarsalternativ."
OUT_OF_SCALE = "Värdet ligger utanför frågans skala."
NOT_A_NUMBER = "Frågan kräver ett tal."

CASES: dict[str, tuple[dict[str, str], list[tuple[str, str, str, str]]]] = {
    # name: (cells that differ from good(), the reasons as (question id, value, rule, message))
    "valid": ({}, []),
    "valid-normalised": (
        {
            "C01": " Solvesborg, 1081 ,Karlskrona kommun",
            "B01": "Stort behov",
            "B02": "  STORT   BEHOV ",
            "B03": "Large need",
            "B04": "4",
            "C04": "Mycket nöjd",
            "K04": "0,5",
            "K05": "Folkhälsa/ANDTS, Våld i nära relationer",
            "K07": "12",
            "ORG": "Kommunen i Olofstro\u0308m",
        },
        [],
    ),
    "valid-bounds": ({"K04": "50", "K07": "0", "C01": "Hela Blekinge län"}, []),
    "outside-county": (
        {"C01": "Kalmar"},
        [("C01", "Kalmar", "municipality_outside_county", "Kommunen ligger utanför enkätens län (Kalmar (0880)).")],
    ),
    "unknown-municipality": (
        {"C01": "Karlskrona, Atlantis"},
        [
            (
                "C01",
                "Karlskrona, Atlantis",
                "unknown_municipality",
                "Okänd kommun: Atlantis. Skriv kommunens namn eller fyrsiffriga kod.",
            )
        ],
    ),
    "unknown-choice": ({"C02": "Praktikant"}, [("C02", "Praktikant", "unknown_choice", UNKNOWN_CHOICE)]),
    "unknown-checkbox": (
        {"K05": "Folkhälsa/ANDTS, Fiske"},
        [("K05", "Folkhälsa/ANDTS, Fiske", "unknown_choice", UNKNOWN_CHOICE)],
    ),
    "likert-unknown-label": ({"B02": "Enormt behov"}, [("B02", "Enormt behov", "unknown_choice", UNKNOWN_CHOICE)]),
    "likert-out-of-scale": ({"B02": "7"}, [("B02", "7", "out_of_scale", OUT_OF_SCALE)]),
    "optional-likert-out-of-scale": ({"C04": "0"}, [("C04", "0", "out_of_scale", OUT_OF_SCALE)]),
    "text-in-number": ({"K04": "en halv"}, [("K04", "en halv", "not_a_number", NOT_A_NUMBER)]),
    "text-in-integer": ({"K07": "några"}, [("K07", "några", "not_a_number", NOT_A_NUMBER)]),
    "fraction-in-integer": ({"K07": "2,5"}, [("K07", "2,5", "not_integer", "Frågan kräver ett heltal.")]),
    "above-max": (
        {"K04": "51"},
        [("K04", "51", "out_of_range", "Talet ligger utanför tillåtet intervall (0–50).")],
    ),
    "below-min": (
        {"K07": "-1"},
        [("K07", "-1", "out_of_range", "Talet ligger utanför tillåtet intervall (0–30).")],
    ),
    "percent": ({"K04": "25 %"}, []),
    "procent": ({"K04": "25 procent"}, []),
    "required-missing": ({"B03": ""}, [("B03", "", "required", REQUIRED)]),
    "required-blank": ({"ORG": "   "}, [("ORG", "", "required", REQUIRED)]),
    "timestamp-missing": ({"timestamp": ""}, [("timestamp", "", "required", REQUIRED)]),
    "timestamp-unparseable": (
        {"timestamp": "igår efter lunch"},
        [("timestamp", "igår efter lunch", "unparseable_timestamp", "Tidstämpeln kan inte tolkas.")],
    ),
    "impossible-date": (
        {"timestamp": "2026-02-30 10:22:31"},
        [("timestamp", "2026-02-30 10:22:31", "unparseable_timestamp", "Tidstämpeln kan inte tolkas.")],
    ),
    "every-failing-cell": (
        {"C01": "Kalmar", "B01": "0", "K07": "x", "B05": ""},
        [
            ("C01", "Kalmar", "municipality_outside_county", "Kommunen ligger utanför enkätens län (Kalmar (0880))."),
            ("B01", "0", "out_of_scale", OUT_OF_SCALE),
            ("B05", "", "required", REQUIRED),
            ("K07", "x", "not_a_number", NOT_A_NUMBER),
        ],
    ),
}
NAMES = list(CASES)


@pytest.fixture(scope="module")
def sheet(survey: Survey) -> Judged:
    return judge(survey, [good(**CASES[name][0]) for name in NAMES])


@pytest.mark.parametrize(
    "name",
    NAMES,
)
def test_reasons(survey, sheet, name):
    pos = NAMES.index(name)
    got = [(r.column, r.value, r.rule, r.message) for r in sheet.reasons(pos, survey)]
    assert got == [(title(survey, qid), value, rule, msg) for qid, value, rule, msg in CASES[name][1]]


def test_valid_row_answers(sheet):
    pos = NAMES.index("valid")
    assert pos not in sheet.failures
    assert sheet.prepared.answers[pos] == {
        "ORG": "Karlskrona kommun",
        "C01": ["1080"],
        "C02": "2",
        **{f"B0{i}": "4" if i % 2 else "2" for i in range(1, 10)},
    }
    assert sheet.prepared.submitted[pos] == dt.datetime(2026, 3, 14, 9, 22, 31, tzinfo=dt.UTC)
    assert sheet.prepared.sectors[pos] == "kommun"


def test_normalised_row_answers(sheet):
    pos = NAMES.index("valid-normalised")
    got = sheet.prepared.answers[pos]
    assert pos not in sheet.failures
    assert got["C01"] == ["1083", "1081", "1080"]
    assert [got[q] for q in ("B01", "B02", "B03", "B04", "C04")] == ["4", "4", "4", "4", "5"]
    assert got["K04"] == 0.5 and got["K07"] == 12 and isinstance(got["K07"], int)
    assert got["K05"] == ["2", "4"]
    assert got["ORG"] == "Kommunen i Olofstr\u00f6m"
    bounds = sheet.prepared.answers[NAMES.index("valid-bounds")]
    assert (bounds["K04"], bounds["K07"], bounds["C01"]) == (50.0, 0, ["10"])


def test_percent_is_a_number(sheet):
    assert [sheet.prepared.answers[NAMES.index(n)].get("K04") for n in ("percent", "procent")] == [25.0, 25.0]


def test_failing_cells_are_not_answers(sheet):
    assert "K04" not in sheet.prepared.answers[NAMES.index("text-in-number")]
    assert "B02" not in sheet.prepared.answers[NAMES.index("likert-out-of-scale")]
    assert sheet.prepared.submitted[NAMES.index("timestamp-unparseable")] is None
    assert sheet.prepared.submitted[NAMES.index("timestamp-missing")] is None


def test_failures_name_the_column_and_the_suite_rule(survey, sheet):
    """What GX itself reports, before reasons_for refines the rule (municipality detail, label vs. scale, integers)."""
    expected = {
        "outside-county": [("C01", title(survey, "C01"), "unknown_municipality")],
        "likert-unknown-label": [("B02", title(survey, "B02"), "out_of_scale")],
        "fraction-in-integer": [("K07", title(survey, "K07"), "not_a_number")],
        "above-max": [("K04", title(survey, "K04"), "out_of_range")],
        "required-missing": [("B03", title(survey, "B03"), "required")],
        "timestamp-unparseable": [("timestamp", "Tidstämpel", "unparseable_timestamp")],
    }
    assert {name: sheet.failures[NAMES.index(name)] for name in expected} == expected
    passing = [n for n in NAMES if n.startswith("valid")]
    assert [n for n in passing if NAMES.index(n) in sheet.failures] == []


def test_reasons_in_english(survey, sheet):
    got = [(r.rule, r.message) for r in sheet.reasons(NAMES.index("every-failing-cell"), survey, "en")]
    assert got == [
        ("municipality_outside_county", "The municipality is outside the survey's county (Kalmar (0880))."),
        ("out_of_scale", "The value is outside the question's scale."),
        ("required", "A required answer is missing."),
        ("not_a_number", "The question needs a number."),
    ]
    (above,) = sheet.reasons(NAMES.index("above-max"), survey, "en")
    assert above.message == "The number is outside the allowed range (0–50)."
    assert above.as_json() == {
        "column": title(survey, "K04"),
        "value": "51",
        "rule": "out_of_range",
        "message": above.message,
    }


def test_ambiguous_municipality(survey, monkeypatch):
    """A second municipality in the county that folds like Sölvesborg makes "Solvesborg" ambiguous."""
    twin = dict(reference.municipalities())
    twin["1099"] = reference.Municipality("1099", "Sölvesbörg", "Sölvesbörg kommun", "10", 1)
    monkeypatch.setattr(reference, "municipalities", lambda: twin)
    monkeypatch.setattr(reference, "_exact_index", reference._exact_index.__wrapped__)
    judged = judge(survey, [good(C01="Solvesborg"), good(C01="Sölvesborg")])
    got = [(r.column, r.value, r.rule, r.message) for r in judged.reasons(0, survey)]
    message = "Namnet passar flera kommuner: Solvesborg (1083, 1099). Skriv den fyrsiffriga koden."
    assert got == [(title(survey, "C01"), "Solvesborg", "ambiguous_municipality", message)]
    assert judged.reasons(1, survey) == []  # the exact name still wins
    assert judged.prepared.answers[1]["C01"] == ["1083"]


def test_a_distinct_cell_is_checked_once_and_its_verdict_goes_to_every_row(survey):
    rows = [good(B02="7"), good(), good(B02="7", email="b@example.se"), good(B02="7", C02="Praktikant")]
    judged = judge(survey, rows)
    assert judged.prepared.origin.count(("B02", "7")) == 1
    assert judged.prepared.origin.count(("B01", "4 - Stort behov")) == 1
    assert len(judged.prepared.frame) == len(judged.prepared.origin)
    assert {pos: sorted((i, rule) for i, _, rule in f) for pos, f in judged.failures.items()} == {
        0: [("B02", "out_of_scale")],
        2: [("B02", "out_of_scale")],
        3: [("B02", "out_of_scale"), ("C02", "unknown_choice")],
    }


def test_one_form_for_all_sectors(survey):
    """Each row's sector comes from its sector cell; an unknown sector is a reason, another module is not asked."""
    rows = [
        good(sector="Kommun", K04="0,5"),
        good(sector="Polisen", K04="51"),  # not a police question: not judged, not an answer
        good(sector="Okänd sektor"),
    ]
    judged = judge(survey, rows, sector=None)
    assert judged.prepared.sectors == ["kommun", "polis", None]
    assert judged.prepared.answers[0]["K04"] == 0.5
    assert "K04" not in judged.prepared.answers[1]
    assert 0 not in judged.failures and 1 not in judged.failures
    got = [(r.column, r.value, r.rule, r.message) for r in judged.reasons(2, survey)]
    assert got == [("Vilken sektor tillhör er organisation?", "Okänd sektor", "unknown_sector", "Okänd sektor.")]


# The suite is a real Great Expectations suite, generated from the survey


def test_the_suite_is_a_registered_gx_suite(survey):
    columns = survey.columns("kommun")
    v = validation.validator()
    definition = v.definition(columns)
    assert v.definition(columns) is definition  # one suite per set of columns
    assert v.context.suites.get(definition.suite.name).name == definition.suite.name
    got = [(type(e), e.meta["check"]) for e in definition.suite.expectations]
    assert got == [
        (gxe.ExpectColumnValuesToNotBeNull, "required"),
        (gxe.ExpectColumnValuesToBeInSet, "choice"),
        (gxe.ExpectColumnValuesToMatchRegex, "typed"),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB, "range"),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB, "range"),
    ]
    required, choice, typed, lo, hi = definition.suite.expectations
    assert required.column == "required_value"
    assert (lo.column_A, lo.column_B, hi.column_A, hi.column_B) == ("val", "lo", "hi", "val")
    values = set(choice.value_set)
    assert {"B01=1", "B01=5", "B01=9", "C02=5", "C01=1080", "C01=10", "K05=0"} <= values
    assert not values & {"B01=7", "B01=0", "C02=6", "C01=0880"}
    pattern = re.compile(typed.regex)
    assert [bool(pattern.match(t)) for t in ("int:12", "num:0.5", "ts:2026-03-14T09:22:31+00:00")] == [True] * 3
    assert [bool(pattern.match(t)) for t in ("int:2.5", "num:en halv", "ts:igår")] == [False] * 3


def test_gx_judges_the_frame(survey):
    """Run the suite itself on prepared frames: GX, not the preparing code, says pass or fail."""
    columns = survey.columns("kommun")
    definition = validation.validator().definition(columns)

    def run(**cells: str) -> list[tuple[str, bool]]:
        form = [[good(**cells).get(ident(c), "") for c in columns]]
        batch = RawBatch(source="k.csv", header=[c.title for c in columns], rows=form, sheet_rows=[2], sector="kommun")
        header = nz.map_header(batch, survey)
        cells_ = nz.answer_cells(form, len(columns), header)
        prepared = validation.prepare(cells_, header.columns, survey, "kommun", survey.timezone, "sv-SE")
        result = definition.run(batch_parameters={"dataframe": prepared.frame})
        return [("all", result.success)] + [(r.expectation_config.meta["check"], r.success) for r in result.results]

    checks = ["all", "required", "choice", "typed", "range", "range"]
    assert run() == list(zip(checks, [True] * 6, strict=True))
    assert run(B02="7") == list(zip(checks, [False, True, False, True, True, True], strict=True))
    assert run(K07="x") == list(zip(checks, [False, True, True, False, True, True], strict=True))
    assert run(B03="") == list(zip(checks, [False, False, True, True, True, True], strict=True))
    assert run(K04="-1") == list(zip(checks, [False, True, True, True, False, True], strict=True))
    assert run(K04="51") == list(zip(checks, [False, True, True, True, True, False], strict=True))
