"""Alerts and the summary, generated from the metrics: only changes larger than what n can carry.

Pure functions: frames and names in, plain dicts and sentences out. Words through gettext (Swedish msgids).
For needs a higher share is worse, so the words are "störst behov" / "greatest need", never a floor.
Levels are percent (i18n.fmt_pct); gaps and changes are percentage points (i18n.fmt_pp), never "%".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from bfs_pipeline import i18n
from bfs_pipeline.metrics import NoMedian, median_waves, noise, prev_wave, shown


def _points(v: float) -> int:
    return round(v * 100)


def _pp_between(before: float, after: float, lang: str, signed: bool = True) -> str:
    """after − before in percentage points, from the two percents as printed, so that 55 % → 71 % says +16."""
    return i18n.fmt_pp((_points(after) - _points(before)) / 100, lang, signed=signed)


def _worst(index: pd.DataFrame, wave: str, county: str) -> pd.Series | None:
    """The shown municipality with the greatest need in the wave."""
    w = shown(index, county)
    w = w[w["wave"] == wave]
    return None if w.empty else w.loc[w["index"].idxmax()]


def _worst_name(index: pd.DataFrame, wave: str, county: str, names: dict[str, str]) -> str:
    w = _worst(index, wave, county)
    return i18n.SUPPRESSED if w is None else names.get(str(w["municipality"]), str(w["municipality"]))


def _gap(index: pd.DataFrame, wave: str, county: str) -> tuple[float, float] | None:
    """The gap (highest minus lowest need index) and two standard errors of it."""
    w = shown(index, county)
    w = w[w["wave"] == wave]
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
    """Alerts for the period from the need index (pooled need answers per municipality) and roster coverage.

    Each alert: kind, title, message, municipality ({code, name} or None for the county), indicator and the
    numbers behind it. No alert compares against a county median.
    """
    _ = i18n.translator(lang)
    ngettext = i18n.plural(lang)
    out: list[dict[str, Any]] = []
    p1, p2 = prev_wave(period), prev_wave(period, 2)
    g0, g1, g2 = _gap(index, period, county), _gap(index, p1, county), _gap(index, p2, county)
    if g0 and g1 and g2 and g0[0] - g1[0] > max(g0[1], g1[1]) / 2 and g1[0] - g2[0] > max(g1[1], g2[1]) / 2:
        now_pts = _points(g0[0])
        out.append(
            {
                "kind": "gap_widened",
                "municipality": None,
                "indicator": "need_index",
                "values": {p2: g2[0], p1: g1[0], period: g0[0]},
                "unit": "percentage_points",
                "title": _("Skillnaden i behov har ökat"),
                "message": ngettext(
                    "Skillnaden i behov mellan kommunerna har ökat två kvartal i rad: från {a} till {b} och nu "
                    "{c} procentenhet. Störst behov har {name}.",
                    "Skillnaden i behov mellan kommunerna har ökat två kvartal i rad: från {a} till {b} och nu "
                    "{c} procentenheter. Störst behov har {name}.",
                    now_pts,
                ).format(
                    a=i18n.fmt_int(_points(g2[0]), lang),
                    b=i18n.fmt_int(_points(g1[0]), lang),
                    c=i18n.fmt_int(now_pts, lang),
                    name=_worst_name(index, period, county, names),
                ),
            }
        )
    now, before = _worst(index, period, county), _worst(index, p1, county)
    if now is not None:
        m = str(now["municipality"])
        b = float(now["index"])
        prev_own = shown(index, county)
        prev_own = prev_own[(prev_own["wave"] == p1) & (prev_own["municipality"] == m)]
        if not prev_own.empty:
            a = float(prev_own["index"].iloc[0])
            margin = noise(b, float(now["answers"]), a, float(prev_own["answers"].iloc[0]))
            if b - a > margin:
                out.append(
                    {
                        "kind": "floor_fell",  # kept for consumers: the greatest need rose
                        "municipality": {"code": m, "name": names.get(m, m)},
                        "indicator": "need_index",
                        "values": {p1: a, period: b},
                        "change": b - a,
                        "n": int(now["n"]),
                        "margin": margin,
                        "title": _("Störst behov har ökat"),
                        "message": _(
                            "Störst behov har ökat: {name} har störst behov i länet, {after} av behovssvaren är 4–5 "
                            "mot {before} kvartalet före ({change}, n={n})."
                        ).format(
                            name=names.get(m, m),
                            before=i18n.fmt_pct(a, lang),
                            after=i18n.fmt_pct(b, lang),
                            change=_pp_between(a, b, lang),
                            n=i18n.fmt_int(int(now["n"]), lang),
                        ),
                    }
                )
        if before is not None and str(before["municipality"]) != m:
            pm = str(before["municipality"])
            second = shown(index, county)
            second = second[(second["wave"] == period) & (second["municipality"] == pm)]
            if not second.empty:
                other = float(second["index"].iloc[0])
                margin = noise(b, float(now["answers"]), other, float(second["answers"].iloc[0]))
                if b - other > margin:
                    out.append(
                        {
                            "kind": "new_lowest",  # kept for consumers: a new municipality has the greatest need
                            "municipality": {"code": m, "name": names.get(m, m)},
                            "indicator": "need_index",
                            "values": {period: b, "previous_lowest": pm, "previous_lowest_now": other},
                            "lead": b - other,
                            "margin": margin,
                            "title": _("Ny kommun med störst behov"),
                            "message": _(
                                "Ny kommun med störst behov: {name}, där {share} av behovssvaren är 4–5, {lead} mer "
                                "än i {prev_name}, som hade störst behov förra kvartalet."
                            ).format(
                                name=names.get(m, m),
                                share=i18n.fmt_pct(b, lang),
                                lead=_pp_between(other, b, lang, signed=False),
                                prev_name=names.get(pm, pm),
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
            answered, expected = int(r.answered), int(r.expected)
            rate = answered / expected if expected else 1.0
            if rate < alert_coverage:
                m = str(r.municipality)
                out.append(
                    {
                        "kind": "low_coverage",
                        "municipality": {"code": m, "name": names.get(m, m)},
                        "indicator": "coverage",
                        "values": {
                            "answered": answered,
                            "expected": expected,
                            "rate": rate,
                            "threshold": alert_coverage,
                        },
                        "title": _("Låg svarsfrekvens"),
                        "message": ngettext(
                            "Låg svarsfrekvens i {name}: {answered} av {expected} organisation har svarat ({rate}).",
                            "Låg svarsfrekvens i {name}: {answered} av {expected} organisationer har svarat ({rate}).",
                            expected,
                        ).format(
                            name=names.get(m, m),
                            answered=i18n.fmt_int(answered, lang),
                            expected=i18n.fmt_int(expected, lang),
                            rate=i18n.fmt_pct(rate, lang),
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
    _ = i18n.translator(lang)
    ngettext = i18n.plural(lang)
    n = i18n.fmt_int(responses, lang)
    if coverage.empty:
        first = ngettext("{n} svar räknas för {period}.", "{n} svar räknas för {period}.", responses).format(
            n=n, period=period
        )
    else:
        exp, ans = int(coverage["expected"].sum()), int(coverage["answered"].sum())
        first = ngettext(
            "{n} svar räknas för {period}; {answered} av {expected} förväntade organisationssvar kom in ({rate}).",
            "{n} svar räknas för {period}; {answered} av {expected} förväntade organisationssvar kom in ({rate}).",
            responses,
        ).format(
            n=n,
            period=period,
            answered=i18n.fmt_int(ans, lang),
            expected=i18n.fmt_int(exp, lang),
            rate=i18n.fmt_pct(ans / exp if exp else 0, lang),
        )
    out = [first]
    county_now = index[(index["wave"] == period) & (index["municipality"] == county)].dropna(subset=["index"])
    county_prev = index[(index["wave"] == prev_wave(period)) & (index["municipality"] == county)].dropna(
        subset=["index"]
    )
    if not county_now.empty:
        c = float(county_now["index"].iloc[0])
        if county_prev.empty:
            out.append(_("I länet svarar {share} av behovssvaren 4–5.").format(share=i18n.fmt_pct(c, lang)))
        else:
            out.append(
                _("I länet svarar {share} av behovssvaren 4–5 ({change} mot förra kvartalet).").format(
                    share=i18n.fmt_pct(c, lang), change=_pp_between(float(county_prev["index"].iloc[0]), c, lang)
                )
            )
    now = shown(index, county)
    now = now[now["wave"] == period]
    if len(now) >= 2:
        hi, lo = now.loc[now["index"].idxmax()], now.loc[now["index"].idxmin()]
        w, b = str(hi["municipality"]), str(lo["municipality"])
        out.append(
            _("Störst behov har {most} ({most_share}), minst {least} ({least_share}).").format(
                most=names.get(w, w),
                most_share=i18n.fmt_pct(float(hi["index"]), lang),
                least=names.get(b, b),
                least_share=i18n.fmt_pct(float(lo["index"]), lang),
            )
        )
    if found:
        out.append(ngettext("{n} varning: se överst.", "{n} varningar: se överst.", len(found)).format(n=len(found)))
    else:
        out.append(_("Inga förändringar utöver vad antalet svar kan bära."))
    return out


def median_notes(index: pd.DataFrame, county: str, waves: Sequence[str], lang: str = "sv") -> list[str]:
    """Why some waves have no county median (metrics.median_waves): one sentence per reason, naming the waves.

    Empty when every wave has one. Waves without a single answer (no row in `index`) are not named: there is
    nothing to draw there at all. For the report beside the trend chart, whose dashed median has a gap there.
    """
    _ = i18n.translator(lang)
    answered = set(index["wave"])
    waves = [w for w in waves if w in answered]
    why = median_waves(index, county, waves)
    sentences = {
        NoMedian.TOO_FEW_MUNICIPALITIES: _(
            "Ingen länsmedian för {waves}: färre än tre kommuner med tillräckligt många svar."
        ),
        NoMedian.NO_MUNICIPALITIES: _("Ingen länsmedian för {waves}: ingen kommun med tillräckligt många svar."),
    }
    out = []
    for reason, sentence in sentences.items():
        listed = [w for w in waves if why[w] is reason]
        if listed:
            out.append(sentence.format(waves=i18n.fmt_list(listed, lang)))
    return out
