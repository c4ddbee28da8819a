"""Alerts and the summary, generated from the metrics: only changes larger than what n can carry.

Pure functions: frames and names in, plain dicts and sentences out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bfs_pipeline.metrics import noise, prev_wave
from bfs_pipeline.wording import fmt_change

TEXT = {
    "sv": {
        "gap_widened": "Skillnaden i behov mellan kommunerna har ökat två kvartal i rad: från {a} till {b} och nu {c} procentenheter. Störst behov har {name}.",
        "floor_fell": "Golvet har sjunkit: {name} har nu störst behov, {b} svarar 4–5 mot {a} kvartalet före (n={n}).",
        "new_lowest": "{name} har hamnat längst ner: störst behov av länets kommuner ({b} svarar 4–5; förra kvartalet {prev_name}).",
        "low_coverage": "Låg svarsfrekvens i {name}: {answered} av {expected} organisationer har svarat ({rate}).",
    },
    "en": {
        "gap_widened": "The gap in needs between municipalities has widened two quarters in a row: from {a} to {b} and now {c} percentage points. {name} has the greatest need.",
        "floor_fell": "The floor has fallen: {name} now has the greatest need, {b} answering 4–5 against {a} the quarter before (n={n}).",
        "new_lowest": "{name} has fallen to the bottom: the greatest need of the county's municipalities ({b} answer 4–5; last quarter {prev_name}).",
        "low_coverage": "Low response in {name}: {answered} of {expected} organisations have answered ({rate}).",
    },
}


def pct(v: float) -> str:
    return f"{round(v * 100)}\u00a0%"


def pp(v: float) -> str:
    return f"{round(v * 100)}"


def _worst(index: pd.DataFrame, wave: str, county: str) -> pd.Series | None:
    w = index[(index["wave"] == wave) & (index["municipality"] != county) & ~index["suppressed"].astype(bool)].dropna(
        subset=["index"]
    )
    return None if w.empty else w.loc[w["index"].idxmax()]


def _worst_name(index: pd.DataFrame, wave: str, county: str, names: dict[str, str]) -> str:
    w = _worst(index, wave, county)
    return "–" if w is None else names.get(str(w["municipality"]), str(w["municipality"]))


def _gap(index: pd.DataFrame, wave: str, county: str) -> tuple[float, float] | None:
    """The gap (highest minus lowest need index) and two standard errors of it."""
    w = index[(index["wave"] == wave) & (index["municipality"] != county) & ~index["suppressed"].astype(bool)].dropna(
        subset=["index"]
    )
    if len(w) < 2:
        return None
    hi, lo = w.loc[w["index"].idxmax()], w.loc[w["index"].idxmin()]
    return float(hi["index"] - lo["index"]), noise(
        float(hi["index"]), float(hi["answers"]), float(lo["index"]), float(lo["answers"])
    )


def alerts(
    index: pd.DataFrame,
    coverage: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    alert_coverage: float = 0.5,
    lang: str = "sv",
) -> list[dict[str, Any]]:
    """Alerts for the period from the need index (pooled need answers per municipality) and roster coverage."""
    t = TEXT[lang]
    out: list[dict[str, Any]] = []
    p1, p2 = prev_wave(period), prev_wave(period, 2)
    g0, g1, g2 = _gap(index, period, county), _gap(index, p1, county), _gap(index, p2, county)
    if g0 and g1 and g2 and g0[0] - g1[0] > max(g0[1], g1[1]) / 2 and g1[0] - g2[0] > max(g1[1], g2[1]) / 2:
        out.append(
            {
                "kind": "gap_widened",
                "municipality": None,
                "indicator": "need_index",
                "values": {p2: g2[0], p1: g1[0], period: g0[0]},
                "message": t["gap_widened"].format(
                    a=pp(g2[0]), b=pp(g1[0]), c=pp(g0[0]), name=_worst_name(index, period, county, names)
                ),
            }
        )
    now, before = _worst(index, period, county), _worst(index, p1, county)
    if now is not None:
        m = str(now["municipality"])
        prev_own = index[
            (index["wave"] == p1) & (index["municipality"] == m) & ~index["suppressed"].astype(bool)
        ].dropna(subset=["index"])
        if not prev_own.empty:
            a = float(prev_own["index"].iloc[0])
            margin = noise(float(now["index"]), float(now["answers"]), a, float(prev_own["answers"].iloc[0]))
            if float(now["index"]) - a > margin:
                out.append(
                    {
                        "kind": "floor_fell",
                        "municipality": {"code": m, "name": names.get(m, m)},
                        "indicator": "need_index",
                        "values": {p1: a, period: float(now["index"])},
                        "n": int(now["n"]),
                        "margin": margin,
                        "message": t["floor_fell"].format(
                            name=names.get(m, m), a=pct(a), b=pct(float(now["index"])), n=int(now["n"])
                        ),
                    }
                )
        if before is not None and str(before["municipality"]) != m:
            second = index[(index["wave"] == period) & (index["municipality"] == before["municipality"])].dropna(
                subset=["index"]
            )
            if not second.empty:
                lead = float(now["index"]) - float(second["index"].iloc[0])
                margin = noise(
                    float(now["index"]),
                    float(now["answers"]),
                    float(second["index"].iloc[0]),
                    float(second["answers"].iloc[0]),
                )
                if lead > margin:
                    pm = str(before["municipality"])
                    out.append(
                        {
                            "kind": "new_lowest",
                            "municipality": {"code": m, "name": names.get(m, m)},
                            "indicator": "need_index",
                            "values": {period: float(now["index"]), "previous_lowest": pm},
                            "margin": margin,
                            "message": t["new_lowest"].format(
                                name=names.get(m, m), b=pct(float(now["index"])), prev_name=names.get(pm, pm)
                            ),
                        }
                    )
    if not coverage.empty:
        per_m = (
            coverage[coverage["municipality"] != county]
            .groupby("municipality")[["expected", "answered"]]
            .sum()
            .reset_index()
        )
        for r in per_m.itertuples():
            rate = r.answered / r.expected if r.expected else 1.0
            if rate < alert_coverage:
                m = str(r.municipality)
                out.append(
                    {
                        "kind": "low_coverage",
                        "municipality": {"code": m, "name": names.get(m, m)},
                        "indicator": "coverage",
                        "values": {
                            "answered": int(r.answered),
                            "expected": int(r.expected),
                            "rate": rate,
                            "threshold": alert_coverage,
                        },
                        "message": t["low_coverage"].format(
                            name=names.get(m, m), answered=r.answered, expected=r.expected, rate=pct(rate)
                        ),
                    }
                )
    return out


def summary(
    index: pd.DataFrame,
    coverage: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    responses: int,
    found: list[dict[str, Any]],
    lang: str = "sv",
) -> list[str]:
    """Three to five sentences from the same numbers as the tables and alerts."""
    sv = lang == "sv"
    out = [f"{responses} svar räknas för {period}." if sv else f"{responses} responses count for {period}."]
    if not coverage.empty:
        exp, ans = int(coverage["expected"].sum()), int(coverage["answered"].sum())
        out[0] = (
            f"{responses} svar räknas för {period}; {ans} av {exp} förväntade organisationssvar kom in ({pct(ans / exp if exp else 0)})."
            if sv
            else f"{responses} responses count for {period}; {ans} of {exp} expected organisation answers came in ({pct(ans / exp if exp else 0)})."
        )
    county_now = index[(index["wave"] == period) & (index["municipality"] == county)].dropna(subset=["index"])
    county_prev = index[(index["wave"] == prev_wave(period)) & (index["municipality"] == county)].dropna(
        subset=["index"]
    )
    if not county_now.empty:
        c = float(county_now["index"].iloc[0])
        change = ""
        if not county_prev.empty:
            d = fmt_change(c - float(county_prev["index"].iloc[0]))
            change = f" ({d} procentenheter mot förra kvartalet)" if sv else f" ({d} points on last quarter)"
        out.append(
            f"I länet svarar {pct(c)} av behovssvaren 4–5{change}."
            if sv
            else f"In the county {pct(c)} of need answers are 4–5{change}."
        )
    worst = _worst(index, period, county)
    best = index[
        (index["wave"] == period) & (index["municipality"] != county) & ~index["suppressed"].astype(bool)
    ].dropna(subset=["index"])
    if worst is not None and not best.empty:
        lo = best.loc[best["index"].idxmin()]
        w, b = str(worst["municipality"]), str(lo["municipality"])
        out.append(
            f"Störst behov har {names.get(w, w)} ({pct(float(worst['index']))}), minst {names.get(b, b)} ({pct(float(lo['index']))})."
            if sv
            else f"{names.get(w, w)} has the greatest need ({pct(float(worst['index']))}), {names.get(b, b)} the least ({pct(float(lo['index']))})."
        )
    if found:
        n = len(found)
        out.append(
            f"{n} varning{'ar' if n > 1 else ''}: se överst."
            if sv
            else f"{n} alert{'s' if n > 1 else ''}: see the top."
        )
    else:
        out.append(
            "Inga förändringar utöver vad antalet svar kan bära."
            if sv
            else "No change beyond what the number of answers can carry."
        )
    return out
