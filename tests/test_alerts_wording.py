"""The alerts' and the summary's words: "störst behov" for needs, percentage points for gaps and changes.

Planted need indexes, worked out by hand; the English of the new messages is read from the catalogue or, until the
lead merges it, from bfs_pipeline/locale/pending-alerts.po.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bfs_pipeline import alerts, i18n

COUNTY = "10"
NAMES = {"1060": "Olofström", "1080": "Karlskrona", "1081": "Ronneby", "1082": "Karlshamn", "10": "Blekinge län"}
LOCALE = Path(i18n.__file__).parent / "locale"
NO_COVERAGE = pd.DataFrame()


def row(m: str, wave: str, share: float | None, n: int = 40, answers: int = 300) -> dict[str, Any]:
    """A need index row; share None: suppressed (under 5 respondents)."""
    return {
        "municipality": m,
        "wave": wave,
        "n": n if share is not None else 3,
        "answers": answers,
        "index": share if share is not None else float("nan"),
        "suppressed": share is None,
    }


def index_of(waves: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame([row(m, w, s) for w, shares in waves.items() for m, s in shares.items()])


def rising_olofstrom() -> pd.DataFrame:
    """Olofström had the greatest need already and it rose from 55 % to 71 %: the greatest need rose."""
    return index_of(
        {
            "2026-Q2": {"1060": 0.55, "1080": 0.20, "1081": 0.25, "1082": 0.22, COUNTY: 0.30},
            "2026-Q3": {"1060": 0.71, "1080": 0.21, "1081": 0.24, "1082": 0.22, COUNTY: 0.32},
        }
    )


def translations() -> dict[str, Any]:
    """msgid → English (a string, or the plural forms as a tuple) from the catalogue and the pending fragment."""
    out: dict[str, Any] = {}
    for po in (LOCALE / "en" / "LC_MESSAGES" / "messages.po", LOCALE / "pending-alerts.po"):
        if po.exists():
            with po.open("rb") as f:
                for m in read_po(f):
                    if m.id:
                        out[m.id[0] if isinstance(m.id, tuple) else m.id] = m.string
    return out


def test_the_greatest_need_rising_says_greatest_need_and_its_change_in_points() -> None:
    (a,) = alerts.alerts(rising_olofstrom(), NO_COVERAGE, "2026-Q3", COUNTY, NAMES)
    assert a["kind"] == "floor_fell"  # the kind stays for the consumers of --json
    assert a["municipality"] == {"code": "1060", "name": "Olofström"} and a["indicator"] == "need_index"
    assert a["values"] == {"2026-Q2": 0.55, "2026-Q3": 0.71} and a["title"] == "Störst behov har ökat"
    assert a["message"] == (
        "Störst behov har ökat: Olofström har störst behov i länet, 71\u00a0% av behovssvaren är 4–5 "
        "mot 55\u00a0% kvartalet före (+16\u00a0procentenheter, n=40)."
    )
    assert "golv" not in a["message"].lower()


def test_a_new_municipality_with_the_greatest_need_gives_its_lead_in_points() -> None:
    index = index_of(
        {
            "2026-Q2": {"1060": 0.30, "1080": 0.45, "1081": 0.25, COUNTY: 0.30},
            "2026-Q3": {"1060": 0.58, "1080": 0.46, "1081": 0.25, COUNTY: 0.40},
        }
    )
    found = {a["kind"]: a for a in alerts.alerts(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES)}
    new = found["new_lowest"]
    assert new["municipality"]["code"] == "1060" and new["values"]["previous_lowest"] == "1080"
    assert new["message"] == (
        "Ny kommun med störst behov: Olofström, där 58\u00a0% av behovssvaren är 4–5, 12\u00a0procentenheter mer "
        "än i Karlskrona, som hade störst behov förra kvartalet."
    )


def test_the_widening_gap_is_in_points_with_the_plural_of_its_last_number() -> None:
    index = index_of(
        {
            "2026-Q1": {"1060": 0.30, "1080": 0.20, "1081": 0.25},
            "2026-Q2": {"1060": 0.45, "1080": 0.20, "1081": 0.25},
            "2026-Q3": {"1060": 0.70, "1080": 0.20, "1081": 0.25},
        }
    )
    gap = next(a for a in alerts.alerts(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES) if a["kind"] == "gap_widened")
    assert gap["municipality"] is None and gap["unit"] == "percentage_points"
    assert gap["message"] == (
        "Skillnaden i behov mellan kommunerna har ökat två kvartal i rad: från 10 till 25 och nu 50 procentenheter. "
        "Störst behov har Olofström."
    )
    assert "%" not in gap["message"]


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (0.30, 0.31, "+1\u00a0procentenhet "),
        (0.30, 0.42, "+12\u00a0procentenheter "),
        (0.30, 0.29, "−1\u00a0procentenhet "),
    ],
)
def test_the_county_change_in_the_summary_is_one_point_or_several_points(
    before: float, after: float, words: str
) -> None:
    index = index_of({"2026-Q2": {COUNTY: before}, "2026-Q3": {COUNTY: after}})
    sentences = alerts.summary(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES, 20, [])
    county = next(s for s in sentences if s.startswith("I länet"))
    assert words in county and county.endswith("mot förra kvartalet).") and county.count("%") == 1


def test_the_english_change_says_percentage_point_or_points() -> None:
    one = alerts.summary(
        index_of({"2026-Q2": {COUNTY: 0.30}, "2026-Q3": {COUNTY: 0.31}}),
        NO_COVERAGE,
        "2026-Q3",
        COUNTY,
        NAMES,
        1,
        [],
        "en",
    )
    two = alerts.summary(
        index_of({"2026-Q2": {COUNTY: 0.30}, "2026-Q3": {COUNTY: 0.32}}),
        NO_COVERAGE,
        "2026-Q3",
        COUNTY,
        NAMES,
        1,
        [],
        "en",
    )
    assert "+1\u00a0percentage point " in one[1] and "+2\u00a0percentage points " in two[1]


def test_summary_names_the_greatest_and_the_least_need_and_never_a_floor() -> None:
    index = rising_olofstrom()
    found = alerts.alerts(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES)
    sentences = alerts.summary(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES, 52, found)
    assert sentences == [
        "52 svar räknas för 2026-Q3.",
        "I länet svarar 32\u00a0% av behovssvaren 4–5 (+2\u00a0procentenheter mot förra kvartalet).",
        "Störst behov har Olofström (71\u00a0%), minst Karlskrona (21\u00a0%).",
        "1 varning: se överst.",
    ]
    assert not any("golv" in s.lower() for s in sentences)


def test_low_coverage_counts_organisations_in_the_singular_and_the_plural() -> None:
    cov = pd.DataFrame(
        [
            {"municipality": "1081", "sector": "kommun", "expected": 10, "answered": 3},
            {"municipality": "1082", "sector": "kommun", "expected": 1, "answered": 0},
        ]
    )
    empty = pd.DataFrame(columns=["municipality", "wave", "n", "answers", "index", "suppressed"])
    messages = [a["message"] for a in alerts.alerts(empty, cov, "2026-Q1", COUNTY, NAMES)]
    assert messages == [
        "Låg svarsfrekvens i Ronneby: 3 av 10 organisationer har svarat (30\u00a0%).",
        "Låg svarsfrekvens i Karlshamn: 0 av 1 organisation har svarat (0\u00a0%).",
    ]


def test_no_median_sentence_names_the_waves_with_too_few_municipalities() -> None:
    index = index_of(
        {
            "2026-Q1": {"1060": 0.3, "1080": 0.2, "1081": None, "1082": None},  # two shown
            "2026-Q2": {"1060": 0.3, "1080": 0.2, "1081": 0.25, "1082": None},  # three shown
            "2026-Q3": {"1060": 0.3, "1080": None, COUNTY: 0.3},  # one shown
            "2025-Q4": {"1060": None, "1080": None, COUNTY: 0.3},  # answers, but none shown
        }
    )
    waves = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]  # 2025-Q3: no answers at all, not named
    assert alerts.median_notes(index, COUNTY, waves) == [
        "Ingen länsmedian för 2026-Q1 och 2026-Q3: färre än tre kommuner med tillräckligt många svar.",
        "Ingen länsmedian för 2025-Q4: ingen kommun med tillräckligt många svar.",
    ]
    assert alerts.median_notes(index, COUNTY, ["2026-Q2"]) == []


def test_no_alert_compares_against_a_median_of_two_municipalities() -> None:
    """Two municipalities shown: the greatest need still rises, but nothing is said against a county median."""
    index = index_of(
        {
            "2026-Q2": {"1060": 0.55, "1080": 0.20, "1081": None, COUNTY: 0.3},
            "2026-Q3": {"1060": 0.71, "1080": 0.21, "1081": None, COUNTY: 0.4},
        }
    )
    found = alerts.alerts(index, NO_COVERAGE, "2026-Q3", COUNTY, NAMES)
    assert [a["kind"] for a in found] == ["floor_fell"]
    for a in found:
        assert "median" not in a["message"].lower() and not any("median" in str(k) for k in a["values"])


def test_every_message_in_alerts_and_charts_has_english_that_never_says_floor() -> None:
    english = translations()
    package = Path(alerts.__file__).parent
    ours = []
    for module in ("alerts.py", "charts.py"):
        for _lineno, message, _comments, _context in extract_from_file("python", package / module):
            msgid = message[0] if isinstance(message, (tuple, list)) else message
            found = english.get(msgid)
            assert found and all(found if isinstance(found, (tuple, list)) else (found,)), f"no English for {msgid!r}"
            ours.append(found)
    assert len(ours) > 20
    need = english[
        "Störst behov har ökat: {name} har störst behov i länet, {after} av behovssvaren är 4–5 mot {before} "
        "kvartalet före ({change}, n={n})."
    ]
    assert need.startswith("Greatest need rose: ") and "floor" not in need.lower()
    assert not any("floor" in str(v).lower() for v in ours)
