"""The yearly roll-up (`bfs report --year YYYY`): the county's year for the länsstyrelse's yearly account to Brå.

For each municipality, the year's quarters that have answers: the need index, the coordinator's FTE (K04, also per
10 000 inhabitants), the law floor (K01-K03, status and the wave last reported) and process maturity; then the
support the coordinator gave (her own log, `bfs support import`) against need, and a table of support by type and
need. HTML (report.html's style), text and XLSX (one sheet per table, the quarterly workbook's symbols).

The quarterly machinery is reused: `report.report_data` for the year's last quarter with answers gives the scored
answers, the need index, process maturity (with the quarterly report's secondary suppression) and the roster.

Suppression (answers only; the support log is the coordinator's own record of what she did, not anyone's answers,
so its figures are shown as they are):
- A quarter's need index is the quarterly report's: hidden below metrics.MIN_N respondents (primary), and pooled
  over the municipality's need cells shown (primary and secondary suppression), so that no hidden cell can be
  worked out from it (metrics.index_over_shown_cells). The maturity index: the same over the steps (K12a–e), and
  secondary suppression as the quarterly report's (sections.maturity_table).
- The year's need index is the mean of the municipality's quarters shown (with how many it averages), not the
  year's answers pooled: a pooled figure less the shown quarters would give a hidden quarter away. A mean of shown
  figures tells nothing they do not; it is hidden where no quarter is shown.
- FTE and the law floor are organisational facts reported by the municipality: shown whatever n, as the quarterly
  report shows them.

Support is counted from `support.events` (one row per event x municipality x need): events with
`event_id.nunique()` (an event for several municipalities or needs is one event in each of their rows and once in
every total), hours as `sum(hours * weight)` (an event's hours shared equally between its municipalities and
needs, so the hours of any table add up to the log's total and nothing is counted twice).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from bfs_pipeline import i18n, levels, metrics, reference, sections, workbook
from bfs_pipeline.errors import ReportError
from bfs_pipeline.export import Column, NumberFormat, Sheet, write_workbook
from bfs_pipeline.i18n import SUPPRESSED, fmt_int, fmt_num, fmt_pct, missing
from bfs_pipeline.report import ReportData, report_data
from bfs_pipeline.resources import templates_dir
from bfs_pipeline.support.models import SupportKind
from bfs_pipeline.survey import Survey

YEAR = re.compile(r"^\s*(\d{4})\s*$")
INDEX = "need_index"  # the need index's item name in tables shaped like the need table (secondary_suppress)
KINDS = [k.value for k in SupportKind]  # the support log's types, in the log's order
F = NumberFormat
__all__ = [
    "YearData",
    "YearlyReport",
    "build_yearly",
    "check_year",
    "quarters_of",
    "write_yearly",
    "year_data",
    "years_with_answers",
]


def check_year(year: str | int) -> int:
    """A year as given on the command line ("2026"), or an error saying how to write it."""
    m = YEAR.match(str(year))
    if m is None or not 1900 <= int(m.group(1)) <= 2999:
        raise ReportError(f"{str(year)!r} is not a year: write it as YYYY, for example 2026.")
    return int(m.group(1))


def quarters_of(year: int) -> list[str]:
    """The year's four waves, YYYY-Q1..YYYY-Q4."""
    return [f"{year}-Q{q}" for q in range(1, 5)]


def years_with_answers(responses: pd.DataFrame) -> list[int]:
    """The years that have stored answers, oldest first."""
    if responses.empty:
        return []
    return sorted({int(str(w)[:4]) for w in responses["wave"].unique()})


@dataclass(frozen=True)
class YearData:
    """What the yearly sections read, computed once: the quarterly data of the year's last quarter with answers, the
    year's quarters, and the support log's rows of the year."""

    base: ReportData
    year: int
    quarters: list[str]  # the year's waves with answers, oldest first
    events: pd.DataFrame  # support.events of the year's quarters
    respondents_year: int  # answers in the year

    @property
    def lang(self) -> str:
        return self.base.lang

    @property
    def county(self) -> str:
        return self.base.county

    @property
    def year_key(self) -> str:
        """The year's rows in tables keyed by wave carry the year ("2026")."""
        return str(self.year)

    @cached_property
    def in_year(self) -> pd.DataFrame:
        """The year's answers (from base.responses)."""
        r = self.base.responses
        return r[r["wave"].isin(self.quarters)] if not r.empty else r

    @cached_property
    def index(self) -> pd.DataFrame:
        """The need index per municipality (and the county) and quarter, and for the year (wave = "YYYY", n = the
        quarters it averages): municipality, wave, n, index, suppressed (see the module's docstring)."""
        return need_index_table(self)

    @cached_property
    def maturity(self) -> pd.DataFrame:
        """The maturity index per municipality and quarter of the year (sections.maturity_table's suppression)."""
        t = self.base.maturity
        return t[t["wave"].isin(self.quarters)] if not t.empty else t

    @cached_property
    def fte(self) -> pd.DataFrame:
        """levels.coordinator_fte in the year's quarters: municipality, wave, fte, n."""
        t = levels.coordinator_fte(self.in_year, self.base.mq, self.county)
        return t[t["wave"].isin(self.quarters)]

    @cached_property
    def law(self) -> dict[str, pd.DataFrame]:
        """levels.law_status as of each quarter of the year, and of the year before's last quarter."""
        r = self.base.responses
        if not r.empty:
            r = metrics.answering(r[r["sector"] == levels.KOMMUN], list(levels.LAW_QUESTIONS.values()))
        history = levels.law_history(r, self.base.mq, self.county)
        waves = [*self.quarters, self.year_before]
        return {w: levels.law_status(r, self.base.mq, self.county, w, history=history) for w in waves}

    @property
    def year_before(self) -> str:
        return f"{self.year - 1}-Q4"

    @cached_property
    def order(self) -> list[reference.Municipality]:
        """The municipalities by the year's need index, highest first; hidden ones last, in reference order."""
        year = self.index[self.index["wave"] == self.year_key].set_index("municipality")["index"]

        def key(m: reference.Municipality) -> float:
            v = year.get(m.code)
            return -(float(v) if v is not None and not missing(v) else -1.0)

        return sorted(self.base.munis, key=key)

    def inhabitants(self, code: str) -> int:
        return self.base.population.get(code, (0, 0))[0]


def year_data(
    survey: Survey,
    responses: pd.DataFrame,
    events: pd.DataFrame,
    year: int,
    lang: str = "sv",
    roster: pd.DataFrame | None = None,
    population: Mapping[str, tuple[int, int]] | None = None,
    generated: dt.date | None = None,
) -> YearData:
    """The year's data from the stored answers and the support log's rows; a year without answers is an error that
    names the years with answers."""
    waves = quarters_of(year)
    answered = sorted(set(responses["wave"]) & set(waves)) if not responses.empty else []
    if not answered:
        years = years_with_answers(responses)
        hint = (
            f"the years with answers are {', '.join(map(str, years))}"
            if years
            else "no answers are stored yet (bfs ingest)"
        )
        raise ReportError(f"No answers for {year}: {hint}. Give one of them with --year.")
    base = report_data(survey, responses, answered[-1], lang, roster, generated, population=population)
    ev = events[events["period"].isin(waves)] if not events.empty else events
    n = int(responses["wave"].isin(answered).sum())
    return YearData(base=base, year=year, quarters=answered, events=ev, respondents_year=n)


def need_index_table(data: YearData) -> pd.DataFrame:
    """The quarters' need index (the quarterly's: pooled over the need cells shown) and the year's: the mean of the
    quarters shown (wave = "YYYY", n = how many quarters it averages; hidden where none is shown)."""
    cols = ["municipality", "wave", "n", "index", "suppressed"]
    base = data.base
    q = base.index[base.index["wave"].isin(data.quarters)][cols].reset_index(drop=True)
    shown = q[~q["suppressed"].astype(bool)].dropna(subset=["index"])
    g = shown.groupby("municipality")["index"]
    y = pd.DataFrame({"index": g.mean(), "n": g.size()}).reindex(sorted(set(q["municipality"])))
    y = y.rename_axis("municipality").reset_index().assign(wave=data.year_key)
    y["suppressed"] = y["index"].isna()
    y["n"] = y["n"].fillna(0)
    out = pd.concat([q, y[cols]], ignore_index=True)
    return out.astype({"n": "int64", "index": "float64", "suppressed": bool})


# --- the sections: each a function of YearData, read by the page, the text and the JSON -----------------------


def _index_cell(t: pd.DataFrame, code: str, wave: str, lang: str) -> dict[str, Any]:
    """A shown figure with n, hidden ("–"), or nothing ("": no answers); for the year n counts the quarters."""
    r = t[(t["municipality"] == code) & (t["wave"] == wave)]
    if r.empty:
        return {"value": "", "n": None, "share": None, "suppressed": False, "answered": False}
    row = r.iloc[0]
    if bool(row["suppressed"]) or missing(row["index"]):
        return {"value": SUPPRESSED, "n": None, "share": None, "suppressed": True, "answered": True}
    share = float(row["index"])
    return {"value": fmt_pct(share, lang), "n": int(row["n"]), "share": share, "suppressed": False, "answered": True}


def _year_cell(t: pd.DataFrame, code: str, data: YearData) -> dict[str, Any]:
    """The year's mean of the quarters shown, with how many ("3 av 4 kv." where fewer than the year's quarters)."""
    _ = i18n.translator(data.lang)
    cell = _index_cell(t, code, data.year_key, data.lang)
    quarters, cell["n"] = cell["n"], None
    cell["quarters"] = quarters
    total = len(data.quarters)
    cell["note"] = (
        _("%(k)s av %(n)s kv.") % {"k": quarters, "n": total} if quarters is not None and quarters < total else ""
    )
    return cell


def need_section(data: YearData) -> list[dict[str, Any]]:
    """Per municipality (the county first): the need index of each quarter with answers and of the year, with n."""
    _ = i18n.translator(data.lang)
    t = data.index
    rows = []
    for code, name in [(data.county, _("Hela länet")), *((m.code, m.name) for m in data.order)]:
        rows.append(
            {
                "code": code,
                "name": name,
                "county": code == data.county,
                "cells": [_index_cell(t, code, w, data.lang) for w in data.quarters],
                "year": _year_cell(t, code, data),
            }
        )
    return rows


def maturity_section(data: YearData) -> list[dict[str, Any]]:
    """Per municipality (the county first): the maturity index (K12a-e, share 4-5) of each quarter, with n."""
    _ = i18n.translator(data.lang)
    t = data.maturity
    rows = []
    for code, name in [(data.county, _("Hela länet")), *((m.code, m.name) for m in data.order)]:
        cells = [_index_cell(t, code, w, data.lang) for w in data.quarters]
        rows.append({"code": code, "name": name, "county": code == data.county, "cells": cells})
    return rows


def capacity_section(data: YearData) -> list[dict[str, Any]]:
    """Per municipality: each quarter's coordinator FTE (K04, the median of the kommun answers that state it) and
    per 10 000 inhabitants; an empty cell where nobody stated it that quarter."""
    by = {(str(r.municipality), str(r.wave)): float(r.fte) for r in data.fte.itertuples()}
    rows = []
    for m in data.order:
        cells = []
        for w in data.quarters:
            fte = by.get((m.code, w))
            pop = data.inhabitants(m.code)
            per10k = fte / pop * 10_000 if fte is not None and pop else None
            cells.append(
                {
                    "fte": fte,
                    "per10k": per10k,
                    "value": "" if fte is None else fmt_num(fte, data.lang, 2),
                    "value10k": "" if per10k is None else fmt_num(per10k, data.lang, 2),
                }
            )
        rows.append({"code": m.code, "name": m.name, "cells": cells})
    return rows


def population_year(data: YearData) -> str:
    """The year(s) of the population figures used: "2016", or "2023–2024"."""
    years = sorted({data.base.population[m.code][1] for m in data.base.munis if m.code in data.base.population})
    if not years:
        return SUPPRESSED
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def _meets_all(status: pd.DataFrame) -> dict[str, bool | None]:
    every = levels.meets_all(status) if not status.empty else pd.Series(dtype="boolean")
    return {str(m): (None if pd.isna(v) else bool(v)) for m, v in every.items()}


def law_section(data: YearData) -> dict[str, Any]:
    """Lagens krav at the year's end (its last quarter with answers): per municipality the three requirements'
    status and wave last reported; how many municipalities meet all three in each quarter and a year before."""
    _ = i18n.translator(data.lang)
    labels = sections.law_labels(data.lang)
    end = data.law[data.quarters[-1]]
    every = _meets_all(end)
    by = {(str(r.municipality), str(r.requirement)): r for r in end.itertuples()}
    rows = []
    for m in data.order:
        cells: list[dict[str, Any]] = []
        for req in levels.Requirement:
            r = by.get((m.code, req.value))
            if r is None:
                cells.append(
                    {"label": _("Inget svar"), "short": _("Inget svar"), "wave": "", "met": None, "code": None}
                )
                continue
            label = sections.choice_label(data.base, levels.LAW_QUESTIONS[req], str(r.code))
            met = None if r.met is None or missing(r.met) else bool(r.met)
            cells.append(
                {
                    "label": label,
                    "short": label.split(",")[0] if met else label,
                    "wave": str(r.wave),
                    "met": met,
                    "code": str(r.code),
                }
            )
        rows.append({"code": m.code, "name": m.name, "all": every.get(m.code), "cells": cells})
    by_quarter = {w: sum(1 for v in _meets_all(data.law[w]).values() if v is True) for w in data.quarters}
    return {
        "requirements": [labels[r.value] for r in levels.Requirement],
        "rows": rows,
        "meet_all": by_quarter[data.quarters[-1]],
        "by_quarter": by_quarter,
        "year_before": sum(1 for v in _meets_all(data.law[data.year_before]).values() if v is True),
        "unknown": sum(1 for m in data.base.munis if every.get(m.code) is None),
        "total": len(data.base.munis),
        "asked": any(sections._asked(data.base, q) for q in levels.LAW_QUESTIONS.values()),
    }


def support_totals(events: pd.DataFrame) -> tuple[int, float]:
    """The log's events (each once) and hours (each once: shared by weight)."""
    if events.empty:
        return 0, 0.0
    return int(events["event_id"].nunique()), float((events["hours"] * events["weight"]).sum())


def _per10k(value: float, inhabitants: int) -> float | None:
    return value / inhabitants * 10_000 if inhabitants else None


def support_section(data: YearData) -> dict[str, Any]:
    """Stöd i förhållande till behov: per municipality the year's need index beside the support events and hours
    it got (also per 10 000 inhabitants), and the share of the support hours that went to the municipality with the
    greatest need against its share of need (its index over the sum of the indexes shown)."""
    _ = i18n.translator(data.lang)
    lang = data.lang
    ev = data.events
    year = data.index[data.index["wave"] == data.year_key].set_index("municipality")
    rows: list[dict[str, Any]] = []
    for m in data.order:
        mine = ev[ev["municipality"] == m.code] if not ev.empty else ev
        events, hours = support_totals(mine)
        pop = data.inhabitants(m.code)
        r = year.loc[m.code] if m.code in year.index else None
        shown = r is not None and not bool(r["suppressed"]) and not missing(r["index"])
        index = float(r["index"]) if shown else None  # type: ignore[index]
        rows.append(
            {
                "code": m.code,
                "name": m.name,
                "index": index,
                "index_text": fmt_pct(index, lang) if r is not None else "",
                "quarters": int(r["n"]) if shown else None,  # type: ignore[index]
                "events": events,
                "hours": hours,
                "events_10k": _per10k(events, pop),
                "hours_10k": _per10k(hours, pop),
                "events_text": fmt_int(events, lang),
                "hours_text": fmt_num(hours, lang, 1),
                "events_10k_text": fmt_num(_per10k(events, pop), lang, 1),
                "hours_10k_text": fmt_num(_per10k(hours, pop), lang, 1),
            }
        )
    counted = [r for r in rows if r["index"] is not None]
    if len(counted) < metrics.MIN_MEDIAN:  # one or two municipalities' shares of each other say nothing of the county
        counted = []
    need_sum = sum(r["index"] for r in counted)
    hours_sum = sum(r["hours"] for r in counted)
    compared = {id(r) for r in counted}
    for r in rows:
        r["share_need"] = r["index"] / need_sum if id(r) in compared and need_sum else None
        r["share_hours"] = r["hours"] / hours_sum if id(r) in compared and hours_sum else None
        k, total = r["quarters"], len(data.quarters)
        r["note"] = _("%(k)s av %(n)s kv.") % {"k": k, "n": total} if k is not None and k < total else ""
        r["share_need_text"] = fmt_pct(r["share_need"], lang) if r["share_need"] is not None else ""
        r["share_hours_text"] = fmt_pct(r["share_hours"], lang) if r["share_hours"] is not None else ""
    greatest = max(counted, key=lambda r: r["index"], default=None)
    events, hours = support_totals(ev)
    return {
        "rows": rows,
        "greatest": greatest,
        "counted": len(counted),
        "shown": sum(1 for r in rows if r["index"] is not None),
        "events": events,
        "hours": hours,
        "events_text": fmt_int(events, lang),
        "hours_text": fmt_num(hours, lang, 1),
        "logged": not ev.empty,
    }


def support_by_type(events: pd.DataFrame, needs: list[str]) -> dict[str, Any]:
    """Support by type (the log's six) x need: events (each once per cell and total) and hours (shared by weight,
    so the cells add up to the totals and the totals to the log's)."""
    cells: dict[tuple[str, str], tuple[int, float]] = {}
    kinds: dict[str, tuple[int, float]] = {}
    per_need: dict[str, tuple[int, float]] = {}
    if not events.empty:
        shared = events.assign(shared=events["hours"] * events["weight"])
        for (kind, need), g in shared.groupby(["kind", "need"]):
            cells[(str(kind), str(need))] = (int(g["event_id"].nunique()), float(g["shared"].sum()))
        for kind, g in shared.groupby("kind"):
            kinds[str(kind)] = (int(g["event_id"].nunique()), float(g["shared"].sum()))
        for need, g in shared.groupby("need"):
            per_need[str(need)] = (int(g["event_id"].nunique()), float(g["shared"].sum()))
    return {"cells": cells, "kinds": kinds, "needs": per_need, "total": support_totals(events)}


def support_type_section(data: YearData) -> dict[str, Any]:
    """The type x need table for the page: rows are the needs, columns the six types and the total; a cell shows
    hours and events, blank where there was none."""
    lang = data.lang
    t = support_by_type(data.events, data.base.items)

    def cell(got: tuple[int, float] | None) -> dict[str, Any]:
        if not got or not got[0]:
            return {"hours": "", "events": None}
        return {"hours": fmt_num(got[1], lang, 1), "events": got[0]}

    rows = [
        {
            "need": re.sub(r"\s*\([^)]*\)\s*$", "", data.base.labels[i]) or data.base.labels[i],
            "code": i,
            "cells": [cell(t["cells"].get((k, i))) for k in KINDS],
            "total": cell(t["needs"].get(i)),
        }
        for i in data.base.items
    ]
    return {
        "kinds": kind_labels(lang),
        "rows": rows,
        "totals": [cell(t["kinds"].get(k)) for k in KINDS],
        "total": cell(t["total"]),
        "table": t,
    }


def kind_labels(lang: str) -> list[str]:
    """The support types' names, as the log writes them (utbildning, ...), in the report's language."""
    _ = i18n.translator(lang)
    names = {
        "utbildning": _("Utbildning"),
        "nätverksträff": _("Nätverksträff"),
        "metodstöd": _("Metodstöd"),
        "besök": _("Besök"),
        "rådgivning": _("Rådgivning"),
        "annat": _("Annat"),
    }
    return [names[k] for k in KINDS]


def summary_section(data: YearData, law: dict[str, Any], support: dict[str, Any]) -> list[str]:
    """The year in a few sentences: answers, the law floor, the support given and where the greatest need is."""
    _ = i18n.translator(data.lang)
    ngettext = i18n.plural(data.lang)
    lang = data.lang
    out = [
        ngettext(
            "{n} svar under {year} ({quarters}).",
            "{n} svar under {year} ({quarters}).",
            data.respondents_year,
        ).format(n=fmt_int(data.respondents_year, lang), year=data.year, quarters=", ".join(data.quarters))
    ]
    if law["asked"]:
        out.append(
            ngettext(
                "{num} av {total} kommun har lägesbild, åtgärdsplan och samordningsfunktion vid årets slut; "
                "vid förra årets slut {before}.",
                "{num} av {total} kommuner har lägesbild, åtgärdsplan och samordningsfunktion vid årets slut; "
                "vid förra årets slut {before}.",
                law["total"],
            ).format(num=law["meet_all"], total=law["total"], before=law["year_before"])
        )
    if not support["logged"]:
        out.append(_("Ingen stödlogg för året: läs in den med bfs support import."))
        return out
    out.append(
        ngettext(
            "Länsstyrelsen gav stöd vid {events} tillfälle, {hours} timmar.",
            "Länsstyrelsen gav stöd vid {events} tillfällen, {hours} timmar.",
            support["events"],
        ).format(events=support["events_text"], hours=support["hours_text"])
    )
    g = support["greatest"]
    if g is None:
        out.append(
            _(
                "Färre än {min} kommuner har ett behovsindex för året som visas, så stödets och behovets andelar "
                "jämförs inte."
            ).format(min=metrics.MIN_MEDIAN)
        )
    else:
        out.append(
            _(
                "{name} hade störst behov (behovsindex {index}, {share_need} av behovet) och fick {share_hours} "
                "av stödtimmarna."
            ).format(
                name=g["name"],
                index=g["index_text"],
                share_need=g["share_need_text"],
                share_hours=g["share_hours_text"],
            )
        )
    return out


# --- the JSON of `bfs report --year --json` ---------------------------------------------------------------------


def _share(v: float | None) -> float | None:
    return None if v is None or missing(v) else round(float(v), 4)


def _round(v: float | None, digits: int = 2) -> float | None:
    return None if v is None or missing(v) else round(float(v), digits)


def _figure(cell: dict[str, Any]) -> dict[str, Any]:
    return {"value": _share(cell["share"]), "n": cell["n"], "suppressed": cell["suppressed"]}


def _year_figure(cell: dict[str, Any]) -> dict[str, Any]:
    """The year's mean of the quarters shown, and how many quarters it averages."""
    return {"value": _share(cell["share"]), "quarters": cell["quarters"], "suppressed": cell["suppressed"]}


def municipalities_json(
    data: YearData,
    need: list[dict[str, Any]],
    maturity: list[dict[str, Any]],
    capacity: list[dict[str, Any]],
    law: dict[str, Any],
    support: dict[str, Any],
) -> list[dict[str, Any]]:
    """Per municipality, in the report's order: code, name, quarters (need index, FTE, law floor, maturity),
    year (the pooled need index) and support."""
    need_by = {r["code"]: r for r in need}
    mat_by = {r["code"]: r for r in maturity}
    cap_by = {r["code"]: r for r in capacity}
    sup_by = {r["code"]: r for r in support["rows"]}
    out = []
    for m in data.order:
        quarters = []
        for i, w in enumerate(data.quarters):
            status = data.law[w]
            mine = status[status["municipality"] == m.code]
            quarters.append(
                {
                    "wave": w,
                    "need_index": _figure(need_by[m.code]["cells"][i]),
                    "fte": _round(cap_by[m.code]["cells"][i]["fte"]),
                    "fte_per_10k": _round(cap_by[m.code]["cells"][i]["per10k"], 4),
                    "law": {
                        str(r.requirement): {
                            "code": str(r.code),
                            "met": None if r.met is None or missing(r.met) else bool(r.met),
                            "wave": str(r.wave),
                        }
                        for r in mine.itertuples()
                    },
                    "meets_all": _meets_all(status).get(m.code),
                    "maturity": _figure(mat_by[m.code]["cells"][i]),
                }
            )
        s = sup_by[m.code]
        out.append(
            {
                "code": m.code,
                "name": m.name,
                "inhabitants": data.inhabitants(m.code) or None,
                "quarters": quarters,
                "year": {"need_index": _year_figure(need_by[m.code]["year"])},
                "support": {
                    "events": s["events"],
                    "hours": _round(s["hours"]),
                    "events_per_10k": _round(s["events_10k"], 4),
                    "hours_per_10k": _round(s["hours_10k"], 4),
                    "share_of_hours": _share(s["share_hours"]),
                    "share_of_need": _share(s["share_need"]),
                },
            }
        )
    return out


# --- the workbook ---------------------------------------------------------------------------------------------


def _hidden(cell: dict[str, Any], value: Any) -> Any:
    return SUPPRESSED if cell["suppressed"] else value


def _index_rows(data: YearData, rows: list[dict[str, Any]], with_year: bool) -> list[list[Any]]:
    out = []
    waves = [*data.quarters, *([data.year_key] if with_year else [])]
    for r in rows:
        cells = [*r["cells"], *([r["year"]] if with_year else [])]
        for w, c in zip(waves, cells, strict=True):
            if not c["answered"]:
                continue
            row = [w, r["code"], r["name"], _hidden(c, c["n"]), _hidden(c, _share(c["share"]))]
            if with_year:
                row.append(_hidden(c, c["quarters"]) if w == data.year_key else None)
            out.append(row)
    return out


def workbook_section(
    data: YearData,
    need: list[dict[str, Any]],
    maturity: list[dict[str, Any]],
    capacity: list[dict[str, Any]],
    law: dict[str, Any],
    support: dict[str, Any],
    by_type: dict[str, Any],
    title: str,
) -> bytes:
    """One sheet per table, hidden cells as "–" (the quarterly workbook's symbols), then the key to symbols."""
    _ = i18n.translator(data.lang)
    base = data.base
    code_col, name_col = Column(_("Kommunkod"), F.TEXT), Column(_("Kommun"))
    period = Column(_("Period"))
    n_col = Column(_("Antal svarande (n)"), F.INTEGER)
    sheets = [
        Sheet(
            _("Behovsindex"),
            [
                period,
                code_col,
                name_col,
                n_col,
                Column(_("Behovsindex (andel 4–5 av alla behovssvar)"), F.PERCENT),
                Column(_("Kvartal i årets värde"), F.INTEGER),
            ],
            _index_rows(data, need, with_year=True),
        )
    ]
    cap_rows = []
    for r in capacity:
        inhabitants, pop_year = base.population.get(r["code"], (None, None))
        for w, c in zip(data.quarters, r["cells"], strict=True):
            cap_rows.append([w, r["code"], r["name"], _round(c["fte"]), _round(c["per10k"], 4), inhabitants, pop_year])
    sheets.append(
        Sheet(
            _("Kapacitet"),
            [
                Column(_("Kvartal")),
                code_col,
                name_col,
                Column(_("Årsarbetskrafter"), F.TWO_DECIMALS),
                Column(_("Årsarbetskrafter per 10 000 invånare"), F.TWO_DECIMALS),
                Column(_("Folkmängd (SCB)"), F.INTEGER),
                Column(_("Folkmängdens år"), F.INTEGER),
            ],
            cap_rows,
        )
    )
    labels = sections.law_labels(data.lang)
    law_rows: list[list[Any]] = []
    for w in data.quarters:
        status = data.law[w]
        every = _meets_all(status)
        reported: dict[tuple[str, str], Any] = {
            (str(x.municipality), str(x.requirement)): x for x in status.itertuples()
        }
        for m in data.order:
            for req in levels.Requirement:
                got = reported.get((m.code, req.value))
                law_rows.append(
                    [
                        w,
                        m.code,
                        m.name,
                        labels[req.value],
                        None if got is None else sections.choice_label(base, levels.LAW_QUESTIONS[req], str(got.code)),
                        None if got is None else workbook._met_word(got.met, _),
                        None if got is None else str(got.wave),
                        workbook._met_word(every.get(m.code), _),
                    ]
                )
    sheets.append(
        Sheet(
            _("Lagens krav"),
            [
                Column(_("Kvartal")),
                code_col,
                name_col,
                Column(_("Krav")),
                Column(_("Senaste svar")),
                Column(_("Uppfyllt")),
                Column(_("Senast rapporterat")),
                Column(_("Uppfyller alla tre")),
            ],
            law_rows,
        )
    )
    sheets.append(
        Sheet(
            _("Processmognad"),
            [
                Column(_("Kvartal")),
                code_col,
                name_col,
                n_col,
                Column(_("Processmognad (andel 4–5 av alla svar om stegen)"), F.PERCENT),
            ],
            _index_rows(data, maturity, with_year=False),
        )
    )
    sheets.append(
        Sheet(
            _("Stöd och behov"),
            [
                code_col,
                name_col,
                Column(_("Behovsindex {year}").format(year=data.year), F.PERCENT),
                Column(_("Kvartal i årets värde"), F.INTEGER),
                Column(_("Stödtillfällen"), F.INTEGER),
                Column(_("Stödtimmar"), F.ONE_DECIMAL),
                Column(_("Stödtillfällen per 10 000 invånare"), F.TWO_DECIMALS),
                Column(_("Stödtimmar per 10 000 invånare"), F.TWO_DECIMALS),
                Column(_("Andel av stödtimmarna"), F.PERCENT),
                Column(_("Andel av behovet"), F.PERCENT),
            ],
            [
                [
                    r["code"],
                    r["name"],
                    SUPPRESSED if r["index"] is None and r["index_text"] else _share(r["index"]),
                    SUPPRESSED if r["index"] is None and r["index_text"] else r["quarters"],
                    r["events"],
                    _round(r["hours"]),
                    _round(r["events_10k"], 4),
                    _round(r["hours_10k"], 4),
                    _share(r["share_hours"]),
                    _share(r["share_need"]),
                ]
                for r in support["rows"]
            ],
        )
    )
    t = by_type["table"]
    kinds = dict(zip(KINDS, kind_labels(data.lang), strict=True))
    every_need, every_kind = _("Alla behov"), _("Alla typer")
    type_rows: list[list[Any]] = []
    for k in KINDS:
        for i in base.items:
            e, h = t["cells"].get((k, i), (0, 0.0))
            type_rows.append([kinds[k], base.labels[i], i, e, _round(h)])
        e, h = t["kinds"].get(k, (0, 0.0))
        type_rows.append([kinds[k], every_need, None, e, _round(h)])
    for i in base.items:
        e, h = t["needs"].get(i, (0, 0.0))
        type_rows.append([every_kind, base.labels[i], i, e, _round(h)])
    e, h = t["total"]
    type_rows.append([every_kind, every_need, None, e, _round(h)])
    sheets.append(
        Sheet(
            _("Stöd per typ och behov"),
            [
                Column(_("Typ av stöd")),
                Column(_("Behov")),
                Column(_("Behovets id")),
                Column(_("Stödtillfällen"), F.INTEGER),
                Column(_("Stödtimmar"), F.ONE_DECIMAL),
            ],
            type_rows,
        )
    )
    symbols = [
        *workbook.symbols(base, _),
        (
            _("Stödtimmar"),
            _(
                "Ur samordnarens stödlogg. Ett tillfälle för flera kommuner eller behov delar sina timmar lika mellan "
                "dem, så att ingen timme räknas två gånger; summan är loggens."
            ),
        ),
        (
            _("Stödtillfällen"),
            _(
                "Varje tillfälle räknas en gång per kommun och behov det gällde, och en gång i varje summa "
                "(Alla behov, Alla typer)."
            ),
        ),
        (
            _("Andel av behovet"),
            _(
                "Kommunens behovsindex för året delat med summan av behovsindex för de kommuner som visas; "
                "bara när minst {min} kommuner visas."
            ).format(min=metrics.MIN_MEDIAN),
        ),
        (
            _("Kvartal i årets värde"),
            _(
                "Årets behovsindex är medelvärdet av kommunens kvartal som visas; ett dolt kvartal räknas inte, så "
                "att det inte kan räknas fram ur året."
            ),
        ),
    ]
    return write_workbook(
        sheets, symbols, title, symbols_sheet=_("Teckenförklaring"), symbols_header=(_("Tecken"), _("Betydelse"))
    )


# --- the report --------------------------------------------------------------------------------------------------


@dataclass
class YearlyReport:
    """A rendered yearly roll-up: HTML, text and XLSX, and what `--json` prints."""

    survey_id: str
    year: int
    lang: str
    county: str
    subject: str
    html: str
    text: str
    xlsx: bytes
    payload: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return f"arsrapport-{self.county}-{self.year}.{self.lang}"

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "lang": self.lang, "subject": self.subject, "files": self.files, **self.payload}


def build_yearly(
    survey: Survey,
    responses: pd.DataFrame,
    events: pd.DataFrame,
    year: int,
    lang: str = "sv",
    roster: pd.DataFrame | None = None,
    population: Mapping[str, tuple[int, int]] | None = None,
    generated: dt.date | None = None,
) -> YearlyReport:
    """Render the year's roll-up from the stored answers and the support log's rows (support.events)."""
    data = year_data(survey, responses, events, year, lang, roster, population, generated)
    _ = i18n.translator(lang)
    need = need_section(data)
    maturity = maturity_section(data)
    capacity = capacity_section(data)
    law = law_section(data)
    support = support_section(data)
    by_type = support_type_section(data)
    summary = summary_section(data, law, support)
    subject = _("Årsrapport {county} {year}").format(county=data.base.county_name, year=year)
    ctx = {
        "lang": lang,
        "subject": subject,
        "year": year,
        "county": data.base.county_name,
        "title": survey.title.get(lang, survey.title["sv"]),
        "generated": i18n.fmt_date(data.base.generated, lang),
        "quarters": data.quarters,
        "min_n": metrics.MIN_N,
        "min_median": metrics.MIN_MEDIAN,
        "pop_year": population_year(data),
        "summary": summary,
        "need": need,
        "maturity": maturity,
        "maturity_asked": any(sections._asked(data.base, i) for i in levels.MATURITY_ITEMS),
        "maturity_answered": not data.maturity.empty,
        "capacity": capacity,
        "law": law,
        "support": support,
        "by_type": by_type,
        "year_before": data.year_before,
    }
    env = i18n.environment(str(templates_dir()), lang)
    payload = {
        "county": {"code": data.county, "name": data.base.county_name},
        "quarters": data.quarters,
        "summary": summary,
        "population_year": population_year(data),
        "municipalities": municipalities_json(data, need, maturity, capacity, law, support),
        "county_need_index": {
            "quarters": [{"wave": w, **_figure(c)} for w, c in zip(data.quarters, need[0]["cells"], strict=True)],
            "year": _year_figure(need[0]["year"]),
        },
        "law": {
            "meet_all": law["meet_all"],
            "total": law["total"],
            "unknown": law["unknown"],
            "by_quarter": law["by_quarter"],
            "year_before": {"wave": data.year_before, "meet_all": law["year_before"]},
        },
        "support": {
            "events": support["events"],
            "hours": _round(support["hours"]),
            "greatest_need": None
            if support["greatest"] is None
            else {
                "code": support["greatest"]["code"],
                "name": support["greatest"]["name"],
                "need_index": _share(support["greatest"]["index"]),
                "share_of_need": _share(support["greatest"]["share_need"]),
                "share_of_hours": _share(support["greatest"]["share_hours"]),
            },
            "by_type": [
                {"kind": k, "need": i, "events": e, "hours": _round(h)}
                for (k, i), (e, h) in sorted(by_type["table"]["cells"].items())
            ],
            "by_kind": {k: {"events": e, "hours": _round(h)} for k, (e, h) in by_type["table"]["kinds"].items()},
        },
    }
    return YearlyReport(
        survey_id=survey.id,
        year=year,
        lang=lang,
        county=data.county,
        subject=subject,
        html=env.get_template("yearly.html").render(**ctx),
        text=env.get_template("yearly.txt").render(**ctx),
        xlsx=workbook_section(data, need, maturity, capacity, law, support, by_type, subject),
        payload=payload,
    )


def write_yearly(report: YearlyReport, folder: Path) -> dict[str, str]:
    """Write the HTML, the text and the XLSX into folder (arsrapport-COUNTY-YEAR.LANG.*)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {k: folder / f"{report.stem}.{ext}" for k, ext in (("html", "html"), ("text", "txt"), ("xlsx", "xlsx"))}
    files["html"].write_text(report.html, encoding="utf-8")
    files["text"].write_text(report.text, encoding="utf-8")
    files["xlsx"].write_bytes(report.xlsx)
    report.files.update({k: str(v) for k, v in files.items()})
    return report.files
