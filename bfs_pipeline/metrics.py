"""Pure pandas over stored answers: per municipality × wave × indicator, the county's floor, median and gap.

No clock, no environment, no I/O: DataFrames in, DataFrames out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

MIN_N = 5  # cells with fewer respondents are suppressed, never shown as a number
MIN_MEDIAN = 3  # a county median needs this many municipalities shown (not suppressed, with answers)


class NoMedian(StrEnum):
    """Why a wave has no county median."""

    NO_MUNICIPALITIES = "no_municipalities"  # no municipality shown at all: no answers, or all suppressed
    TOO_FEW_MUNICIPALITIES = "too_few_municipalities"  # one or two shown: their median says nothing of the county


def prev_wave(wave: str, back: int = 1) -> str:
    year, q = int(wave[:4]), int(wave[-1])
    idx = year * 4 + (q - 1) - back
    return f"{idx // 4}-Q{idx % 4 + 1}"


def wave_range(last: str, count: int) -> list[str]:
    return [prev_wave(last, back) for back in range(count - 1, -1, -1)]


def explode_municipalities(responses: pd.DataFrame, municipality_question: str, county: str) -> pd.DataFrame:
    """One row per response × municipality it names, each once; 'the whole county' (the county code) gives none."""
    rows, named = [], []  # row positions and the municipality each names
    for k, value in enumerate([a.get(municipality_question) for a in responses["answers"]]):
        seen = set()
        for m in value if isinstance(value, list | tuple) else [value]:
            if m is None or m != m or m == county or m in seen:  # m != m: NaN
                continue
            seen.add(m)
            rows.append(k)
            named.append(m)
    return responses.iloc[rows].assign(municipality=named).reset_index(drop=True)


SCORE = "__score_"  # prefix of item columns scored once by with_scores


def with_scores(responses: pd.DataFrame, items: Sequence[str], points: tuple[int, int] = (1, 5)) -> pd.DataFrame:
    """The responses with each item's scored answer as a column: parse the answers once, use them many times."""
    vals = item_values(responses, items, points)
    return responses.assign(**{SCORE + i: vals[i] for i in items})


def item_values(responses: pd.DataFrame, items: Sequence[str], points: tuple[int, int]) -> pd.DataFrame:
    """The scored answer (within the scale's points, else NaN: 'don't know' is not scored) per item."""
    if all(SCORE + i in responses for i in items):
        return responses[[SCORE + i for i in items]].set_axis(list(items), axis=1)
    lo, hi = points
    answers = responses["answers"].tolist()
    flat = [a.get(i) for a in answers for i in items]  # row by row, item by item
    try:  # each distinct answer converted once: 200 000 answers hold a handful of distinct values
        distinct = list(set(flat))
    except TypeError:  # an unhashable answer (a list where a number belongs): convert cell by cell
        width = len(items)
        rows = [flat[k : k + width] for k in range(0, len(flat), width)]
        raw = pd.DataFrame(rows, columns=list(items), index=responses.index, dtype=object)
        vals = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    else:
        numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(dtype="float64")
        number = dict(zip(distinct, numbers.tolist(), strict=True))
        cells = np.fromiter(map(number.__getitem__, flat), dtype="float64", count=len(flat))
        vals = pd.DataFrame(cells.reshape(len(answers), len(items)), columns=list(items), index=responses.index)
    return vals.where((vals >= lo) & (vals <= hi))


def answering(responses: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    """The responses that answer at least one of the items (item_values needs some answer to convert)."""
    if responses.empty:
        return responses
    asked = frozenset(items)
    keep = np.array(
        [
            not asked.isdisjoint(a) and any(a.get(i) not in (None, "") for i in items)  # most answer none of them
            for a in responses["answers"]
        ],
        dtype=bool,
    )
    return responses[keep]


def _summarise(values: pd.DataFrame, keys: pd.DataFrame, high: int, min_n: int) -> pd.DataFrame:
    """Per (keys, item): n answers scored, share at `high` or above, mean; cells under min_n suppressed.

    Grouped wide, then stacked.
    """
    cols = list(keys.columns)
    by = [keys[c] for c in cols]
    n = values.notna().groupby(by).sum()
    hi = (values >= high).groupby(by).sum()
    total = values.groupby(by).sum()
    for part in (n, hi, total):
        part.columns.name = "item"
    out = pd.DataFrame({"n": n.stack(), "high": hi.stack(), "total": total.stack()})
    out = out[out["n"] > 0].reset_index().sort_values([*cols, "item"], ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out["share_high"] = out["high"] / out["n"]
    out["mean"] = out["total"] / out["n"]
    out["suppressed"] = out["n"] < min_n
    out.loc[out["suppressed"], ["share_high", "mean"]] = np.nan
    return out[[*cols, "item", "n", "share_high", "mean", "suppressed"]]


def need_table(
    responses: pd.DataFrame,
    items: Sequence[str],
    municipality_question: str,
    county: str,
    points: tuple[int, int] = (1, 5),
    min_n: int = MIN_N,
    exploded: pd.DataFrame | None = None,
    whole: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per (municipality, wave, item): n, share answering the top two points, mean, suppressed.

    County rows use the county code.
    """
    high = points[1] - 1
    cols = ["municipality", "wave", "item", "n", "share_high", "mean", "suppressed"]
    if responses.empty:
        return pd.DataFrame(columns=cols)
    per_m = exploded if exploded is not None else explode_municipalities(responses, municipality_question, county)
    parts = []
    if not per_m.empty:
        parts.append(_summarise(item_values(per_m, items, points), per_m[["municipality", "wave"]], high, min_n))
    whole = county_rows(responses, municipality_question, county, min_n) if whole is None else whole
    parts.append(_summarise(item_values(whole, items, points), whole[["municipality", "wave"]], high, min_n))
    return pd.concat(parts, ignore_index=True)[cols]


def county_rows(responses: pd.DataFrame, municipality_question: str, county: str, min_n: int = MIN_N) -> pd.DataFrame:
    """The responses that make the county's figures, under the county's code.

    Every response, except that where a wave has 1 to min_n - 1 answers for the whole county only (no municipality
    named: a county-wide agency, say), those are left out of that wave's county figures: the county total minus
    the municipalities' shown cells would otherwise give them away. Five or more count as any answers do.
    """
    whole = responses.assign(municipality=county)
    if whole.empty or "answers" not in whole:
        return whole
    named = [a.get(municipality_question) for a in whole["answers"]]
    only_county = pd.Series(
        [not v or (v[0] == county and all(m == county for m in v)) for v in named], index=whole.index
    )
    if not only_county.any():
        return whole
    per_wave = only_county.groupby(whole["wave"]).transform("sum")
    few = only_county & (per_wave < min_n)
    return whole[~few]


def county_spread(table: pd.DataFrame, county: str, value: str = "share_high") -> pd.DataFrame:
    """Per (wave, item) over the municipalities shown (not suppressed): floor (lowest), median, maximum, gap.

    The median is NaN where fewer than MIN_MEDIAN municipalities are shown (`municipalities` says how many).
    """
    cols = ["wave", "item", "municipalities", "floor", "floor_municipality", "median", "max", "max_municipality", "gap"]
    m = table[(table["municipality"] != county) & ~table["suppressed"].astype(bool)].dropna(subset=[value])
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.reset_index(drop=True)
    g = m.groupby(["wave", "item"])[value]
    out = pd.DataFrame({"municipalities": g.size(), "floor": g.min(), "median": g.median(), "max": g.max()})
    out["floor_municipality"] = m["municipality"].to_numpy()[g.idxmin().to_numpy()]
    out["max_municipality"] = m["municipality"].to_numpy()[g.idxmax().to_numpy()]
    out["gap"] = out["max"] - out["floor"]
    out.loc[out["municipalities"] < MIN_MEDIAN, "median"] = np.nan
    return out.reset_index()[cols]


def with_change(table: pd.DataFrame, keys: Sequence[str], value: str, back: int = 1) -> pd.DataFrame:
    """Add `{value}_prev` and `{value}_change` against the wave `back` quarters earlier (NaN if either is missing)."""
    out = table.copy()
    earlier = table[[*keys, "wave", value]].copy()
    earlier["wave"] = earlier["wave"].map({w: prev_wave(w, -back) for w in earlier["wave"].unique()})
    earlier = earlier.rename(columns={value: f"{value}_prev"})
    out = out.merge(earlier, on=[*keys, "wave"], how="left")
    out[f"{value}_change"] = out[value] - out[f"{value}_prev"]
    return out


def coverage(
    responses: pd.DataFrame, municipality_question: str, county: str, wave: str, min_n: int = MIN_N
) -> pd.DataFrame:
    """Respondents per municipality × sector in a wave; counts below min_n suppressed."""
    w = responses[responses["wave"] == wave]
    per_m = explode_municipalities(w, municipality_question, county) if not w.empty else w.assign(municipality=[])
    counts = per_m.groupby(["municipality", "sector"]).size().rename("n").reset_index()
    counts["suppressed"] = counts["n"] < min_n
    return counts


def secondary_suppress(table: pd.DataFrame, county: str) -> pd.DataFrame:
    """Hide more municipalities where hidden answers could be worked out from the county total and the others.

    Per wave and item: where exactly one municipality is hidden, a second is (the smallest shown). And the county's
    respondents that no shown cell holds must be none or at least MIN_N, so that the county total minus the shown
    cells never gives a group under MIN_N away: where hidden municipalities make part of that group, the smallest
    shown municipality is hidden too until it is; where it is only answers for the whole county (a county-wide
    agency, say), the county's cell is hidden instead, so that every municipality stays in view.
    """
    out = table.copy()
    is_county = out["municipality"] == county
    totals = {
        (w, i): (idx, int(n))
        for idx, w, i, n, hid in zip(
            out.index[is_county],
            out.loc[is_county, "wave"],
            out.loc[is_county, "item"],
            out.loc[is_county, "n"],
            out.loc[is_county, "suppressed"],
            strict=True,
        )
        if not hid
    }
    munis = out[~is_county]
    if munis.empty:
        return out
    # the groups that need a look: one hidden, or a total whose rest beyond the shown cells is 1 to MIN_N - 1
    hid = munis["suppressed"].astype(bool)
    keys = [munis["wave"], munis["item"]]
    per = pd.DataFrame({"hidden": hid.groupby(keys).sum(), "shown_n": munis["n"].where(~hid, 0).groupby(keys).sum()})
    rest = pd.Series([totals[k][1] if k in totals else 0 for k in per.index], index=per.index) - per["shown_n"]
    look = set(per.index[(per["hidden"] == 1) | ((rest > 0) & (rest < MIN_N))])
    if not look:
        return out
    hide: list[Any] = []  # row labels to hide, applied at the end
    in_look = [k in look for k in zip(munis["wave"].tolist(), munis["item"].tolist(), strict=True)]
    for key, g in munis[in_look].groupby(["wave", "item"], sort=False):
        hidden = g["suppressed"].astype(bool).to_numpy()
        shown = list(zip(g.index[~hidden], g["n"].to_numpy()[~hidden].astype("int64").tolist(), strict=True))
        if hidden.sum() == 1 and shown:
            hide.append(_pop_smallest(shown)[0])
        found = totals.get(key)
        if found is None:
            continue
        county_row, total = found
        pool = total - sum(n for _, n in shown)
        if 0 < pool < MIN_N and len(shown) == len(g):  # only whole-county answers: hide the county's cell
            hide.append(county_row)
            continue
        while 0 < pool < MIN_N and shown:
            idx, n = _pop_smallest(shown)
            hide.append(idx)
            pool += n
    if hide:
        out.loc[hide, ["share_high", "mean"]] = np.nan
        out.loc[hide, "suppressed"] = True
    return out


def _pop_smallest(shown: list[tuple[Any, int]]) -> tuple[Any, int]:
    """Remove and return the (row, n) with the fewest respondents, the first of equals (as idxmin picks)."""
    j = min(range(len(shown)), key=lambda k: shown[k][1])
    return shown.pop(j)


def index_over_shown_cells(index: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The index (need_index's frame) pooled over the cells shown only: per (municipality, wave), `answers` and
    `index` from those of `cells` (need_table's frame after secondary_suppress) that are not hidden; hidden where
    none is. `n`, the respondents, stays as need_index counted them.

    Pooled over every answer, an index shown beside the municipality's other cells would give a hidden cell away
    (its pooled counts less the shown cells' counts); pooled over the cells shown it tells nothing they do not.
    """
    cols = ["municipality", "wave", "n", "answers", "index", "suppressed"]
    if index.empty:
        return index
    shown = cells[~cells["suppressed"].astype(bool)].dropna(subset=["share_high"])
    pooled = (
        pd.DataFrame(
            {
                "municipality": shown["municipality"],
                "wave": shown["wave"],
                "answers": shown["n"].astype("int64"),
                "high": (shown["share_high"] * shown["n"]).round(),
            }
        )
        .groupby(["municipality", "wave"], as_index=False)[["answers", "high"]]
        .sum()
    )
    out = index.drop(columns=["answers", "index"]).merge(pooled, on=["municipality", "wave"], how="left")
    out["answers"] = out["answers"].fillna(0).astype("int64")
    out["suppressed"] = out["suppressed"].astype(bool) | (out["answers"] == 0)
    out["index"] = (out["high"] / out["answers"].where(out["answers"] > 0)).where(~out["suppressed"])
    return out[cols]


def need_index(
    responses: pd.DataFrame,
    items: Sequence[str],
    municipality_question: str,
    county: str,
    points: tuple[int, int] = (1, 5),
    min_n: int = MIN_N,
    exploded: pd.DataFrame | None = None,
    whole: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per (municipality, wave): the share of 4–5 over all need answers pooled.

    n = respondents, answers = pooled answers.
    """
    cols = ["municipality", "wave", "n", "answers", "index", "suppressed"]
    if responses.empty:
        return pd.DataFrame(columns=cols)
    high = points[1] - 1
    parts = []
    per_m = exploded if exploded is not None else explode_municipalities(responses, municipality_question, county)
    county_part = county_rows(responses, municipality_question, county, min_n) if whole is None else whole
    for frame in (per_m, county_part):
        if frame.empty:
            continue
        vals = item_values(frame, items, points)
        df = pd.DataFrame(
            {
                "municipality": frame["municipality"],
                "wave": frame["wave"],
                "answered": vals.notna().sum(axis=1),
                "high": (vals >= high).sum(axis=1),
            }
        )
        g = df.groupby(["municipality", "wave"])
        part = pd.DataFrame({"n": g.size(), "answers": g["answered"].sum(), "high": g["high"].sum()}).reset_index()
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["index"] = out["high"] / out["answers"].where(out["answers"] > 0)
    out["suppressed"] = out["n"] < min_n
    out.loc[out["suppressed"], "index"] = np.nan
    return out[cols]


def shown(index: pd.DataFrame, county: str) -> pd.DataFrame:
    """The need index rows of the municipalities shown: not the county, not suppressed, with scored answers."""
    return index[(index["municipality"] != county) & ~index["suppressed"].astype(bool)].dropna(subset=["index"])


def median_waves(index: pd.DataFrame, county: str, waves: Sequence[str]) -> dict[str, NoMedian | None]:
    """Per wave: None when it has a county median of the need index, else why not (fewer than MIN_MEDIAN shown)."""
    counts = shown(index, county).groupby("wave")["municipality"].nunique()
    out: dict[str, NoMedian | None] = {}
    for w in waves:
        n = int(counts.get(w, 0))
        out[w] = (
            None if n >= MIN_MEDIAN else (NoMedian.NO_MUNICIPALITIES if n == 0 else NoMedian.TOO_FEW_MUNICIPALITIES)
        )
    return out


def county_median(index: pd.DataFrame, county: str, waves: Sequence[str]) -> pd.Series:
    """The median of the shown municipalities' need index per wave (indexed by `waves`); NaN where median_waves
    gives a reason."""
    m = shown(index, county)
    median = m.groupby("wave")["index"].median().reindex(list(waves)).astype("float64")
    missing = [w for w, why in median_waves(index, county, waves).items() if why is not None]
    median[missing] = np.nan
    return median


def noise(p1: float, n1: float, p2: float, n2: float) -> float:
    """Two standard errors of the difference of two shares: smaller changes are not reported as changes."""

    def var(p: float, n: float) -> float:
        p = min(max(p, 0.1), 0.9)
        return p * (1 - p) / max(n, 1)

    return float(2 * np.sqrt(var(p1, n1) + var(p2, n2)))


def roster_coverage(
    responses: pd.DataFrame,
    roster: pd.DataFrame,
    wave: str,
    answered_by: Callable[[pd.DataFrame], Collection[int]],
) -> pd.DataFrame:
    """Per (municipality, sector): organisations expected (roster), answered in the wave, rate, who did not answer.

    answered_by gives the roster ids (column id) the wave's responses are counted for (outreach.matching decides).
    """
    cols = ["municipality", "sector", "expected", "answered", "rate", "missing"]
    if roster.empty:
        return pd.DataFrame(columns=cols)
    w = responses[responses["wave"] == wave] if not responses.empty else responses
    answered = set(answered_by(w)) if not w.empty else set()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for a in roster.itertuples():
        did = a.id in answered
        for m in a.municipalities:
            r = rows.setdefault(
                (m, a.sector), {"municipality": m, "sector": a.sector, "expected": 0, "answered": 0, "missing": []}
            )
            r["expected"] += 1
            if did:
                r["answered"] += 1
            else:
                r["missing"].append(a.name)
    out = pd.DataFrame(list(rows.values()), columns=[c for c in cols if c != "rate"])
    out["rate"] = out["answered"] / out["expected"]
    return out[cols].sort_values(["municipality", "sector"]).reset_index(drop=True)


def latest_answers(
    responses: pd.DataFrame,
    sector: str,
    questions: Sequence[str],
    period: str,
    municipality_question: str,
    county: str,
    window: int = 4,
) -> pd.DataFrame:
    """Per municipality, each question's newest answer from the sector in the last `window` waves up to the period."""
    waves = set(wave_range(period, window))
    r = (
        responses[(responses["sector"] == sector) & (responses["wave"].isin(waves))]
        if not responses.empty
        else responses
    )
    if r.empty:
        return pd.DataFrame(columns=["municipality", *questions])
    per_m = explode_municipalities(r, municipality_question, county).sort_values(["wave", "submitted_at"])
    newest: dict[Any, dict[str, Any]] = {}
    for m, a in zip(per_m["municipality"].tolist(), per_m["answers"].tolist(), strict=True):  # oldest first
        row = newest.setdefault(m, {})
        for q in questions:
            v = a.get(q)
            if v not in (None, "", []):
                row[q] = v
    rows = [{"municipality": m, **{q: newest[m].get(q) for q in questions}} for m in sorted(newest)]
    return pd.DataFrame(rows, columns=["municipality", *questions])
