"""levels: the law's three requirements with the wave last reported, process maturity, coordinator FTE.

Tiny hand-made response frames (as ReportData.responses holds them), worked out by hand.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bfs_pipeline import levels, metrics

COUNTY = "10"
MQ = "C01"


def answer(
    muni: str | list[str], wave: str, sector: str = "kommun", at: str = "2026-01-10", **answers: Any
) -> dict[str, Any]:
    return {
        "sector": sector,
        "wave": wave,
        "organisation": f"Org {muni}",
        "submitted_at": pd.Timestamp(at),
        "answers": {MQ: muni if isinstance(muni, list) else [muni], **answers},
    }


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


def status_of(df: pd.DataFrame, muni: str) -> dict[str, tuple[str, str, Any, str]]:
    s = df[df["municipality"] == muni]
    return {str(r.requirement): (str(r.code), str(r.wave), r.met, str(r.since)) for r in s.itertuples()}


def test_law_status_carries_the_yearly_answer_forward_with_its_wave():
    rows = [
        answer("1080", "2025-Q1", K01="3", K02="0", K03="1"),
        answer("1080", "2025-Q2", K04=1.0),  # the yearly questions not asked: the Q1 answers stand
        answer("1080", "2026-Q1", K01="1", K02="0", K03="2"),
        answer("1080", "2026-Q2", K04=0.5),
        answer("1081", "2025-Q1", K01="2", K02="2", K03="1"),
        answer("1081", "2025-Q1", sector="polis", K01="0"),  # only the kommun sector answers K-questions
    ]
    status = levels.law_status(frame(rows), MQ, COUNTY, "2026-Q2")
    assert list(status.columns) == levels.LAW_COLUMNS
    assert status_of(status, "1080") == {
        "lagesbild": ("1", "2026-Q1", True, "2026-Q1"),  # being made in 2025, decided in 2026
        "atgardsplan": ("0", "2026-Q1", False, "2025-Q1"),  # none since 2025-Q1
        "samordning": ("2", "2026-Q1", False, "2026-Q1"),  # vacant: does not meet the requirement
    }
    assert status_of(status, "1081") == {  # decided more than 12 months ago still meets it
        "lagesbild": ("2", "2025-Q1", True, "2025-Q1"),
        "atgardsplan": ("2", "2025-Q1", True, "2025-Q1"),
        "samordning": ("1", "2025-Q1", True, "2025-Q1"),
    }
    assert [str(r) for r in status["requirement"][:3]] == ["lagesbild", "atgardsplan", "samordning"]
    # a year earlier: the 2025 answers are the current ones
    before = levels.law_status(frame(rows), MQ, COUNTY, "2025-Q4")
    assert status_of(before, "1080")["lagesbild"] == ("3", "2025-Q1", False, "2025-Q1")
    assert levels.meets_all(before).to_dict() == {"1080": False, "1081": True}
    assert levels.meets_all(status).to_dict() == {"1080": False, "1081": True}
    assert list(levels.vacant(status)["municipality"]) == ["1080"]


def test_dont_know_and_several_respondents_of_one_municipality():
    rows = [
        answer("1082", "2025-Q1", K01="1"),
        answer("1082", "2026-Q1", at="2026-01-10", K01="0"),
        answer("1082", "2026-Q1", at="2026-01-20", K01="9"),  # newer, but "vet ej": the stated answer counts
        answer("1083", "2026-Q1", K01="9"),  # only "vet ej": unknown
        answer("1060", "2026-Q1", at="2026-01-10", K02="0"),
        answer("1060", "2026-Q1", at="2026-01-20", K02="1"),  # the newest stated answer of the wave
    ]
    status = levels.law_status(frame(rows), MQ, COUNTY, "2026-Q1")
    assert status_of(status, "1082") == {"lagesbild": ("0", "2026-Q1", False, "2026-Q1")}
    assert status_of(status, "1083") == {"lagesbild": ("9", "2026-Q1", None, "2026-Q1")}
    assert status_of(status, "1060") == {"atgardsplan": ("1", "2026-Q1", True, "2026-Q1")}
    met = levels.meets_all(status)
    assert not pd.isna(met["1082"]) and not bool(met["1082"])  # stated as lacking a lägesbild
    assert pd.isna(met["1083"]) and pd.isna(met["1060"])  # requirements unanswered: not known
    assert levels.meets("lagesbild", "9") is None and levels.meets("samordning", "2") is False
    agree = status.set_index(["municipality", "requirement"])["agree"]
    assert not agree[("1060", "atgardsplan")]  # one said no, the other yes: they disagree
    assert agree[("1082", "lagesbild")] and agree[("1083", "lagesbild")]  # "vet ej" is no disagreement


def test_law_status_of_no_answers_is_empty_with_its_columns():
    empty = levels.law_status(frame([answer("1080", "2026-Q1", sector="polis")]), MQ, COUNTY, "2026-Q1")
    assert empty.empty and list(empty.columns) == levels.LAW_COLUMNS
    assert levels.meets_all(empty).empty


def test_maturity_index_is_the_share_of_4_5_over_the_five_steps_without_dont_know():
    steps = dict(zip(levels.MATURITY_ITEMS, ["4", "5", "3", "9", "2"], strict=True))  # 2 of 4 scored at 4-5
    rows = [answer("1080", "2026-Q1", at=f"2026-01-{10 + i}", **steps) for i in range(5)]
    rows += [answer("1081", "2026-Q1", **steps) for _ in range(4)]  # four respondents: suppressed
    rows += [answer("1081", "2026-Q1", sector="polis", **steps)]  # not the municipality's own answer
    rows += [answer("1082", "2026-Q1", K04=1.0)]  # no step answered: not a respondent here
    idx, cells = levels.maturity(frame(rows), MQ, COUNTY)
    assert list(idx.columns) == ["municipality", "wave", "n", "answers", "index", "suppressed"]
    step = cells.set_index(["municipality", "item"])  # each step's cell: need_table's shape
    assert (step.at[("1080", "K12a"), "n"], step.at[("1080", "K12a"), "share_high"]) == (5, 1.0)
    assert ("1080", "K12d") not in step.index  # "vet ej" from all: no cell
    assert bool(step.at[("1081", "K12b"), "suppressed"])
    k = idx.set_index("municipality")
    assert (k.at["1080", "n"], k.at["1080", "answers"], k.at["1080", "index"]) == (5, 20, 0.5)
    assert k.at["1081", "n"] == 4 and bool(k.at["1081", "suppressed"]) and pd.isna(k.at["1081", "index"])
    assert "1082" not in k.index
    assert (k.at[COUNTY, "n"], k.at[COUNTY, "index"]) == (9, 0.5)  # the county pools all nine
    # the same helpers as the need index apply; low is the floor
    assert list(metrics.shown(idx, COUNTY)["municipality"]) == ["1080"]


def test_coordinator_fte_is_the_median_of_the_kommun_answers_per_wave():
    rows = [
        answer("1080", "2026-Q1", K04=1.0),
        answer("1080", "2026-Q1", K04=2.0),
        answer("1080", "2026-Q2", K04=0.1),
        answer("1080", "2026-Q2", K04=None),  # not stated: not counted
        answer("1080", "2026-Q2", sector="ideburen", K04=9),
        answer(["1081", "1082"], "2026-Q2", K04=0.5),  # a respondent for two municipalities counts in each
    ]
    fte = levels.coordinator_fte(frame(rows), MQ, COUNTY)
    assert fte.to_dict("records") == [
        {"municipality": "1080", "wave": "2026-Q1", "fte": 1.5, "n": 2},
        {"municipality": "1080", "wave": "2026-Q2", "fte": 0.1, "n": 1},
        {"municipality": "1081", "wave": "2026-Q2", "fte": 0.5, "n": 1},
        {"municipality": "1082", "wave": "2026-Q2", "fte": 0.5, "n": 1},
    ]
    assert levels.coordinator_fte(frame([answer("1080", "2026-Q1")]), MQ, COUNTY).empty
