"""Alerts and the summary, generated from the metrics: only changes larger than what n can carry, and levels that
stand (level_alerts: a standing gap to the county median, capacity fallen, the law's floor, silent organisations).

Pure functions: frames and names in, plain dicts and sentences out. Words through gettext (Swedish msgids).
For needs a higher share is worse, so the words are "störst behov" / "greatest need", never a floor.
Levels are percent (i18n.fmt_pct); gaps and changes are percentage points (i18n.fmt_pp), never "%".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from bfs_pipeline import i18n, levels, metrics
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
    gaps = [a for a in found if a["kind"] == "standing_gap" and a.get("municipality")]
    if gaps:  # a standing gap is named here too: nothing changed since the quarter before, yet it stands
        out.append(
            ngettext(
                "{names} har haft minst {gap} större behov än länets median sedan {since}.",
                "{names} har haft minst {gap} större behov än länets median sedan {since}.",
                len(gaps),
            ).format(
                names=i18n.fmt_list([a["municipality"]["name"] for a in gaps], lang),
                gap=i18n.fmt_pp(float(gaps[0]["threshold"]), lang, signed=False),
                since=min(str(a["since"]) for a in gaps),
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


# Alerts on levels: what stands, not only what changed (#13).
STANDING_GAP = 0.20  # need index this far (20 percentage points) or more above the county median ...
STANDING_WAVES = 2  # ... in the period and the quarter before: a standing gap
STANDING_LOOKBACK = 8  # quarters looked back to say since when the gap has stood
CAPACITY_FALL = 0.5  # coordinator FTE at this share or less of an earlier answer: capacity fell
CAPACITY_WINDOW = 2  # the earlier answer: the highest stated in these many quarters before the period
LAW_WINDOW = 4  # a law status counts when reported in the period or the three quarters before (asked yearly)


def standing_gaps(
    index: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    lang: str = "sv",
    gap: float = STANDING_GAP,
) -> list[dict[str, Any]]:
    """Kind `standing_gap`: a municipality whose need index has stood `gap` or more above the county median in the
    period and the STANDING_WAVES - 1 quarters before, in each of them by more than two standard errors.

    It fires in the quarter after a jump even when nothing changed since. Only municipalities shown in every one of
    those waves (not suppressed) count, and only waves with a county median (metrics.county_median: at least
    MIN_MEDIAN municipalities shown). The median's standard error is taken as a share of the median municipality's
    pooled answers (metrics.noise, as the other alerts count n). `since`: the first quarter of the unbroken run in
    which the gap stood, traced back at most STANDING_LOOKBACK quarters.
    """
    _ = i18n.translator(lang)
    waves = metrics.wave_range(period, STANDING_WAVES)
    looked = metrics.wave_range(period, STANDING_LOOKBACK)  # how far back `since` is traced
    medians = metrics.county_median(index, county, looked)
    if medians[waves].isna().any():
        return []
    shown_rows = shown(index, county)
    shown_rows = shown_rows[shown_rows["wave"].isin(looked)]
    typical = shown_rows.groupby("wave")["answers"].median()
    share = shown_rows.pivot_table(index="municipality", columns="wave", values="index").reindex(columns=looked)
    answers = shown_rows.pivot_table(index="municipality", columns="wave", values="answers").reindex(columns=looked)
    n_now = shown_rows[shown_rows["wave"] == period].set_index("municipality")["n"]
    diff = share - medians.reindex(looked).to_numpy()
    first = diff[waves].ge(gap - 0.005).all(axis=1)  # a cheap first cut, before the points and the noise
    out: list[dict[str, Any]] = []
    for m in share.index[first.to_numpy()]:
        above: dict[str, float] = {}
        margins: dict[str, float] = {}
        for w in reversed(looked):  # from the period back, while the gap stands
            p, d = share.at[m, w], diff.at[m, w]
            if pd.isna(p) or pd.isna(d):
                break
            margin = noise(float(p), float(answers.at[m, w]), float(medians[w]), float(typical[w]))
            if _points(float(d)) < _points(gap) or float(d) <= margin:
                break
            above[w], margins[w] = float(d), margin
        if not all(w in above for w in waves):
            continue
        since = min(above)
        code = str(m)
        now = float(share.at[m, period])
        out.append(
            {
                "kind": "standing_gap",
                "municipality": {"code": code, "name": names.get(code, code)},
                "indicator": "need_index",
                "values": {w: float(share.at[m, w]) for w in waves},
                "median": {w: float(medians[w]) for w in waves},
                "above": {w: above[w] for w in waves},
                "since": since,
                "n": int(n_now[m]),
                "margin": margins[period],
                "threshold": gap,
                "unit": "percentage_points",
                "title": _("Bestående skillnad i behov"),
                "message": _(
                    "Bestående skillnad i behov: i {name} är {share} av behovssvaren 4–5 mot länets median {median} "
                    "({above} över medianen, n={n}); kvartalet före {prev_share} mot {prev_median}. Skillnaden har "
                    "varit minst {gap} sedan {since}."
                ).format(
                    name=names.get(code, code),
                    share=i18n.fmt_pct(now, lang),
                    median=i18n.fmt_pct(float(medians[period]), lang),
                    above=_pp_between(float(medians[period]), now, lang, signed=False),
                    n=i18n.fmt_int(int(n_now[m]), lang),
                    prev_share=i18n.fmt_pct(float(share.at[m, waves[-2]]), lang) if len(waves) > 1 else "",
                    prev_median=i18n.fmt_pct(float(medians[waves[-2]]), lang) if len(waves) > 1 else "",
                    gap=i18n.fmt_pp(gap, lang, signed=False),
                    since=since,
                ),
            }
        )
    return sorted(out, key=lambda a: -a["values"][period])


def capacity_fell(
    fte: pd.DataFrame,
    status: pd.DataFrame,
    history: pd.DataFrame,
    period: str,
    names: dict[str, str],
    lang: str = "sv",
) -> list[dict[str, Any]]:
    """Kind `capacity_fell`, from the municipalities' own answers (levels.coordinator_fte, law_status, law_history).

    - indicator `coordinator_fte`: the period's FTE (K04, the median of the kommun answers) is CAPACITY_FALL (half)
      or less of the highest FTE stated in the CAPACITY_WINDOW quarters before, so a fall still stands in the
      quarter after it. Guard: both stated in the waves named, the earlier one above 0.
    - indicator `coordination_function`: the coordination function (K03) is reported vacant in an answer of the
      last LAW_WINDOW quarters while the answer before that said staffed: a change, not a standing state (a
      function vacant since it was first reported is a law_floor). Guard: the wave's respondents agree.

    FTE and status are organisational facts the municipality reports, shown in the capacity table whatever n.
    """
    _ = i18n.translator(lang)
    out: list[dict[str, Any]] = []
    earlier_waves = [prev_wave(period, k) for k in range(1, CAPACITY_WINDOW + 1)]
    now_fte = fte[fte["wave"] == period].set_index("municipality")["fte"]
    before = fte[fte["wave"].isin(earlier_waves) & (fte["fte"] > 0) & fte["municipality"].isin(now_fte.index)]
    before = before.sort_values(["fte", "wave"], ascending=False)  # the highest; of equal ones the newest
    for r in before.drop_duplicates("municipality").sort_values("municipality").itertuples():
        m, ref_wave, was = r.municipality, str(r.wave), float(r.fte)
        now = float(now_fte[m])
        if now > was * CAPACITY_FALL:
            continue
        code = str(m)
        out.append(
            {
                "kind": "capacity_fell",
                "municipality": {"code": code, "name": names.get(code, code)},
                "indicator": "coordinator_fte",
                "values": {ref_wave: was, period: now},
                "change": now - was,
                "threshold": CAPACITY_FALL,
                "unit": "fte",
                "title": _("Samordningen har minskat"),
                "message": _(
                    "Samordningen har minskat i {name}: {now} årsarbetskrafter för brottsförebyggande samordning "
                    "{period} mot {was} {ref_wave}."
                ).format(
                    name=names.get(code, code),
                    now=i18n.fmt_num(now, lang, 2),
                    period=period,
                    was=i18n.fmt_num(was, lang, 2),
                    ref_wave=ref_wave,
                ),
            }
        )
    recent = set(metrics.wave_range(period, LAW_WINDOW))
    samordning = history[(history["question"] == "K03") & (history["code"] != "9") & (history["wave"] <= period)]
    vacant = status[(status["requirement"] == "samordning") & (status["code"] == "2") & status["agree"].astype(bool)]
    for r in vacant.itertuples():
        if r.wave not in recent:
            continue
        earlier = samordning[(samordning["municipality"] == r.municipality) & (samordning["wave"] < r.wave)]
        if earlier.empty or str(earlier["code"].iloc[-1]) != "1":
            continue
        code, staffed = str(r.municipality), str(earlier["wave"].iloc[-1])
        out.append(
            {
                "kind": "capacity_fell",
                "municipality": {"code": code, "name": names.get(code, code)},
                "indicator": "coordination_function",
                "values": {staffed: "1", str(r.wave): "2"},
                "title": _("Samordningsfunktionen är vakant"),
                "message": _(
                    "Samordningsfunktionen är vakant i {name} enligt svaret {wave}; {staffed} var den bemannad."
                ).format(name=names.get(code, code), wave=r.wave, staffed=staffed),
            }
        )
    return out


def _law_phrases(lang: str) -> dict[tuple[str, str], str]:
    """What a status that does not meet the law says, by (requirement, code)."""
    _ = i18n.translator(lang)
    return {
        ("lagesbild", "0"): _("ingen lägesbild sedan {since}"),
        ("lagesbild", "3"): _("lägesbilden under framtagande sedan {since}"),
        ("atgardsplan", "0"): _("ingen åtgärdsplan sedan {since}"),
        ("atgardsplan", "3"): _("åtgärdsplanen under framtagande sedan {since}"),
        ("samordning", "0"): _("ingen samordningsfunktion sedan {since}"),
        ("samordning", "2"): _("samordningsfunktionen vakant sedan {since}"),
    }


def law_floor(status: pd.DataFrame, period: str, names: dict[str, str], lang: str = "sv") -> list[dict[str, Any]]:
    """Kind `law_floor`: a municipality without a current lägesbild, åtgärdsplan or samordningsfunktion, as lag
    (2023:196) asks; one alert per municipality naming each requirement not met and since when.

    From levels.law_status. Has one: status 1 or 2 (decided within 12 months or longer ago: the law asks for a
    lägesbild and an åtgärdsplan, not for a yearly decision); K03 1 (staffed). Lacks one: 0 (no), 3 (being made),
    K03 2 (vacant). "Vet ej" (9) is not known and says nothing. Since when: the first wave of the unbroken run of
    answers that lack it (law_status's `since`); the status as last reported, in its wave. Guard: the status was
    reported within LAW_WINDOW quarters (the question is asked once a year), an older one is not current; and the
    municipality's respondents in that wave agree (law_status's `agree`): one saying yes and one no is no alert.
    """
    _ = i18n.translator(lang)
    phrases = _law_phrases(lang)
    recent = set(metrics.wave_range(period, LAW_WINDOW))
    lacking = status[(status["met"] == False) & status["agree"].astype(bool) & status["wave"].isin(recent)]  # noqa: E712
    out: list[dict[str, Any]] = []
    for m, g in lacking.groupby("municipality", sort=True):
        code = str(m)
        what = [phrases.get((str(r.requirement), str(r.code)), "{since}").format(since=r.since) for r in g.itertuples()]
        out.append(
            {
                "kind": "law_floor",
                "municipality": {"code": code, "name": names.get(code, code)},
                "indicator": "law_2023_196",
                "values": {
                    str(r.requirement): {"code": str(r.code), "wave": str(r.wave), "since": str(r.since)}
                    for r in g.itertuples()
                },
                "title": _("Lagens krav uppfylls inte"),
                "message": (
                    _("{name} uppfyller inte kraven i lagen (2023:196): {what}.")
                    if (g["since"] == g["wave"]).all()
                    else _("{name} uppfyller inte kraven i lagen (2023:196): {what} (senast rapporterat {wave}).")
                ).format(name=names.get(code, code), what=i18n.fmt_list(what, lang), wave=str(g["wave"].max())),
            }
        )
    return out


def silence(
    now: pd.DataFrame,
    before: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    lang: str = "sv",
) -> list[dict[str, Any]]:
    """Kind `silence`: per municipality, the organisations in the roster that answered neither the period nor the
    quarter before (roster coverage's `missing` lists, matched as the report matches); the county's own actors
    (the county code) give an alert with municipality None.

    Guard: the quarter before had answers from the roster at all (a wave that was never run is no silence).
    """
    _ = i18n.translator(lang)
    ngettext = i18n.plural(lang)
    if now.empty or before.empty or int(before["answered"].sum()) == 0:
        return []
    prev = prev_wave(period)

    def missing(cov: pd.DataFrame) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in cov.itertuples():
            out.setdefault(str(r.municipality), set()).update(r.missing)
        return out

    was, is_ = missing(before), missing(now)
    out: list[dict[str, Any]] = []
    for m in sorted(is_, key=lambda c: (c == county, c)):
        silent = sorted(is_[m] & was.get(m, set()))
        if not silent:
            continue
        place = names.get(m, m)
        out.append(
            {
                "kind": "silence",
                "municipality": None if m == county else {"code": m, "name": place},
                "indicator": "coverage",
                "values": {"organisations": silent, "waves": [prev, period]},
                "title": _("Inget svar två kvartal i rad"),
                "message": ngettext(
                    "Inget svar två kvartal i rad ({prev} och {period}) från {n} organisation i {name}: {names}.",
                    "Inget svar två kvartal i rad ({prev} och {period}) från {n} organisationer i {name}: {names}.",
                    len(silent),
                ).format(
                    prev=prev,
                    period=period,
                    n=i18n.fmt_int(len(silent), lang),
                    name=place,
                    names=i18n.fmt_list(silent, lang),
                ),
            }
        )
    return out


def level_alerts(
    index: pd.DataFrame,
    responses: pd.DataFrame,
    coverage: pd.DataFrame,
    coverage_prev: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    mq: str,
    lang: str = "sv",
    gap: float = STANDING_GAP,
    history: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The alerts on levels for the period, in this order: standing_gap, capacity_fell, law_floor, silence.

    responses: the scored answers up to the period (ReportData.responses); coverage and coverage_prev: roster
    coverage in the period and the quarter before (empty without a roster: no silence); history: levels.law_history
    of them where the caller has it already.
    """
    history = levels.law_history(responses, mq, county) if history is None else history
    status = levels.law_status(responses, mq, county, period, history)
    window = metrics.wave_range(period, CAPACITY_WINDOW + 1)
    recent = responses[responses["wave"].isin(window)] if not responses.empty else responses
    fte = levels.coordinator_fte(recent, mq, county)
    return [
        *standing_gaps(index, period, county, names, lang, gap),
        *capacity_fell(fte, status, history, period, names, lang),
        *law_floor(status, period, names, lang),
        *silence(coverage, coverage_prev, period, county, names, lang),
    ]


# Alerts on the support given against need (#14), from the coordinator's support log (support_need.in_window).
GAP_LEAD_SE = 1.0  # support_gap: the greatest share of an item leads the next shown by more than this many standard
# errors of the difference (metrics.noise is two) ...
GAP_ABOVE = 0.10  # ... and stands this far (10 percentage points) or more above the median of the municipalities shown
SKEW_MIN_EVENTS = 10  # support_skew: at least this many events in the window, so a handful does not fire it
SKEW_MIN_SHOWN = 4  # ... and at least this many municipalities shown (two in each half)


def _no_support_phrase(item: str, lang: str) -> str:
    """What was missing, as the title says it: "inget metodstöd eller rådgivning", "ingen utbildning"."""
    _ = i18n.translator(lang)
    return {
        "B03": _("ingen utbildning"),
        "B05": _("inget metodstöd eller rådgivning"),
        "B08": _("ingen nätverksträff"),
    }.get(item) or _("inget stöd")


def support_gap(
    table: pd.DataFrame,
    events: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    labels: dict[str, str],
    lang: str = "sv",
) -> list[dict[str, Any]]:
    """Kind `support_gap` (indicator the need item): the municipality with the greatest need of an item got no
    support for that need, of a kind that answers it (support_need.NEED_KINDS), in the window's quarters.

    table: the need table (primary and secondary suppression); events: the support log's rows of the window
    (support_need.in_window). The greatest need: the greatest shown share answering 4–5 in the period, ahead of the
    next shown municipality by more than GAP_LEAD_SE standard errors (metrics.noise / 2) and GAP_ABOVE or more above
    the median of the municipalities shown (the spread table's median; none with fewer than metrics.MIN_MEDIAN
    shown: no alert). The county's own cell is not used: secondary suppression may hide it. No events at all in the
    window: no alert (a log not kept up to date is not a gap).
    """
    from bfs_pipeline import support_need

    if events.empty:
        return []
    _ = i18n.translator(lang)
    quarters = support_need.window(period)
    now = table[table["wave"] == period]
    out: list[dict[str, Any]] = []
    for item in labels:
        cells = now[(now["item"] == item) & (now["municipality"] != county)]
        found = support_need.greatest_of(cells)
        if found is None or found[1] is None:
            continue
        shown_cells = cells[~cells["suppressed"].astype(bool)].dropna(subset=["share_high"])
        if len(shown_cells) < metrics.MIN_MEDIAN:
            continue
        top, nxt = found[0], found[1]
        share, second = float(top["share_high"]), float(nxt["share_high"])
        median = float(shown_cells["share_high"].median())
        se = noise(share, float(top["n"]), second, float(nxt["n"])) / 2
        if share - second <= GAP_LEAD_SE * se or _points(share) - _points(median) < _points(GAP_ABOVE):
            continue
        code = str(top["municipality"])
        fit = support_need.answering(events[events["need"] == item], item)
        if not fit[fit["municipality"] == code].empty:
            continue
        elsewhere = support_need.shared_hours(fit)
        phrase = _no_support_phrase(item, lang)
        name, next_name = names.get(code, code), names.get(str(nxt["municipality"]), str(nxt["municipality"]))
        others = (
            _("till andra kommuner gick {hours} timmar ({events} tillfällen)").format(
                hours=i18n.fmt_num(elsewhere, lang, 1), events=i18n.fmt_int(int(fit["event_id"].nunique()), lang)
            )
            if elsewhere > 0
            else _("ingen annan kommun fick det heller")
        )
        out.append(
            {
                "kind": "support_gap",
                "municipality": {"code": code, "name": name},
                "indicator": item,
                "values": {
                    "share_high": share,
                    "n": int(top["n"]),
                    "next": {"code": str(nxt["municipality"]), "share_high": second, "n": int(nxt["n"])},
                    "median_share_high": median,
                    "margin": GAP_LEAD_SE * se,
                    "quarters": quarters,
                    "kinds": list(support_need.kinds_for(item) or []),
                    "hours": 0.0,
                    "hours_elsewhere": elsewhere,
                },
                "title": _("Störst behov av {item} och {none} på två kvartal").format(item=item, none=phrase),
                "message": _(
                    "Störst behov av {item} och {none} på två kvartal: i {name} svarar {share} 4–5 om "
                    "{label} (n={n}), {lead} mer än i {next_name} och {above} över länets median. Under {quarters} fick "
                    "{name} {none} för det behovet; {others}."
                ).format(
                    item=item,
                    none=phrase,
                    name=name,
                    share=i18n.fmt_pct(share, lang),
                    label=report_label(labels[item]),
                    n=i18n.fmt_int(int(top["n"]), lang),
                    lead=_pp_between(second, share, lang, signed=False),
                    next_name=next_name,
                    above=_pp_between(median, share, lang, signed=False),
                    quarters=i18n.fmt_list(quarters, lang),
                    others=others,
                ),
            }
        )
    return out


def report_label(label: str) -> str:
    """A need's label inside a sentence: without its trailing example in parentheses, lower-case first letter."""
    short = re.sub(r"\s*\([^)]*\)\s*$", "", label) or label
    return short[:1].lower() + short[1:]


def support_skew(
    index: pd.DataFrame,
    events: pd.DataFrame,
    period: str,
    county: str,
    names: dict[str, str],
    lang: str = "sv",
) -> list[dict[str, Any]]:
    """Kind `support_skew` (indicator "support", for the county): the support went mostly to the municipalities
    with the least need.

    Over the window's quarters, among the municipalities whose need index is shown in the period, ranked by it:
    the lower half (the len // 2 with the least need; the middle one of an odd number is in neither half) got more
    than half of the hours (support_need.shared_hours), and the upper half got a smaller share of the hours than its
    share of need (its need indexes over the sum of all shown). Guards: at least SKEW_MIN_EVENTS events in the window
    and SKEW_MIN_SHOWN municipalities shown.
    """
    from bfs_pipeline import support_need

    if events.empty or int(events["event_id"].nunique()) < SKEW_MIN_EVENTS:
        return []
    now = shown(index, county)
    now = now[now["wave"] == period].sort_values(["index", "municipality"], ascending=[False, True], kind="stable")
    if len(now) < SKEW_MIN_SHOWN:
        return []
    _ = i18n.translator(lang)
    hours = (events["hours"] * events["weight"]).groupby(events["municipality"]).sum()
    codes = [str(c) for c in now["municipality"]]
    got = {c: float(hours.get(c, 0.0)) for c in codes}
    total = sum(got.values())
    if total <= 0:
        return []
    half = len(codes) // 2
    upper, lower = codes[:half], codes[-half:]
    need = dict(zip(codes, (float(v) for v in now["index"]), strict=True))
    lower_share = sum(got[c] for c in lower) / total
    upper_share = sum(got[c] for c in upper) / total
    upper_need = sum(need[c] for c in upper) / sum(need.values())
    if not (lower_share > 0.5 and upper_share < upper_need):
        return []
    quarters = support_need.window(period)
    n_events = int(events["event_id"].nunique())
    return [
        {
            "kind": "support_skew",
            "municipality": None,
            "indicator": "support",
            "values": {
                "lower": lower,
                "upper": upper,
                "lower_share_hours": lower_share,
                "upper_share_hours": upper_share,
                "upper_share_need": upper_need,
                "hours": total,
                "events": n_events,
                "quarters": quarters,
                "min_events": SKEW_MIN_EVENTS,
            },
            "title": _("Stödet går mest till kommunerna med minst behov"),
            "message": _(
                "Stödet går mest till kommunerna med minst behov: under {quarters} gick {lower_share} av "
                "stödtimmarna ({hours} timmar, {events} tillfällen) till {lower}, hälften med minst behov. "
                "{upper}, hälften med störst behov, fick {upper_share} av timmarna mot {upper_need} av behovet."
            ).format(
                quarters=i18n.fmt_list(quarters, lang),
                lower_share=i18n.fmt_pct(lower_share, lang),
                hours=i18n.fmt_num(total, lang, 1),
                events=i18n.fmt_int(n_events, lang),
                lower=i18n.fmt_list([names.get(c, c) for c in lower], lang),
                upper=i18n.fmt_list([names.get(c, c) for c in upper], lang),
                upper_share=i18n.fmt_pct(upper_share, lang),
                upper_need=i18n.fmt_pct(upper_need, lang),
            ),
        }
    ]
