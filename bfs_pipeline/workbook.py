"""The report's XLSX attachment as the coordinator opens it in Excel: every table in full, one sheet each.

Headers and sheet names are in the report's language (gettext, Swedish msgids); numbers are stored as numbers with
Excel number formats (shares as 0..1 shown as percent, FTE with one decimal, changes and gaps in whole percentage
points); a cell hidden for privacy holds "–" and a cell with nothing to show is empty, as the symbols sheet says.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from babel.numbers import NumberFormatError, parse_decimal

from bfs_pipeline import i18n, metrics, sections, support_need
from bfs_pipeline.export import Column, NumberFormat, Sheet, write_workbook

if TYPE_CHECKING:
    from collections.abc import Callable

    from bfs_pipeline.report import ReportData

SUPPRESSED = i18n.SUPPRESSED
F = NumberFormat
CAPACITY_NUMBERS = {"fte": F.ONE_DECIMAL, "fte_10k": F.TWO_DECIMALS, "meetings": F.INTEGER}
CAPACITY_ORDER = (
    "fte",
    "fte_10k",
    "combined",
    "council",
    "meetings",
    "lagesbild",
    "atgardsplan",
    "samordning",
    "agreement",
    "promises",
)


def capacity_headers(_: Callable[[str], str]) -> dict[str, str]:
    """The capacity sheet's headers by the capacity rows' keys."""
    return {
        "fte": _("Årsarbetskrafter"),
        "fte_10k": _("Årsarbetskrafter per 10 000 invånare"),
        "combined": _("Samordnaruppdraget kombinerat med"),
        "council": _("Lokalt brottsförebyggande råd"),
        "meetings": _("Rådets möten under kvartalet"),
        "lagesbild": _("Lägesbild"),
        "atgardsplan": _("Åtgärdsplan"),
        "samordning": _("Samordningsfunktion"),
        "agreement": _("Samverkansöverenskommelse med Polisen"),
        "promises": _("Medborgarlöften"),
    }


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def share(v: Any) -> float | None:
    """A share 0..1 as stored (rounded to 4 places), shown as percent by the column's format."""
    return None if missing(v) else round(float(v), 4)


def points(v: Any) -> int | None:
    """A difference of two shares in whole percentage points (0.03 → 3)."""
    return None if missing(v) else round(float(v) * 100)


def hidden_or(value: Any, suppressed: Any) -> Any:
    """The value, or "–" where the cell is hidden for privacy."""
    return SUPPRESSED if bool(suppressed) else value


def number(value: Any, lang: str) -> float | None:
    """A capacity figure as a number, whether given as one or as the body's text ("2,50", "–")."""
    if missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not text or text == SUPPRESSED:
        return None
    try:
        return float(parse_decimal(text, locale=i18n.babel_locale(lang), strict=False))
    except NumberFormatError:
        return None


def municipality_order(data: ReportData) -> dict[str, int]:
    """The report's one order (`ReportData.order`: need index highest first, hidden ones last), the county first."""
    return {data.county: 0} | {m.code: i for i, m in enumerate(data.order, start=1)}


def _rank(order: dict[str, int]) -> Callable[[Any], int]:
    return lambda code: order.get(str(code), len(order))


def needs_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """The period's share answering 4–5 per municipality and need, with its changes and its gap to the county."""
    previous, year_ago = metrics.prev_wave(data.period), metrics.prev_wave(data.period, 4)
    now = data.table[data.table["wave"] == data.period]
    county = {
        r.item: r.share_high for r in now[now["municipality"] == data.county].itertuples() if not bool(r.suppressed)
    }
    items = {item: i for i, item in enumerate(data.items)}
    now = now.assign(
        _m=now["municipality"].map(_rank(order)),
        _i=now["item"].map(lambda i: items.get(i, len(items))),
    ).sort_values(["_m", "_i"])
    rows = []
    for r in now.itertuples():
        own = r.municipality == data.county
        values = [
            None if missing(r.n) else int(r.n),
            share(r.share_high),
            None if missing(r.mean) else round(float(r.mean), 2),
            points(r.q_change),
            points(r.y_change),
            None if own else points(r.share_high - county.get(r.item, math.nan)),
        ]
        rows.append(
            [
                r.wave,
                r.municipality,
                data.names.get(r.municipality, r.municipality),
                data.labels.get(r.item, r.item),
                *[hidden_or(v, r.suppressed) for v in values],
            ]
        )
    pp = _("procentenheter")
    columns = [
        Column(_("Kvartal")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Behov")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Andel som svarat 4–5"), F.PERCENT),
        Column(_("Medelvärde (1–5)"), F.ONE_DECIMAL),
        Column(_("Förändring mot {wave} ({unit})").format(wave=previous, unit=pp), F.POINTS),
        Column(_("Förändring mot {wave} ({unit})").format(wave=year_ago, unit=pp), F.POINTS),
        Column(_("Skillnad mot hela länet ({unit})").format(unit=pp), F.POINTS),
    ]
    return Sheet(_("Behov per kommun"), columns, rows)


def index_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """The need index per municipality over the history waves."""
    index = data.index[data.index["wave"].isin(data.history)]
    index = index.assign(_m=index["municipality"].map(_rank(order))).sort_values(["wave", "_m"])
    rows = [
        [
            r.wave,
            r.municipality,
            data.names.get(r.municipality, r.municipality),
            hidden_or(None if missing(r.n) else int(r.n), r.suppressed),
            hidden_or(share(r.index), r.suppressed),
        ]
        for r in index.itertuples()
    ]
    columns = [
        Column(_("Kvartal")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Behovsindex (andel 4–5 av alla behovssvar)"), F.PERCENT),
    ]
    return Sheet(_("Behovsindex"), columns, rows)


def spread_sheet(data: ReportData, _: Callable[[str], str]) -> Sheet:
    """Per wave and need, over the municipalities shown: the greatest need, the median, the least need, the gap."""
    table = data.table[data.table["wave"].isin(data.history)]
    spread = metrics.county_spread(table, data.county)
    items = {item: i for i, item in enumerate(data.items)}
    spread = spread.assign(_i=spread["item"].map(lambda i: items.get(i, len(items)))).sort_values(["wave", "_i"])
    rows = [
        [
            r.wave,
            data.labels.get(r.item, r.item),
            int(r.municipalities),
            share(r.max),
            data.names.get(r.max_municipality, r.max_municipality),
            share(r.median),
            share(r.floor),
            data.names.get(r.floor_municipality, r.floor_municipality),
            points(r.gap),
        ]
        for r in spread.itertuples()
    ]
    columns = [
        Column(_("Kvartal")),
        Column(_("Behov")),
        Column(_("Antal kommuner som räknas"), F.INTEGER),
        Column(_("Störst behov (andel 4–5)"), F.PERCENT),
        Column(_("Kommun med störst behov")),
        Column(_("Median (andel 4–5)"), F.PERCENT),
        Column(_("Minst behov (andel 4–5)"), F.PERCENT),
        Column(_("Kommun med minst behov")),
        Column(_("Spridning ({unit})").format(unit=_("procentenheter")), F.INTEGER),
    ]
    return Sheet(_("Spridning"), columns, rows)


def coverage_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """Who answered in the period against the roster, per municipality and sector, with the change on last quarter."""
    sectors = list(data.survey.sectors)
    prev = {(r.municipality, r.sector): r.rate for r in data.coverage_prev.itertuples()}
    cov = data.coverage.assign(
        _m=data.coverage["municipality"].map(_rank(order)),
        _s=data.coverage["sector"].map(lambda s: sectors.index(s) if s in sectors else len(sectors)),
    ).sort_values(["_m", "_s"])
    rows = []
    for r in cov.itertuples():
        label = data.survey.sectors.get(r.sector, {})
        rows.append(
            [
                data.period,
                r.municipality,
                data.names.get(r.municipality, r.municipality),
                label.get(data.lang) or label.get("sv") or r.sector,
                int(r.expected),
                int(r.answered),
                share(r.rate),
                points(r.rate - prev.get((r.municipality, r.sector), math.nan)),
                "; ".join(r.missing),
            ]
        )
    pp = _("procentenheter")
    columns = [
        Column(_("Kvartal")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Sektor")),
        Column(_("Förväntade organisationer"), F.INTEGER),
        Column(_("Organisationer som svarat"), F.INTEGER),
        Column(_("Svarsandel"), F.PERCENT),
        Column(_("Förändring mot {wave} ({unit})").format(wave=metrics.prev_wave(data.period), unit=pp), F.POINTS),
        Column(_("Har inte svarat")),
    ]
    return Sheet(_("Täckning"), columns, rows)


def capacity_sheet(data: ReportData, capacity: list[dict[str, Any]], _: Callable[[str], str]) -> Sheet:
    """The municipalities' own figures, in the capacity section's order; no answer is an empty cell."""
    keys = [k for k in CAPACITY_ORDER if capacity and k in capacity[0]]
    by_name = {m.name: m for m in data.munis}
    rows = []
    for r in capacity:
        m = by_name.get(r["name"])
        fte = number(r.get("fte_value", r.get("fte")), data.lang)
        values: list[Any] = [m.code if m else None, r["name"]]
        for k in keys:
            if k == "fte":
                values.append(fte)
            elif k == "fte_10k" and m is not None and data.population.get(m.code, (0, 0))[0] and fte is not None:
                values.append(round(fte / data.population[m.code][0] * 10_000, 4))
            elif k in CAPACITY_NUMBERS:
                values.append(number(r.get(k), data.lang))
            else:
                values.append(None if missing(r.get(k)) or r.get(k) in ("", SUPPRESSED) else str(r[k]))
        inhabitants, year = data.population.get(m.code, (None, None)) if m is not None else (None, None)
        rows.append([*values, inhabitants, year])
    headers = capacity_headers(_)
    columns = [
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        *[Column(headers[k], CAPACITY_NUMBERS.get(k, F.GENERAL)) for k in keys],
        Column(_("Folkmängd (SCB)"), F.INTEGER),
        Column(_("Folkmängdens år"), F.INTEGER),
    ]
    return Sheet(_("Kapacitet"), columns, rows)


def _met_word(value: Any, _: Callable[[str], str]) -> str:
    """A requirement met, not met, or not known, as a word."""
    if value is None or missing(value):
        return _("Okänt")
    return _("Ja") if bool(value) else _("Nej")


def law_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """ "Lagens krav": per municipality and requirement, the current status, whether it is met, the wave it was last
    reported and since when it has been met or not; whether all three are met now and a year before."""
    labels = sections.law_labels(data.lang)
    t = data.law
    reqs = list(labels)
    t = t.assign(
        _m=t["municipality"].map(_rank(order)), _r=t["requirement"].map(lambda r: reqs.index(r) if r in reqs else 9)
    ).sort_values(["_m", "_r"])
    rows = []
    for r in t.itertuples():
        reported = not missing(r.code)
        rows.append(
            [
                r.municipality,
                data.names.get(r.municipality, r.municipality),
                labels.get(r.requirement, r.requirement),
                sections.choice_label(data, r.question, str(r.code)) if reported else None,
                _met_word(r.met, _) if reported else None,
                r.wave if reported else None,
                r.since if reported and not missing(r.since) else None,
                _met_word(r.all_met, _),
                _met_word(r.all_met_year_ago, _),
            ]
        )
    columns = [
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Krav")),
        Column(_("Senaste svar")),
        Column(_("Uppfyllt")),
        Column(_("Senast rapporterat")),
        Column(_("Uppfyllt eller inte sedan")),
        Column(_("Uppfyller alla tre")),
        Column(_("Uppfyllde alla tre {wave}").format(wave=data.year_ago)),
    ]
    return Sheet(_("Lagens krav"), columns, rows)


def maturity_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """The maturity index (K12a–e, share answering 4–5) per municipality over the history waves, with its changes."""
    t = data.maturity
    t = t.assign(_m=t["municipality"].map(_rank(order))).sort_values(["wave", "_m"])
    rows = [
        [
            r.wave,
            r.municipality,
            data.names.get(r.municipality, r.municipality),
            *[hidden_or(v, r.suppressed) for v in (int(r.n), share(r.index), points(r.q_change), points(r.y_change))],
        ]
        for r in t.itertuples()
    ]
    pp = _("procentenheter")
    columns = [
        Column(_("Kvartal")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Processmognad (andel 4–5 av alla svar om stegen)"), F.PERCENT),
        Column(_("Förändring mot föregående kvartal ({unit})").format(unit=pp), F.POINTS),
        Column(_("Förändring mot samma kvartal förra året ({unit})").format(unit=pp), F.POINTS),
    ]
    return Sheet(_("Processmognad"), columns, rows)


def steps_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """Each step of the process (K12a–e) per municipality: n and the share answering 4–5, this quarter and the last."""
    labels = sections.step_labels(data.lang)
    steps = list(labels)
    t = data.maturity_steps
    t = t.assign(
        _m=t["municipality"].map(_rank(order)), _s=t["item"].map(lambda i: steps.index(i) if i in steps else 9)
    ).sort_values(["wave", "_m", "_s"])
    rows = [
        [
            r.wave,
            r.municipality,
            data.names.get(r.municipality, r.municipality),
            labels.get(r.item, r.item),
            hidden_or(int(r.n), r.suppressed),
            hidden_or(share(r.share_high), r.suppressed),
        ]
        for r in t.itertuples()
    ]
    columns = [
        Column(_("Kvartal")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Steg")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Andel som svarat 4–5"), F.PERCENT),
    ]
    return Sheet(_("Processens steg"), columns, rows)


def views_sheet(data: ReportData, _: Callable[[str], str], order: dict[str, int]) -> Sheet:
    """How the other sectors see each municipality: per sector, municipality and item, the share answering 4–5 in
    the period or pooled over the last quarters, with n; hidden cells as –."""
    labels = sections.view_labels(data.lang)
    sectors = list(sections.VIEWS)
    t = data.views
    t = t.assign(
        _s=t["sector"].map(lambda s: sectors.index(s) if s in sectors else 9), _m=t["municipality"].map(_rank(order))
    ).sort_values(["_s", "_m"], kind="stable")
    rows = []
    for r in t.itertuples():
        label = data.survey.sectors.get(r.sector, {})
        rows.append(
            [
                data.period,
                label.get(data.lang) or label.get("sv") or r.sector,
                r.municipality,
                data.names.get(r.municipality, r.municipality),
                labels.get(r.item) or r.item,
                r.item,
                sections.pool_label(data, bool(r.pooled)),
                hidden_or(int(r.n), r.suppressed),
                hidden_or(share(r.share_high), r.suppressed),
            ]
        )
    columns = [
        Column(_("Kvartal")),
        Column(_("Sektor")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Fråga")),
        Column(_("Frågans id")),
        Column(_("Underlag")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Andel som svarat 4–5"), F.PERCENT),
    ]
    return Sheet(_("Andras syn på kommunen"), columns, rows)


def satisfaction_sheet(data: ReportData, _: Callable[[str], str]) -> Sheet:
    """C04 per sector and for all sectors at county level, this quarter and the last: n and the share satisfied."""
    sectors = list(data.survey.sectors)
    t = data.satisfaction
    t = t.assign(_s=t["municipality"].map(lambda s: sectors.index(s) if s in sectors else len(sectors))).sort_values(
        ["wave", "_s"]
    )
    rows = []
    for r in t.itertuples():
        label = data.survey.sectors.get(r.municipality)
        name = (label.get(data.lang) or label["sv"]) if label else _("Alla sektorer")
        rows.append([r.wave, name, hidden_or(int(r.n), r.suppressed), hidden_or(share(r.share_high), r.suppressed)])
    columns = [
        Column(_("Kvartal")),
        Column(_("Sektor")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Andel nöjda (4–5)"), F.PERCENT),
    ]
    return Sheet(_("Nöjdhet med stödet"), columns, rows)


def network_sheet(data: ReportData, _: Callable[[str], str]) -> Sheet:
    """The organisations that want to join the regional network (C03 = Ja) in the period: name and municipalities."""
    rows = [
        [
            data.period,
            r.name,
            sections.network_names(data, r.municipalities),
            _("Ja") if r.in_roster else _("Nej"),
        ]
        for r in data.network.itertuples()
    ]
    columns = [
        Column(_("Kvartal")),
        Column(_("Organisationens namn")),
        Column(_("Kommun")),
        Column(_("I aktörsregistret")),
    ]
    return Sheet(_("Regionalt nätverk"), columns, rows)


def support_sheet(data: ReportData, _: Callable[[str], str]) -> Sheet:
    """ "Stöd och behov": per municipality the period's need index (hidden as in the report) beside the support
    events and hours of the period and the quarter before, per 10 000 inhabitants, and the shares of hours and need
    among the municipalities shown (support_need)."""
    t = data.support_need
    rows = [
        [
            r.municipality,
            data.names.get(r.municipality, r.municipality),
            hidden_or(None if r.n is None or missing(r.n) else int(r.n), missing(r.index)),
            hidden_or(share(r.index), missing(r.index)),
            int(r.events),
            round(float(r.hours), 2),
            None if missing(r.inhabitants) else int(r.inhabitants),
            None if missing(r.pop_year) else int(r.pop_year),
            None if missing(r.events_10k) else round(float(r.events_10k), 2),
            None if missing(r.hours_10k) else round(float(r.hours_10k), 2),
            share(r.share_hours),
            share(r.share_need),
        ]
        for r in t.itertuples()
    ]
    quarters = i18n.fmt_list(support_need.window(data.period), data.lang)
    columns = [
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Behovsindex (andel 4–5 av alla behovssvar)"), F.PERCENT),
        Column(_("Stödtillfällen {quarters}").format(quarters=quarters), F.INTEGER),
        Column(_("Stödtimmar {quarters}").format(quarters=quarters), F.ONE_DECIMAL),
        Column(_("Folkmängd"), F.INTEGER),
        Column(_("Folkmängd år"), F.INTEGER),
        Column(_("Stödtillfällen per 10 000 invånare"), F.TWO_DECIMALS),
        Column(_("Stödtimmar per 10 000 invånare"), F.TWO_DECIMALS),
        Column(_("Andel av stödtimmarna (bland kommuner som visas)"), F.PERCENT),
        Column(_("Andel av behovet (behovsindex delat med summan)"), F.PERCENT),
    ]
    return Sheet(_("Stöd och behov"), columns, rows)


def support_need_sheet(data: ReportData, _: Callable[[str], str]) -> Sheet:
    """ "Stöd per behov": per need and municipality the support hours and events for the need, the hours of the kinds
    that answer it (support_need.NEED_KINDS), and the period's share answering 4–5 (hidden as in the report)."""
    t = data.support_by_need
    rows = [
        [
            r.item,
            data.labels.get(r.item, r.item),
            r.municipality,
            data.names.get(r.municipality, r.municipality),
            int(r.events),
            round(float(r.hours), 2),
            round(float(r.fit_hours), 2),
            support_need.kinds_label(r.item, data.lang),
            hidden_or(None if r.n is None or missing(r.n) else int(r.n), r.suppressed),
            hidden_or(share(r.share_high), r.suppressed),
        ]
        for r in t.itertuples()
    ]
    columns = [
        Column(_("Behov (fråga)")),
        Column(_("Behov")),
        Column(_("Kommunkod"), F.TEXT),
        Column(_("Kommun")),
        Column(_("Stödtillfällen"), F.INTEGER),
        Column(_("Stödtimmar"), F.ONE_DECIMAL),
        Column(_("Stödtimmar av typ som svarar mot behovet"), F.ONE_DECIMAL),
        Column(_("Typer som räknas")),
        Column(_("Antal svarande (n)"), F.INTEGER),
        Column(_("Andel 4–5"), F.PERCENT),
    ]
    return Sheet(_("Stöd per behov"), columns, rows)


def symbols(data: ReportData, _: Callable[[str], str]) -> list[tuple[str, str]]:
    """Every symbol the sheets use, and the terms their headers use."""
    return [
        (
            SUPPRESSED,
            _(
                "Dolt av integritetsskäl: färre än {min_n} svarande, eller dolt för att en annan dold cell "
                "inte ska kunna räknas fram ur länets siffror."
            ).format(min_n=metrics.MIN_N),
        ),
        (
            _("(tom cell)"),
            _(
                "Inget att visa: inget svar, inget att jämföra med (inga svar eller dolda siffror det kvartalet), "
                "eller en median av färre än {min_median} kommuner. Hela länets rad jämförs inte med sig själv."
            ).format(min_median=metrics.MIN_MEDIAN),
        ),
        (_("Förändring: +3, -3, 0"), _("Ökning, minskning eller oförändrat, i hela procentenheter.")),
        (
            _("procentenheter"),
            _("Skillnaden mellan två andelar: från 40 % till 43 % är +3 procentenheter (inte +3 %)."),
        ),
        (
            _("Andel som svarat 4–5"),
            _(
                "Andelen svarande som angav 4 (stort behov) eller 5 (mycket stort behov) på skalan 1–5. "
                "”Vet ej” räknas inte."
            ),
        ),
        (_("Antal svarande (n)"), _("Svarande som räknas; den som svarat ”Vet ej” räknas inte i den frågan.")),
        (
            _("Behovsindex"),
            _(
                "Andelen 4–5 av kommunens behovssvar, alla behovsfrågor tillsammans; ett behov som är dolt för "
                "kommunen räknas inte med, så att det inte kan räknas fram."
            ),
        ),
        (
            _("Spridning"),
            _("Skillnaden mellan kommunen med störst och kommunen med minst behov, bland de kommuner som visas."),
        ),
        (_("Kvartal"), _("Enkätomgången, till exempel {period}.").format(period=data.period)),
        (
            _("Processmognad"),
            _(
                "Andelen 4–5 (i hög eller mycket hög grad) av alla kommunens svar om processens fem steg: "
                "kartläggning, orsaksanalys, val av åtgärder, genomförande och uppföljning. "
                "Den lägsta nivån är den som ska höjas."
            ),
        ),
        (
            _("poolat"),
            _(
                "Färre än {min_n} organisationer svarade under kvartalet, så de senaste {quarters} kvartalen slås "
                "ihop; varje organisation räknas en gång, med sitt senaste svar."
            ).format(min_n=metrics.MIN_N, quarters=sections.POOL),
        ),
        (
            _("Okänt"),
            _("Kommunen har inte svarat på frågan, eller svarat ”Vet ej”. Lagens krav gäller tills nästa svar."),
        ),
    ]


def alerts_sheet(alerts: list[dict[str, Any]], _: Callable[[str], str]) -> Sheet:
    """ "Varningar": every alert of the report (the body shows the first max_rows), in the report's order."""
    rows = [
        [
            str(a.get("kind", "")),
            (a.get("municipality") or {}).get("name", ""),
            str(a.get("indicator") or ""),
            str(a.get("message", "")),
        ]
        for a in alerts
    ]
    columns = [Column(_("Slag")), Column(_("Kommun")), Column(_("Indikator")), Column(_("Varning"))]
    return Sheet(_("Varningar"), columns, rows)


def workbook_section(
    data: ReportData, capacity: list[dict[str, Any]], alerts: list[dict[str, Any]] | None = None
) -> bytes:
    """The attachment: every municipality's needs, need index, spread, coverage and capacity, the law's
    requirements, process maturity and its steps, the other sectors' view, satisfaction with the support and the
    regional network's list, and where a support log is given the support against need (two sheets); hidden cells
    as –."""
    _ = i18n.translator(data.lang)
    order = municipality_order(data)
    sheets = [
        *([alerts_sheet(alerts, _)] if alerts else []),
        needs_sheet(data, _, order),
        index_sheet(data, _, order),
        spread_sheet(data, _),
        coverage_sheet(data, _, order),
        capacity_sheet(data, capacity, _),
        law_sheet(data, _, order),
        maturity_sheet(data, _, order),
        steps_sheet(data, _, order),
        views_sheet(data, _, order),
        satisfaction_sheet(data, _),
        network_sheet(data, _),
    ]
    if data.support is not None and not data.support.empty:
        sheets += [support_sheet(data, _), support_need_sheet(data, _)]
    title = _("Behovsrapport {county} {period}").format(county=data.county_name, period=data.period)
    return write_workbook(
        sheets,
        symbols(data, _),
        title,
        symbols_sheet=_("Teckenförklaring"),
        symbols_header=(_("Tecken"), _("Betydelse")),
    )
