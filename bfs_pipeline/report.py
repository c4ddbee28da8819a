"""The quarterly needs report: numbers from metrics, words from Jinja2 templates, an e-mail message to send.

`report_data` computes once what every section reads (`ReportData`); each section is a function of it, and
`build_report` composes them and renders. A new section arrives as a new function and a line in `build_report`.
The words are gettext messages (Swedish msgids, English in the catalogue): `_()` here and `{{ _() }}` in the
templates, rendered by one Jinja2 environment per language (i18n.environment).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from bfs_pipeline import alerts as alerting
from bfs_pipeline import charts as charting
from bfs_pipeline import i18n, levels, metrics, reference, sections, support_need, workbook
from bfs_pipeline.errors import ReportError
from bfs_pipeline.i18n import SUPPRESSED, fmt_change, fmt_int, fmt_num, fmt_pct, missing
from bfs_pipeline.outreach import matching
from bfs_pipeline.resources import templates_dir
from bfs_pipeline.survey import Survey

NEED_PREFIX = {"sv": "Behov av stöd: ", "en": "Need of support: "}
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CAPACITY = {
    "fte": "K04",
    "combined": "K05",
    "council": "K06",
    "meetings": "K07",
    "lagesbild": "K01",
    "atgardsplan": "K02",
    "samordning": "K03",
    "agreement": "K10",
    "promises": "K11",
}
CAPACITY_FUNCTIONS = ("lagesbild", "atgardsplan", "samordning", "agreement", "promises")  # counted in the county line
HISTORY = 8
CHARTS_BESIDE_FROM = 20_000  # answers up to the period from which the charts are drawn in a second process
NEED_WAVES = HISTORY + 4  # waves the need table and index cover: the history, and a year before its first (changes)
MAX_COLS = 6  # municipalities side by side in the needs table (a phone shows about that many); the workbook has all
STANDS_OUT = 10  # a municipality's share this many percentage points or more above the county's is marked
MAX_ACTIONS = 3  # needs named per municipality in "what the numbers point to", the highest first
POP_YEAR = 2016  # the shipped population figures' year (reference data); build_report takes newer ones
__all__ = [
    "Capacity",
    "Coverage",
    "NeedsTable",
    "Report",
    "ReportData",
    "actions_section",
    "alerts_section",
    "build_report",
    "capacity_labels",
    "capacity_section",
    "charts_section",
    "coverage_section",
    "fmt_change",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "history_section",
    "median_notes_section",
    "message_id",
    "needs_section",
    "page_context",
    "report_data",
    "spread_section",
    "summary_section",
    "write_report",
]


@dataclass
class Report:
    """A rendered report: its parts, what it says, and the hash of the data it was built from."""

    survey_id: str
    period: str
    lang: str
    subject: str
    html: str
    text: str
    summary: list[str]
    alerts: list[dict[str, Any]]
    data_hash: str
    charts: list[charting.Chart] = field(default_factory=list)
    xlsx: bytes = b""
    xlsx_name: str = "behovsrapport.xlsx"
    coverage_rate: float | None = None
    files: dict[str, str] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    def message(self, sender: str, recipient: str) -> EmailMessage:
        """mixed → alternative(text, related(html, PNGs)) + the XLSX; a Message-ID stable per report and recipient."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = message_id(self.survey_id, self.period, self.lang, recipient, sender)
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        html_part: EmailMessage = msg.get_payload()[1]  # type: ignore[index,assignment]
        for chart in self.charts:
            cid = f"<{chart.cid}>"
            html_part.add_related(chart.png, "image", "png", cid=cid, disposition="inline", filename=chart.filename)
        if self.xlsx:
            msg.add_attachment(self.xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=self.xlsx_name)
        msg["Content-Language"] = self.lang  # after the parts: set_content clears the Content-* headers
        return msg


def message_id(survey_id: str, period: str, lang: str, recipient: str, sender: str) -> str:
    digest = hashlib.sha256(f"{survey_id}|{period}|{lang}|{recipient.strip().lower()}".encode()).hexdigest()[:24]
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    return f"<bfs.{survey_id}.{period}.{digest}@{domain}>"


def item_label(survey: Survey, item: str, lang: str) -> str:
    title = survey.question(item).title(lang)
    prefix = NEED_PREFIX.get(lang, "")
    title = title[len(prefix) :] if title.startswith(prefix) else title
    return title[:1].upper() + title[1:]


def short_label(label: str) -> str:
    """A need's label for a sentence: without its trailing example in parentheses, lower-cased first letter."""
    short = re.sub(r"\s*\([^)]*\)\s*$", "", label) or label
    return short[:1].lower() + short[1:]


def _environment(lang: str = i18n.SOURCE) -> Any:
    """The templates' Jinja2 environment with `lang`'s catalogue installed; one per language (i18n.environment)."""
    return i18n.environment(str(templates_dir()), lang)


def need_items(survey: Survey) -> list[str]:
    """The needs battery: the core's Likert questions on the need scale (B01–B09 in the default survey)."""
    return [q.id for q in survey.core if q.type == "likert" and q.scale == "NEED5"]


def municipality_question(survey: Survey) -> str:
    return next(q.id for q in survey.core if q.type == "municipalities")


def _label(survey: Survey, qid: str, value: Any, lang: str) -> str:
    """Codes to labels for display; lists joined."""
    if value is None:
        return SUPPRESSED
    try:
        q = survey.question(qid)
    except Exception:
        return str(value)
    labels = {c.code: c.label(lang) for c in q.choices}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))


def _changes(table: pd.DataFrame) -> pd.DataFrame:
    """Quarter-on-quarter and year-on-year change of the share answering 4–5."""
    keys = ["municipality", "item"]
    t = metrics.with_change(table, keys, "share_high", back=1)
    t = t.rename(columns={"share_high_prev": "q_prev", "share_high_change": "q_change"})
    y = metrics.with_change(table, keys, "share_high", back=4)[[*keys, "wave", "share_high_change"]]
    return t.merge(y.rename(columns={"share_high_change": "y_change"}), on=[*keys, "wave"], how="left")


def capacity_labels(lang: str) -> dict[str, str]:
    """The capacity figures' short labels by the capacity rows' keys, as the page's columns and county line say them."""
    _ = i18n.translator(lang)
    return {
        "fte": _("Årsarb."),
        "fte_10k": _("Per 10 000"),
        "combined": _("Kombinerad roll"),
        "council": _("Lokalt råd"),
        "meetings": _("Möten (kv)"),
        "lagesbild": _("Lägesbild"),
        "atgardsplan": _("Åtgärdsplan"),
        "samordning": _("Samordningsfunktion"),
        "agreement": _("Samverkansöverenskommelse"),
        "promises": _("Medborgarlöften"),
    }


@dataclass(frozen=True)
class ReportData:
    """What the sections read, computed once per report. County rows in the tables carry the county code."""

    survey: Survey
    period: str
    lang: str
    generated: dt.date
    county: str  # the county's code
    county_name: str
    munis: list[reference.Municipality]  # the county's municipalities, in reference order
    shown: list[reference.Municipality]  # side by side in the needs table: the first MAX_COLS of `order`
    names: dict[str, str]  # municipality and county codes to names
    items: list[str]  # the needs battery
    labels: dict[str, str]  # item to its label in lang
    mq: str  # the municipality question
    respondents: int  # answers in the period
    responses: pd.DataFrame  # answers up to the period, every wave (the law's status carries forward)
    roster: pd.DataFrame  # the county's own actors; empty without a roster
    # table and index: the last NEED_WAVES waves up to the period
    table: pd.DataFrame  # per municipality, wave, item: n, share_high, suppressed (also secondary), q_change, y_change
    index: pd.DataFrame  # per municipality, wave: n, answers, index (share of 4–5 in the need cells shown), suppressed
    coverage: pd.DataFrame  # roster coverage per municipality and sector in the period
    coverage_prev: pd.DataFrame  # the same in the quarter before
    alert_coverage: float = 0.5
    max_rows: int = 20
    population: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # code -> (inhabitants, year)
    support: pd.DataFrame | None = None  # the support log's rows (support.events); None: no log given

    @cached_property
    def support_window(self) -> pd.DataFrame:
        """The support log's rows of the period and the quarter before (support_need.in_window), once per report."""
        return support_need.in_window(self.support, self.period)

    @cached_property
    def support_need(self) -> pd.DataFrame:
        """Need index beside the support given, per municipality (support_need.support_table), once per report."""
        return support_need.support_table(self)

    @cached_property
    def support_by_need(self) -> pd.DataFrame:
        """Support per need and municipality (support_need.by_need_table), once per report."""
        return support_need.by_need_table(self)

    @cached_property
    def order(self) -> list[reference.Municipality]:
        """The one municipality order of the report: the period's need index, highest first; hidden ones last.
        Sorted once per report (the sections, the charts and the workbook all read it)."""
        return _highest_need_first(self.index, self.period, self.munis)

    @cached_property
    def views(self) -> pd.DataFrame:
        """How the other sectors see each municipality (sections.views_table), once per report."""
        return sections.views_table(self)

    @cached_property
    def satisfaction(self) -> pd.DataFrame:
        """C04 per sector at county level (sections.satisfaction_table), once per report."""
        return sections.satisfaction_table(self)

    @cached_property
    def law_answers(self) -> pd.DataFrame:
        """The municipalities' answers that report one of K01–K03 (sections.law_answers), once per report."""
        return sections.law_answers(self)

    @cached_property
    def law_history(self) -> pd.DataFrame:
        """Every K01–K03 status reported, per municipality, requirement and wave (levels.law_history), once per
        report: the Lagens krav section and the law-floor and vacancy alerts read it."""
        return levels.law_history(self.law_answers, self.mq, self.county)

    @cached_property
    def law(self) -> pd.DataFrame:
        """K01–K03 per municipality now and a year before (sections.law_table), once per report."""
        return sections.law_table(self)

    @cached_property
    def maturity(self) -> pd.DataFrame:
        """The maturity index over the history waves (sections.maturity_table), once per report."""
        return sections.maturity_table(self)

    @cached_property
    def maturity_figures(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The maturity index and K12a–e per municipality, wave and step over the history waves
        (sections.maturity_figures), once per report: the index pools the steps' cells shown."""
        return sections.maturity_figures(self)

    @cached_property
    def maturity_steps(self) -> pd.DataFrame:
        """K12a–e per municipality and step (sections.maturity_steps_table), once per report."""
        return sections.maturity_steps_table(self)

    @cached_property
    def network(self) -> pd.DataFrame:
        """Who wants to join the regional network (sections.network_table), once per report."""
        return sections.network_table(self)

    @property
    def detail_rows(self) -> int:
        """Rows in the body for the sections that detail each municipality beyond the needs (capacity, the law, process
        maturity, the other sectors' view, support): half of max_rows, so that the body stays under 100 KB with many
        municipalities; the attachment has them all."""
        return max(1, self.max_rows // 2)

    @property
    def previous(self) -> str:
        return metrics.prev_wave(self.period)

    @property
    def year_ago(self) -> str:
        return metrics.prev_wave(self.period, 4)

    @property
    def history(self) -> list[str]:
        """The waves the charts, the history table and the workbook cover, the period last."""
        return metrics.wave_range(self.period, HISTORY)


def default_population(munis: list[reference.Municipality]) -> dict[str, tuple[int, int]]:
    """The shipped population figures (POP_YEAR) per municipality code: (inhabitants, year)."""
    return {m.code: (m.population, POP_YEAR) for m in munis if m.population}


def report_data(
    survey: Survey,
    responses: pd.DataFrame,
    period: str,
    lang: str = "sv",
    roster: pd.DataFrame | None = None,
    generated: dt.date | None = None,
    alert_coverage: float = 0.5,
    max_rows: int = 20,
    population: Mapping[str, tuple[int, int]] | None = None,
    support: pd.DataFrame | None = None,
) -> ReportData:
    """Build the need table and the need index (the last NEED_WAVES waves) and the roster coverage, once.

    population: municipality code -> (inhabitants, year) for the per-10 000 figures; the shipped POP_YEAR figures
    by default. support: the support log's rows (support.events, at least the period and the quarter before);
    None or empty: the section "Stöd i förhållande till behov" says that no log is imported.
    """
    if lang not in i18n.LANGS:
        raise ReportError(f"Language {lang!r} is not supported: use --lang sv or --lang en.")
    county = survey.county
    county_name = reference.counties()[county].name
    munis = reference.county_municipalities(county)
    in_period = responses[responses["wave"] == period] if not responses.empty else responses
    if in_period.empty:
        waves = sorted(set(responses["wave"])) if not responses.empty else []
        hint = f"the waves with answers are {', '.join(waves)}" if waves else "no answers are stored yet (bfs ingest)"
        raise ReportError(f"No answers for {period}: {hint}.")
    roster = roster if roster is not None else pd.DataFrame()
    if not roster.empty:  # one installation may serve several counties: this report counts its own county's actors
        own = {m.code for m in munis} | {county}
        roster = roster[[set(ms) <= own for ms in roster["municipalities"]]]
    items = need_items(survey)
    mq = municipality_question(survey)
    answered = matching.answered_by(matching.Matcher.from_frame(roster, county), mq)  # as the ingest matches
    upto = responses[responses["wave"] <= period]
    # The need figures over the waves the report shows (older ones are never read): scored once.
    recent = metrics.with_scores(upto[upto["wave"].isin(metrics.wave_range(period, NEED_WAVES))], items)
    per_m = metrics.explode_municipalities(recent, mq, county)  # once: a response naming several counts in each
    whole = metrics.county_rows(recent, mq, county)  # once: the county's figures leave a few county-only answers out
    table = metrics.need_table(recent, items, mq, county, exploded=per_m, whole=whole)
    table = metrics.secondary_suppress(table, county)
    index = metrics.need_index(recent, items, mq, county, exploded=per_m, whole=whole)
    index = metrics.index_over_shown_cells(index, table)  # a hidden cell cannot be worked out from the index
    return ReportData(
        survey=survey,
        period=period,
        lang=lang,
        generated=generated or dt.date.today(),
        county=county,
        county_name=county_name,
        munis=munis,
        shown=_highest_need_first(index, period, munis)[:MAX_COLS],
        names={m.code: m.name for m in munis} | {county: county_name},
        items=items,
        labels={i: item_label(survey, i, lang) for i in items},
        mq=mq,
        respondents=len(in_period),
        responses=upto,
        roster=roster,
        table=_changes(table),
        index=index,
        coverage=metrics.roster_coverage(upto, roster, period, answered),
        coverage_prev=metrics.roster_coverage(upto, roster, metrics.prev_wave(period), answered),
        alert_coverage=alert_coverage,
        max_rows=max_rows,
        population=dict(population) if population is not None else default_population(munis),
        support=support,
    )


def _highest_need_first(
    index: pd.DataFrame,
    period: str,
    munis: list[reference.Municipality],
) -> list[reference.Municipality]:
    """Municipalities by the period's need index, highest first; hidden or missing ones last, in reference order."""
    now = index[index["wave"] == period].set_index("municipality")["index"]

    def key(m: reference.Municipality) -> Any:
        return -(now.get(m.code, -1) if not missing(now.get(m.code)) else -1)

    return sorted(munis, key=key)


def build_report(
    survey: Survey,
    responses: pd.DataFrame,
    period: str,
    lang: str = "sv",
    roster: pd.DataFrame | None = None,
    generated: dt.date | None = None,
    alert_coverage: float = 0.5,
    max_rows: int = 20,
    population: Mapping[str, tuple[int, int]] | None = None,
    support: pd.DataFrame | None = None,
) -> Report:
    """Render the report for one period from the stored responses (and the roster, for coverage).

    population: municipality code -> (inhabitants, year); the shipped POP_YEAR figures by default. support: the
    support log's rows (support.events); None: no log imported, and the section says so.
    """
    data = report_data(
        survey, responses, period, lang, roster, generated, alert_coverage, max_rows, population, support
    )
    _ = i18n.translator(lang)
    with charts_beside(data) as drawn:  # the rest is built while they are drawn
        found = alerts_section(data)
        summary = summary_section(data, found)
        actions = actions_section(data, found)
        needs, coverage, capacity = needs_section(data), coverage_section(data), capacity_section(data)
        ctx = _sections(data, needs, coverage, capacity, found, summary, actions)
        xlsx = workbook.workbook_section(data, capacity.rows, found)
        env = _environment(lang)
        html, text = env.get_template("report.html"), env.get_template("report.txt")
        data_hash = _data_hash(data.responses)
        charts = drawn()
    ctx["charts"] = charts
    return Report(
        survey_id=survey.id,
        period=period,
        lang=lang,
        subject=_("Behovsrapport {county} {period}").format(county=data.county_name, period=period),
        html=html.render(**ctx),
        text=text.render(**ctx),
        summary=summary,
        alerts=found,
        data_hash=data_hash,
        charts=charts,
        xlsx=xlsx,
        xlsx_name=f"behovsrapport-{data.county}-{period}.{lang}.xlsx",
        coverage_rate=coverage.rate,
        actions=actions,
    )


def _sections(
    data: ReportData,
    needs: NeedsTable,
    coverage: Coverage,
    capacity: Capacity,
    found: list[dict[str, Any]],
    summary: list[str],
    actions: list[str],
) -> dict[str, Any]:
    """The templates' context, but the charts."""
    return {
        **page_context(data),
        "needs": needs,
        "spread": spread_section(data),
        "history": history_section(data),
        "median_notes": median_notes_section(data),
        "coverage": coverage,
        "capacity": capacity.rows[: data.detail_rows],
        "capacity_county": capacity.county,
        "summary": summary,
        "alerts": found[: data.detail_rows],  # the body's; all of them in the text, the attachment and --json
        "alerts_all": found,
        "alerts_more": max(0, len(found) - data.detail_rows),
        "actions": actions,
        "law": sections.law_section(data),
        "maturity": sections.maturity_section(data),
        "views": sections.views_section(data),
        "pool_quarters": sections.POOL,
        "satisfaction": sections.satisfaction_section(data),
        "network": sections.network_section(data),
        "support": support_need.support_section(data),
        "support_window": support_need.WINDOW,
        "import_command": support_need.IMPORT_COMMAND,
    }


def page_context(data: ReportData) -> dict[str, Any]:
    """What the page's fixed words are filled with: the heading's values, the waves compared, the limits."""
    return {
        "lang": data.lang,
        "period": data.period,
        "previous": data.previous,
        "year_ago": data.year_ago,
        "county": data.county_name,
        "title": data.survey.title.get(data.lang, data.survey.title["sv"]),
        "generated": i18n.fmt_date(data.generated, data.lang),
        "respondents": fmt_int(data.respondents, data.lang),
        "respondents_n": data.respondents,
        "min_n": metrics.MIN_N,
        "min_median": metrics.MIN_MEDIAN,
        "stands_out": STANDS_OUT,
        "shown": len(data.shown),
        "total": len(data.munis),
        "pop_year": population_years(data),
    }


def population_years(data: ReportData) -> str:
    """The year(s) of the population figures the county's per-10 000 figures use: "2016", or "2023–2024"."""
    years = sorted({data.population[m.code][1] for m in data.munis if m.code in data.population})
    if not years:
        return SUPPRESSED
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def alerts_section(data: ReportData) -> list[dict[str, Any]]:
    """What needs attention: changes (the greatest need rising, the gap widening, coverage under alert_coverage),
    then levels (a standing gap to the county median, capacity fallen, the law's floor, organisations silent two
    quarters in a row: alerts.level_alerts), then the support given against need where a support log has events in
    the period or the quarter before (alerts.support_gap, alerts.support_skew)."""
    changes = alerting.alerts(
        data.index,
        data.coverage,
        data.period,
        data.county,
        data.names,
        data.alert_coverage,
        data.lang,
    )
    standing = alerting.level_alerts(
        data.index,
        data.responses,
        data.coverage,
        data.coverage_prev,
        data.period,
        data.county,
        data.names,
        data.mq,
        data.lang,
        history=data.law_history,
    )
    support = data.support_window
    given = [
        *alerting.support_gap(data.table, support, data.period, data.county, data.names, data.labels, data.lang),
        *alerting.support_skew(data.index, support, data.period, data.county, data.names, data.lang),
    ]
    return [*changes, *standing, *given]


def summary_section(data: ReportData, found: list[dict[str, Any]]) -> list[str]:
    """The summary's sentences: respondents and coverage, the county's level and change, most and least, alerts."""
    return alerting.summary(
        data.index,
        data.coverage,
        data.period,
        data.county,
        data.names,
        data.respondents,
        found,
        data.lang,
    )


def _stand_out(data: ReportData) -> dict[str, list[tuple[str, float]]]:
    """Per municipality: the needs whose share is STANDS_OUT points or more above the county's, highest first.

    Only cells shown in the report count (neither side suppressed); points as printed (whole percentage points).
    """
    now = data.table[data.table["wave"] == data.period]
    now = now[~now["suppressed"].astype(bool)].dropna(subset=["share_high"])
    county = now[now["municipality"] == data.county].set_index("item")["share_high"]
    out: dict[str, list[tuple[str, float]]] = {}
    for r in now[now["municipality"] != data.county].itertuples():
        if r.item in county.index and _above(float(r.share_high), float(county[r.item])):
            out.setdefault(str(r.municipality), []).append((str(r.item), float(r.share_high)))
    return {m: sorted(v, key=lambda x: (-x[1], data.items.index(x[0]))) for m, v in out.items()}


def _above(share: float, county: float) -> bool:
    return i18n.points(share) - i18n.points(county) >= STANDS_OUT  # type: ignore[operator]


def actions_section(data: ReportData, found: list[dict[str, Any]]) -> list[str]:
    """What the numbers point to, per municipality that stands out, in the report's order.

    A municipality stands out with a need STANDS_OUT points or more above the county (the needs table's marks)
    or a low-coverage alert; its sentence names those needs (the MAX_ACTIONS highest, then how many more) and the
    organisations in the roster that have not answered. Nothing else: no advice beyond the figures. Empty when
    nothing stands out.
    """
    _ = i18n.translator(data.lang)
    ngettext = i18n.plural(data.lang)
    lang = data.lang
    high = _stand_out(data)
    low = {a["municipality"]["code"] for a in found if a["kind"] == "low_coverage" and a.get("municipality")}
    out = []
    for m in data.order:
        if m.code not in high and m.code not in low:
            continue
        parts = []
        if m.code in high:
            needs = [
                _("{need} ({share})").format(need=short_label(data.labels[i]), share=fmt_pct(v, lang))
                for i, v in high[m.code][:MAX_ACTIONS]
            ]
            more = len(high[m.code]) - MAX_ACTIONS
            if more > 0:  # the needs table marks them all
                needs.append(ngettext("{n} behov till", "{n} behov till", more).format(n=fmt_int(more, lang)))
            parts.append(_("störst behov av {needs}").format(needs=i18n.fmt_list(needs, lang)))
        cov = data.coverage[data.coverage["municipality"] == m.code] if not data.coverage.empty else data.coverage
        silent = sorted({n for lst in cov["missing"] for n in lst}) if not cov.empty else []
        if silent:
            parts.append(
                ngettext(
                    "{n} organisation har inte svarat: {names}",
                    "{n} organisationer har inte svarat: {names}",
                    len(silent),
                ).format(n=fmt_int(len(silent), lang), names=i18n.fmt_list(silent, lang))
            )
        if parts:
            out.append(_("{name}: {what}.").format(name=m.name, what="; ".join(parts)))
        if len(out) == data.detail_rows:
            break
    return out


def charts_section(data: ReportData) -> list[charting.Chart]:
    """The need index per municipality over the history waves, and the county's greatest need and gap."""
    with charts_beside(data, beside=False) as drawn:
        return drawn()


def charts_beside(
    data: ReportData, beside: bool | None = None
) -> AbstractContextManager[Callable[[], list[charting.Chart]]]:
    """charting.drawn_beside for the report: in a second process from CHARTS_BESIDE_FROM answers up to the period
    (or as `beside` says)."""
    if beside is None:
        beside = len(data.responses) >= CHARTS_BESIDE_FROM
    order = [m.code for m in data.order]
    return charting.drawn_beside(data.index, data.history, data.county, data.names, data.lang, order, beside)


def median_notes_section(data: ReportData) -> list[str]:
    """Why a wave with answers has no county median (fewer than MIN_MEDIAN municipalities shown), one sentence each.

    Waves without any answers are not named: there is nothing to draw there at all.
    """
    answered = set(data.index[data.index["municipality"] == data.county]["wave"])
    waves = [w for w in data.history if w in answered]
    return alerting.median_notes(data.index, data.county, waves, data.lang)


@dataclass(frozen=True)
class NeedsTable:
    """Needs per municipality: one row per need, one cell per shown municipality, and the county's cell."""

    items: list[str]  # the needs' labels, the table's rows
    rows: list[dict[str, Any]]  # per shown municipality: code, name, cells (one per need)
    county_row: dict[str, Any]
    cut: bool  # not all municipalities fit: the workbook has them all
    marked: bool = False  # some cell stands out (STANDS_OUT points or more above the county): the legend explains
    n_varies: bool = False  # n differs between the needs of one municipality ("Vet ej" is not counted)


def _need_cell(now: pd.DataFrame, code: str, item: str, county: float | None, lang: str) -> dict[str, Any]:
    r = now[(now["municipality"] == code) & (now["item"] == item)]
    if r.empty or bool(r.iloc[0]["suppressed"]) or missing(r.iloc[0]["share_high"]):
        return {"value": SUPPRESSED, "n": None, "q": "", "y": "", "suppressed": True, "above": False}
    row = r.iloc[0]
    return {
        "value": fmt_pct(row["share_high"], lang),
        "n": int(row["n"]),
        "q": fmt_change(row["q_change"]),
        "y": fmt_change(row["y_change"]),
        "suppressed": False,
        "above": county is not None and _above(float(row["share_high"]), county),
    }


def _need_row(
    now: pd.DataFrame, code: str, name: str, items: list[str], county: dict[str, float], lang: str
) -> dict[str, Any]:
    return {"code": code, "name": name, "cells": [_need_cell(now, code, i, county.get(i), lang) for i in items]}


def needs_section(data: ReportData) -> NeedsTable:
    """The period's share answering 4–5 per need and municipality, with its change; hidden cells show as –.

    A cell STANDS_OUT points or more above the county's share for that need is marked (`above`).
    """
    _ = i18n.translator(data.lang)
    now = data.table[data.table["wave"] == data.period]
    whole = now[(now["municipality"] == data.county) & ~now["suppressed"].astype(bool)].dropna(subset=["share_high"])
    county = {str(r.item): float(r.share_high) for r in whole.itertuples()}
    rows = [_need_row(now, m.code, m.name, data.items, county, data.lang) for m in data.shown]
    county_row = _need_row(now, data.county, _("Hela länet"), data.items, {}, data.lang)
    ns = [{c["n"] for c in r["cells"] if c["n"] is not None} for r in [*rows, county_row]]
    return NeedsTable(
        items=[data.labels[i] for i in data.items],
        rows=rows,
        county_row=county_row,
        cut=len(data.munis) > MAX_COLS,
        marked=any(c["above"] for r in rows for c in r["cells"]),
        n_varies=any(len(n) > 1 for n in ns),
    )


def _points(v: float | None, lang: str) -> str:
    """A gap in whole percentage points, the unit in the column's heading."""
    pts = i18n.points(v)
    return SUPPRESSED if pts is None else fmt_int(pts, lang)


def spread_section(data: ReportData) -> list[dict[str, str]]:
    """Per need: the greatest and least need, each with its municipality, the median and the gap with its change.

    The gap is in percentage points; the median is – where fewer than metrics.MIN_MEDIAN municipalities are shown.
    """
    lang = data.lang
    spread = metrics.county_spread(data.table, data.county)
    if not spread.empty:  # every cell hidden: nothing to compare (with_change cannot merge an empty frame's waves)
        spread = metrics.with_change(spread, ["item"], "gap")
    spread = spread.set_index(["wave", "item"])
    rows = []
    for i in data.items:
        if (data.period, i) not in spread.index:
            rows.append(
                {
                    "item": data.labels[i],
                    "most": SUPPRESSED,
                    "most_name": "",
                    "median": SUPPRESSED,
                    "least": SUPPRESSED,
                    "least_name": "",
                    "gap": SUPPRESSED,
                    "gap_pp": SUPPRESSED,
                    "gap_change": "",
                }
            )
            continue
        s = spread.loc[(data.period, i)]
        rows.append(
            {
                "item": data.labels[i],
                "most": fmt_pct(s["max"], lang),
                "most_name": data.names[s["max_municipality"]],
                "median": fmt_pct(s["median"], lang),
                "least": fmt_pct(s["floor"], lang),
                "least_name": data.names[s["floor_municipality"]],
                "gap": _points(s["gap"], lang),
                "gap_pp": i18n.fmt_pp(s["gap"], lang, signed=False),
                "gap_change": fmt_change(s["gap_change"]),
            }
        )
    return rows


def history_section(data: ReportData) -> list[dict[str, str]]:
    """The greatest need, the county median and the gap over the history waves, from the shown need index.

    The median is – in a wave with fewer than metrics.MIN_MEDIAN municipalities shown (median_notes_section says why).
    """
    lang = data.lang
    shown = metrics.shown(data.index, data.county)
    medians = metrics.county_median(data.index, data.county, data.history)
    rows = []
    for wave in data.history:
        m = shown[shown["wave"] == wave]
        if m.empty:
            continue
        hi, lo = m.loc[m["index"].idxmax()], m.loc[m["index"].idxmin()]
        rows.append(
            {
                "wave": wave,
                "most": fmt_pct(hi["index"], lang),
                "most_name": data.names.get(hi["municipality"], hi["municipality"]),
                "median": fmt_pct(medians.get(wave), lang),
                "gap": _points(hi["index"] - lo["index"], lang),
                "gap_pp": i18n.fmt_pp(hi["index"] - lo["index"], lang, signed=False),
            }
        )
    return rows


@dataclass(frozen=True)
class Coverage:
    """Who answered: per municipality and sector against the roster, or without a roster the respondent counts."""

    sectors: list[str]  # the sectors' labels, the table's columns
    rows: list[dict[str, Any]]  # with a roster, in the report's order (the lowest rates when there are more)
    fallback: list[dict[str, str]]  # without a roster: respondents per municipality, under 5 shown as <5
    rate: float | None  # organisations answered / expected in the county


def coverage_section(data: ReportData) -> Coverage:
    """Who answered in the period, against the roster and the quarter before, in the report's municipality order.

    With more municipalities than max_rows, the ones with the lowest response rates are listed.
    """
    sectors = list(data.survey.sectors)
    order = data.order
    rows, rate = _coverage_rows(data.coverage, data.coverage_prev, order, sectors, data.lang)
    if rows and len(rows) > data.max_rows:
        keep = {r["name"] for r in sorted(rows, key=lambda r: r["rate_value"])[: data.max_rows]}
        rows = [r for r in rows if r["name"] in keep]
    fallback = [] if not data.roster.empty else _respondent_counts(data, order)[: data.max_rows]
    labels = [data.survey.sectors[s].get(data.lang, data.survey.sectors[s]["sv"]) for s in sectors]
    return Coverage(sectors=labels, rows=rows, fallback=fallback, rate=rate)


def _coverage_rows(
    now: pd.DataFrame,
    prev: pd.DataFrame,
    munis: list[reference.Municipality],
    sectors: list[str],
    lang: str,
) -> tuple[list[dict[str, Any]], float | None]:
    if now.empty:
        return [], None
    rows = []
    for m in munis:
        c = now[now["municipality"] == m.code]
        p = prev[prev["municipality"] == m.code]
        cells = []
        for s in sectors:
            hit = c[c["sector"] == s]
            cells.append(f"{int(hit['answered'].iloc[0])}/{int(hit['expected'].iloc[0])}" if not hit.empty else "")
        exp, ans = int(c["expected"].sum()), int(c["answered"].sum())
        rate = ans / exp if exp else None
        p_exp = int(p["expected"].sum()) if not p.empty else 0
        prate = int(p["answered"].sum()) / p_exp if p_exp else None
        rows.append(
            {
                "name": m.name,
                "cells": cells,
                "total": f"{ans}/{exp}",
                "rate": fmt_pct(rate, lang),
                "rate_value": rate if rate is not None else 1.0,
                "change": fmt_change(rate - prate) if rate is not None and prate is not None else "",
                "missing": sorted(n for lst in c["missing"] for n in lst),
            }
        )
    exp, ans = int(now["expected"].sum()), int(now["answered"].sum())
    return rows, (ans / exp if exp else None)


def _respondent_counts(data: ReportData, order: list[reference.Municipality]) -> list[dict[str, str]]:
    c = metrics.coverage(data.responses, data.mq, data.county, data.period)
    per_m = c.groupby("municipality")["n"].sum().to_dict() if not c.empty else {}
    out = []
    for m in order:
        n = int(per_m.get(m.code, 0))
        out.append({"name": m.name, "n": "<5" if 0 < n < metrics.MIN_N else fmt_int(n, data.lang)})
    return out


@dataclass(frozen=True)
class Capacity:
    """The municipalities' own figures: organisational facts reported by the municipality, not opinions."""

    rows: list[dict[str, Any]]  # every municipality, in the report's order
    county: str  # the county line; "" when the survey asks no capacity questions


def capacity_section(data: ReportData) -> Capacity:
    """FTE (in total and per 10 000 inhabitants), meetings and functions per municipality, and the county line."""
    rows = _capacity_rows(data)
    return Capacity(rows=rows, county=_capacity_county(rows, data.munis, data.lang, data.population))


def _capacity_rows(data: ReportData) -> list[dict[str, Any]]:
    survey, lang = data.survey, data.lang
    ids = {k: q for k, q in CAPACITY.items() if any(x.id == q for x in survey.questions(None))}
    if "kommun" not in survey.sectors or not ids:
        return []
    latest = metrics.latest_answers(data.responses, "kommun", list(ids.values()), data.period, data.mq, data.county)
    by_code = {str(r["municipality"]): r for r in latest.to_dict("records")}
    labelled = [k for k in ("combined", "council", *CAPACITY_FUNCTIONS) if k in ids]
    rows = []
    for m in data.order:
        got = by_code.get(m.code)

        def val(k: str, got: Any = got) -> Any:
            return None if got is None or k not in ids else got.get(ids[k])

        fte = val("fte")
        inhabitants = data.population.get(m.code, (0, 0))[0]
        per10k = (float(fte) / inhabitants * 10_000) if fte is not None and inhabitants else None
        row: dict[str, Any] = {
            "name": m.name,
            "fte": fmt_num(fte, lang, 2),
            "fte_10k": fmt_num(per10k, lang, 2),
            "fte_value": float(fte) if fte is not None else None,
            **{k: _label(survey, ids[k], val(k), lang) for k in labelled},
            "meetings": SUPPRESSED if val("meetings") is None else str(val("meetings")),
        }
        rows.append(row)
    return rows


def _capacity_county(
    rows: list[dict[str, Any]],
    munis: list[reference.Municipality],
    lang: str,
    population: Mapping[str, tuple[int, int]],
) -> str:
    """The county picture: FTE in total and per 10 000 inhabitants, and how many municipalities have each function.

    Every count says what it counts: "k of N municipalities", N being all the county's municipalities.
    """
    if not rows:
        return ""
    _ = i18n.translator(lang)
    ngettext = i18n.plural(lang)
    labels = capacity_labels(lang)
    known = [r for r in rows if r["fte_value"] is not None]
    total = sum(r["fte_value"] for r in known)
    pop = sum(population.get(m.code, (0, 0))[0] for m in munis if any(r["name"] == m.name for r in known))
    yes = _("Ja")
    have = [(labels[k], sum(1 for r in rows if str(r.get(k, "")).startswith(yes))) for k in CAPACITY_FUNCTIONS]
    fte = ngettext(
        "Hela länet: {fte} årsarbetskrafter ({per10k} per {base} invånare) i de {known} av {total} kommun som "
        "uppgett sina årsarbetskrafter.",
        "Hela länet: {fte} årsarbetskrafter ({per10k} per {base} invånare) i de {known} av {total} kommuner som "
        "uppgett sina årsarbetskrafter.",
        len(munis),
    ).format(
        fte=fmt_num(total, lang, 2),
        per10k=fmt_num(total / pop * 10_000 if pop else None, lang, 2),
        base=fmt_int(10_000, lang),
        known=fmt_int(len(known), lang),
        total=fmt_int(len(munis), lang),
    )
    functions = _("Antal kommuner av {total} som har: {counts}.").format(
        total=fmt_int(len(munis), lang),
        counts="; ".join(f"{label.lower()} {fmt_int(n, lang)}" for label, n in have),
    )
    return f"{fte} {functions}"


def _data_hash(responses: pd.DataFrame) -> str:
    """What the report was built from: the stored rows' content hashes where known, else their answers."""
    if "content_hash" in responses:
        parts = responses["content_hash"].astype(str).tolist()
        parts.sort()
    else:
        rows = zip(responses["id"], responses["wave"], responses["answers"], strict=True)
        parts = [f"{i}|{w}|{json.dumps(a, sort_keys=True)}" for i, w, a in rows]
        parts.sort()
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def write_report(report: Report, folder: Path) -> dict[str, str]:
    """Write the HTML (images as files beside it), the text, the PNGs and the XLSX into folder, without sending."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"behovsrapport-{report.period}.{report.lang}"
    html = report.html
    files: dict[str, Path] = {"html": folder / f"{stem}.html", "text": folder / f"{stem}.txt"}
    for chart in report.charts:
        (folder / chart.filename).write_bytes(chart.png)
        html = html.replace(f"cid:{chart.cid}", chart.filename)
        files[f"chart:{chart.filename}"] = folder / chart.filename
    files["html"].write_text(html, encoding="utf-8")
    files["text"].write_text(report.text, encoding="utf-8")
    if report.xlsx:
        files["xlsx"] = folder / report.xlsx_name
        files["xlsx"].write_bytes(report.xlsx)
    report.files.update({k: str(v) for k, v in files.items()})
    return report.files
