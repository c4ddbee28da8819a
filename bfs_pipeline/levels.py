"""Levels of the municipalities' own answers (kommun sector): what lag (2023:196) asks, process maturity, capacity.

Plain functions over the scored responses frame (ReportData.responses: all waves up to the period). Only the kommun
sector answers the K-questions; a municipality is the one its respondent names (metrics.explode_municipalities).
No clock, no environment, no I/O.

Law status (K01 lägesbild, K02 åtgärdsplan, K03 samordningsfunktion) is asked once a year (`yearly: true`, in Q1
waves), so the current status of a requirement is the newest answer up to the period, carried forward, with the wave
it was reported in. Within a wave several respondents of one municipality may answer: the newest stated answer
counts, and "vet ej" (9) only where nobody stated anything else. A requirement is met by status 1 or 2 (the
lägesbild or åtgärdsplan is decided, recently or more than 12 months ago: the law asks for one, not for a yearly
decision) and for K03 by 1 (staffed); 0 (no), 3 (being made) and for K03 2 (vacant) do not meet it; 9 is unknown.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from bfs_pipeline import metrics

KOMMUN = "kommun"
MATURITY_ITEMS = ("K12a", "K12b", "K12c", "K12d", "K12e")  # kartläggning → orsaksanalys → åtgärder → genomförande
# → uppföljning, on the DEGREE5 scale (1-5, 9 = don't know)
FTE_QUESTION = "K04"
DONT_KNOW = "9"
VACANT = "2"


class Requirement(StrEnum):
    """What lag (2023:196) asks of a municipality; the values are the report's keys (report.CAPACITY)."""

    LAGESBILD = "lagesbild"
    ATGARDSPLAN = "atgardsplan"
    SAMORDNING = "samordning"


LAW_QUESTIONS = {Requirement.LAGESBILD: "K01", Requirement.ATGARDSPLAN: "K02", Requirement.SAMORDNING: "K03"}
MEETS = {  # the status codes that meet the requirement
    Requirement.LAGESBILD: frozenset({"1", "2"}),
    Requirement.ATGARDSPLAN: frozenset({"1", "2"}),
    Requirement.SAMORDNING: frozenset({"1"}),
}
LAW_COLUMNS = ["municipality", "requirement", "question", "code", "wave", "met", "since", "agree"]


def kommun_answers(
    responses: pd.DataFrame, mq: str, county: str, questions: Sequence[str] | None = None
) -> pd.DataFrame:
    """The kommun sector's responses (those answering one of `questions`, if given), one row per municipality
    named, oldest first (wave, then submission)."""
    if responses.empty:
        return responses.assign(municipality=pd.Series(dtype=object))
    k = responses[responses["sector"] == KOMMUN]
    if questions is not None and not k.empty:  # before exploding: most responses answer no yearly question
        asked = frozenset(questions)
        k = k[[not asked.isdisjoint(a) for a in k["answers"]]]
    if k.empty:
        return k.assign(municipality=pd.Series(dtype=object))
    per_m = metrics.explode_municipalities(k, mq, county)
    order = ["wave", "submitted_at"] if "submitted_at" in per_m else ["wave"]
    return per_m.sort_values(order, kind="stable").reset_index(drop=True)


def _stated(value: Any) -> str | None:
    """A single-choice answer as its code, or None where nothing was answered."""
    if type(value) is str:  # most are
        return value.strip() or None
    if value is None or (isinstance(value, float) and np.isnan(value)) or value in ("", []):
        return None
    return str(value).strip() or None


def _per_wave(per_m: pd.DataFrame, questions: Sequence[str]) -> dict[str, dict[tuple[str, str], tuple[str, set[str]]]]:
    """Per question and (municipality, wave): the newest stated answer (9 only where nobody stated anything else),
    and the distinct codes other than 9 that the wave's answers gave. One pass over the rows for all questions."""
    out: dict[str, dict[tuple[str, str], tuple[str, set[str]]]] = {q: {} for q in questions}
    for m, w, a in zip(per_m["municipality"].tolist(), per_m["wave"].tolist(), per_m["answers"].tolist(), strict=True):
        key = (str(m), str(w))
        for question, found in out.items():
            code = _stated(a.get(question))
            if code is None:
                continue
            newest, seen = found.get(key, (DONT_KNOW, set()))
            if code != DONT_KNOW:
                seen.add(code)
            if code != DONT_KNOW or newest == DONT_KNOW:
                newest = code  # rows are oldest first: a later stated answer replaces an earlier one
            found[key] = (newest, seen)
    return out


def law_history(responses: pd.DataFrame, mq: str, county: str) -> pd.DataFrame:
    """Every reported law status: per municipality, requirement and wave, the code that wave's answers give, and
    `codes`: the distinct codes other than 9 that its respondents gave (several where they disagree)."""
    cols = ["municipality", "requirement", "question", "wave", "code", "codes"]
    per_m = kommun_answers(responses, mq, county, list(LAW_QUESTIONS.values()))
    rows = []
    if not per_m.empty:
        waves = _per_wave(per_m, list(LAW_QUESTIONS.values()))
        for req, q in LAW_QUESTIONS.items():
            rows += [
                {
                    "municipality": m,
                    "requirement": req.value,
                    "question": q,
                    "wave": w,
                    "code": c,
                    "codes": sorted(seen),
                }
                for (m, w), (c, seen) in waves[q].items()
            ]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["municipality", "requirement", "wave"], ignore_index=True)


def meets(requirement: str, code: str | None) -> bool | None:
    """Whether a status code meets the requirement: True, False, or None where unknown (9 or not answered)."""
    if code is None or code == DONT_KNOW:
        return None
    return code in MEETS[Requirement(requirement)]


def law_status(
    responses: pd.DataFrame, mq: str, county: str, period: str, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per municipality and requirement: the current status up to the period and the wave it was last reported.

    Columns: municipality, requirement (lagesbild, atgardsplan, samordning), question (K01-K03), code (the
    survey's status code), wave (where the code was reported), met (True, False, or None for "vet ej"), since (the
    first wave of the unbroken run of answers that give the same `met`: since when it has or lacks it; "vet ej"
    answers neither break nor start a run), agree (whether all the wave's stated answers give the same `met`:
    False where the municipality's respondents disagree). A "vet ej" answer is current only where no earlier
    answer stated more.
    Only requirements some answer reported are listed. `history`: law_history's frame, where already at hand.
    """
    hist = law_history(responses, mq, county) if history is None else history
    hist = hist[hist["wave"] <= period]
    rows = []
    records = zip(*(hist[c].tolist() for c in ("municipality", "requirement", "wave", "code", "codes")), strict=True)
    for (m, req), group in itertools.groupby(records, key=lambda r: (r[0], r[1])):  # sorted by law_history
        g = [(str(w), str(c), list(cs)) for _m, _r, w, c, cs in group]
        known = [x for x in g if x[1] != DONT_KNOW]
        wave, code, codes = (known or g)[-1]
        met = meets(str(req), code)
        since = wave
        if met is not None:
            for w, c, _cs in reversed(known):
                if meets(str(req), c) is not met:
                    break
                since = w
        rows.append(
            {
                "municipality": m,
                "requirement": str(req),
                "question": LAW_QUESTIONS[Requirement(str(req))],
                "code": code,
                "wave": wave,
                "met": met,
                "since": since,
                "agree": len({meets(str(req), c) for c in codes}) <= 1,
            }
        )
    out = pd.DataFrame(rows, columns=LAW_COLUMNS)
    rank = {r.value: i for i, r in enumerate(Requirement)}
    return out.sort_values(
        ["municipality", "requirement"], key=lambda c: c.map(rank) if c.name == "requirement" else c
    ).reset_index(drop=True)


def meets_all(status: pd.DataFrame) -> pd.Series:
    """Per municipality (law_status's): True where all three requirements are met, False where one is stated as
    not met, <NA> where it is not known (a requirement unanswered or "vet ej")."""
    per: dict[str, dict[str, Any]] = {}
    for m, req, met in zip(status["municipality"], status["requirement"], status["met"], strict=True):
        per.setdefault(str(m), {})[str(req)] = met
    out: dict[str, Any] = {}
    for m in sorted(per):
        values = [per[m].get(req.value) for req in Requirement]
        out[m] = False if any(v is False for v in values) else (True if all(v is True for v in values) else pd.NA)
    return pd.Series(out, dtype="boolean", name="meets_all").rename_axis("municipality")


def maturity(
    responses: pd.DataFrame,
    mq: str,
    county: str,
    items: Sequence[str] = MATURITY_ITEMS,
    min_n: int = metrics.MIN_N,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Process maturity from the kommun sector's answers that score some step (parsed, scored and exploded once):
    the maturity index per (municipality, wave) and each step's cells per (municipality, wave, step).

    The index is the share answering 4-5 over the five steps of the knowledge-based process pooled ("vet ej" not
    counted), shaped as metrics.need_index (municipality, wave, n, answers, index, suppressed; n respondents who
    scored at least one step); the cells as metrics.need_table. Cells under min_n are suppressed; the county's rows
    carry the county code. Here a low value is the floor: the lowest maturity is the one to point at.
    """
    index_cols = ["municipality", "wave", "n", "answers", "index", "suppressed"]
    cell_cols = ["municipality", "wave", "item", "n", "share_high", "mean", "suppressed"]
    none = (pd.DataFrame(columns=index_cols), pd.DataFrame(columns=cell_cols))
    k = responses[responses["sector"] == KOMMUN] if not responses.empty else responses
    k = metrics.answering(k, items)
    if k.empty or not items:
        return none
    k = metrics.with_scores(k, items)  # scored once: need_index and need_table read the scores
    k = k[k[[metrics.SCORE + i for i in items]].notna().any(axis=1).to_numpy()]
    if k.empty:
        return none
    per_m = metrics.explode_municipalities(k, mq, county)
    whole = metrics.county_rows(k, mq, county, min_n)
    index = metrics.need_index(k, list(items), mq, county, min_n=min_n, exploded=per_m, whole=whole)
    cells = metrics.need_table(k, list(items), mq, county, min_n=min_n, exploded=per_m, whole=whole)
    return index, cells


def coordinator_fte(responses: pd.DataFrame, mq: str, county: str, question: str = FTE_QUESTION) -> pd.DataFrame:
    """Per (municipality, wave): the median of the kommun answers' coordinator FTE (K04), and how many stated it.

    Columns municipality, wave, fte, n; only waves where someone stated a number. FTE is an organisational fact
    reported by the municipality, not an opinion: the capacity table shows it whatever n.
    """
    cols = ["municipality", "wave", "fte", "n"]
    per_m = kommun_answers(responses, mq, county, [question])
    if per_m.empty:
        return pd.DataFrame(columns=cols)
    fte = pd.to_numeric(pd.Series([a.get(question) for a in per_m["answers"]], dtype=object), errors="coerce")
    df = pd.DataFrame({"municipality": per_m["municipality"], "wave": per_m["wave"], "fte": fte}).dropna()
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby(["municipality", "wave"])["fte"]
    out = pd.DataFrame({"fte": g.median().astype("float64"), "n": g.size()}).reset_index()
    return out.sort_values(["municipality", "wave"], ignore_index=True)[cols]


def vacant(status: pd.DataFrame) -> pd.DataFrame:
    """The law_status rows whose coordination function (K03) is reported vacant (code 2) in the newest answer."""
    return status[(status["requirement"] == Requirement.SAMORDNING.value) & (status["code"] == VACANT)]
