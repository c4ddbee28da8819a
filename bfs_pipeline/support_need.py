"""The report's section "Stöd i förhållande till behov" (#14): the support the coordinator gave, from her own log,
set against the need the answers show.

Definitions (the section's text says them too):
- Support is counted over WINDOW quarters: the period and the one before. Events are counted once per municipality
  they reached (`event_id.nunique()`); hours are shared out by the log's weight (`hours * weight`): an event for
  several municipalities or needs gives each an equal part, an event for the whole county each municipality an
  equal part, so the hours of any table add up to the log's total and nothing is counted twice.
- Per 10 000 inhabitants: divided by the population of ReportData.population (the year says which).
- Share of support against share of need: among the municipalities whose need index is shown, a municipality's
  share of the hours, and its need index over the sum of their need indexes.
- Per need: the hours given for that need, the municipality that got most of them and its share, and the
  municipality with the greatest need of that item (the share answering 4–5, as the spread table shows it) with
  the hours it got for that need of the kinds that answer it (NEED_KINDS; any kind for the other needs).

Support figures are the coordinator's own log, not respondents' answers: shown whatever their size. Need figures
keep the report's suppression (primary and secondary): a hidden cell stays hidden and plays no part in a share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from bfs_pipeline import i18n, metrics
from bfs_pipeline.i18n import SUPPRESSED, fmt_int, fmt_num, fmt_pct, missing
from bfs_pipeline.support.log import EVENT_COLUMNS

if TYPE_CHECKING:
    from bfs_pipeline.report import ReportData

WINDOW = 2  # quarters of support set against the period's need: the period and the one before
# The support kinds that answer a need; a need not listed is answered by support of any kind.
NEED_KINDS: dict[str, tuple[str, ...]] = {
    "B03": ("utbildning",),  # training of the local crime-prevention council
    "B05": ("metodstöd", "rådgivning"),  # method support
    "B08": ("nätverksträff",),  # meeting places and collaboration in the county
}
IMPORT_COMMAND = "bfs support import FIL"


def kinds_for(item: str) -> tuple[str, ...] | None:
    """The support kinds that count for a need; None: any kind."""
    return NEED_KINDS.get(item)


def answering(events: pd.DataFrame, item: str) -> pd.DataFrame:
    """The rows of the events that gave support for this need, of a kind that answers it."""
    rows = events[events["need"] == item]
    kinds = kinds_for(item)
    return rows if kinds is None else rows[rows["kind"].isin(kinds)]


def window(period: str) -> list[str]:
    return metrics.wave_range(period, WINDOW)


def in_window(support: pd.DataFrame | None, period: str) -> pd.DataFrame:
    """The support log's rows of the window (an empty frame with the log's columns when there is no log)."""
    if support is None or support.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS).astype({"hours": "float64", "weight": "float64"})
    return support[support["period"].isin(window(period))]


def shared_hours(events: pd.DataFrame) -> float:
    return float((events["hours"] * events["weight"]).sum()) if not events.empty else 0.0


def _per10k(value: float, inhabitants: int) -> float | None:
    return value / inhabitants * 10_000 if inhabitants else None


def support_table(data: ReportData) -> pd.DataFrame:
    """Per municipality, in the report's order: the period's need index (NaN where hidden), n, the window's events
    and hours, inhabitants and their year, events and hours per 10 000, and the shares of hours and need among the
    municipalities shown."""
    ev = data.support_window
    now = data.index[data.index["wave"] == data.period].set_index("municipality")
    by_m_hours = (ev["hours"] * ev["weight"]).groupby(ev["municipality"]).sum() if not ev.empty else pd.Series()
    by_m_events = ev.groupby("municipality")["event_id"].nunique() if not ev.empty else pd.Series()
    rows = []
    for m in data.order:
        r = now.loc[m.code] if m.code in now.index else None
        shown = r is not None and not bool(r["suppressed"]) and not missing(r["index"])
        inhabitants, year = data.population.get(m.code, (0, 0))
        events = int(by_m_events.get(m.code, 0))
        hours = float(by_m_hours.get(m.code, 0.0))
        rows.append(
            {
                "municipality": m.code,
                "index": float(r["index"]) if shown else float("nan"),  # type: ignore[index]
                "n": int(r["n"]) if shown else None,  # type: ignore[index]
                "events": events,
                "hours": hours,
                "inhabitants": inhabitants or None,
                "pop_year": year or None,
                "events_10k": _per10k(events, inhabitants),
                "hours_10k": _per10k(hours, inhabitants),
            }
        )
    t = pd.DataFrame(rows)
    counted = t["index"].notna()
    need_sum, hours_sum = t.loc[counted, "index"].sum(), t.loc[counted, "hours"].sum()
    t["share_need"] = (t["index"] / need_sum).where(counted) if need_sum else float("nan")
    t["share_hours"] = (t["hours"] / hours_sum).where(counted) if hours_sum else float("nan")
    return t


def by_need_table(data: ReportData) -> pd.DataFrame:
    """Per need and municipality: the window's hours and events for the need, hours of the kinds that answer it,
    and the period's share answering 4–5 with its suppression (the need table's, primary and secondary)."""
    ev = data.support_window
    cells = data.table[(data.table["wave"] == data.period) & (data.table["municipality"] != data.county)]
    shown_cells = {  # (municipality, item) -> (share_high, n) of the cells shown
        (m, i): (float(share), int(n))
        for m, i, share, n, hid in zip(
            cells["municipality"], cells["item"], cells["share_high"], cells["n"], cells["suppressed"], strict=True
        )
        if not bool(hid) and not missing(share)
    }
    rows = []
    for item in data.items:
        mine = ev[ev["need"] == item] if not ev.empty else ev
        fit = answering(mine, item) if not mine.empty else mine
        hours = (mine["hours"] * mine["weight"]).groupby(mine["municipality"]).sum() if not mine.empty else {}
        fit_hours = (fit["hours"] * fit["weight"]).groupby(fit["municipality"]).sum() if not fit.empty else {}
        events = mine.groupby("municipality")["event_id"].nunique() if not mine.empty else {}
        for m in data.order:
            c = shown_cells.get((m.code, item))
            rows.append(
                {
                    "item": item,
                    "municipality": m.code,
                    "hours": float(hours.get(m.code, 0.0)),
                    "events": int(events.get(m.code, 0)),
                    "fit_hours": float(fit_hours.get(m.code, 0.0)),
                    "share_high": float("nan") if c is None else c[0],
                    "n": None if c is None else c[1],
                    "suppressed": c is None,
                }
            )
    return pd.DataFrame(rows)


def kinds_label(item: str, lang: str) -> str:
    """The kinds that count for a need, in words: "metodstöd eller rådgivning", or "alla typer"."""
    _ = i18n.translator(lang)
    kinds = kinds_for(item)
    if kinds is None:
        return _("alla typer")
    words = {
        "utbildning": _("utbildning"),
        "nätverksträff": _("nätverksträff"),
        "metodstöd": _("metodstöd"),
        "besök": _("besök"),
        "rådgivning": _("rådgivning"),
        "annat": _("annat"),
    }
    return _(" eller ").join(words[k] for k in kinds)


@dataclass(frozen=True)
class SupportNeed:
    """The section as the page, the text part and the workbook show it."""

    logged: bool  # a support log with events in the history window was given
    any_in_window: bool  # it has events in the WINDOW quarters
    quarters: str  # "2026-Q2 och 2026-Q3"
    events: str  # the window's events, each once
    events_n: int
    hours: str  # the window's hours
    rows: list[dict[str, Any]]  # per municipality, the most urgent max_rows (highest need first)
    cut: bool  # more municipalities than rows: the workbook has them all
    greatest: dict[str, str] | None  # the municipality with the greatest need: name, share_hours, share_need
    needs: list[dict[str, Any]]  # per need
    any_none: bool  # some need's greatest-need municipality got no hours of a kind that answers it
    kinds_note: str  # which kinds count for which needs
    pop_year: str


def _quarters(period: str, lang: str) -> str:
    return i18n.fmt_list(window(period), lang)


def support_section(data: ReportData) -> SupportNeed:
    """Stöd i förhållande till behov: see the module's docstring for what each figure is."""
    _ = i18n.translator(data.lang)
    lang = data.lang
    ev = data.support_window
    logged = data.support is not None and not data.support.empty
    t = data.support_need
    rows: list[dict[str, Any]] = []
    for r in t.itertuples():
        if len(rows) == data.detail_rows:
            break
        rows.append(
            {
                "name": data.names[r.municipality],
                "index": fmt_pct(r.index, lang),
                "n": None if missing(r.n) else int(r.n),
                "events": fmt_int(int(r.events), lang),
                "hours": fmt_num(r.hours, lang, 1),
                "events_10k": fmt_num(r.events_10k, lang, 1),
                "hours_10k": fmt_num(r.hours_10k, lang, 1),
                "share_hours": "" if missing(r.share_hours) else fmt_pct(r.share_hours, lang),
                "share_need": "" if missing(r.share_need) else fmt_pct(r.share_need, lang),
            }
        )
    needs = _need_rows(data) if logged and not ev.empty else []
    greatest = None
    shown = t[t["index"].notna()]
    if logged and not shown.empty and not ev.empty:
        g = shown.loc[shown["index"].idxmax()]
        greatest = {
            "name": data.names[str(g["municipality"])],
            "index": fmt_pct(float(g["index"]), lang),
            "share_hours": fmt_pct(float(g["share_hours"]), lang),
            "share_need": fmt_pct(float(g["share_need"]), lang),
            "counted": fmt_int(len(shown), lang),
        }
    return SupportNeed(
        logged=logged,
        any_in_window=not ev.empty,
        quarters=_quarters(data.period, lang),
        events=fmt_int(int(ev["event_id"].nunique()) if not ev.empty else 0, lang),
        events_n=int(ev["event_id"].nunique()) if not ev.empty else 0,
        hours=fmt_num(shared_hours(ev), lang, 1),
        rows=rows if logged else [],
        cut=len(t) > data.detail_rows,
        greatest=greatest,
        needs=needs,
        any_none=any(n["none"] for n in needs),
        kinds_note="; ".join(
            f"{data.labels[i].split(' (')[0].lower()} ({i}): {kinds_label(i, lang)}"
            for i in data.items
            if i in NEED_KINDS
        ),
        pop_year=_pop_years(data),
    )


def _pop_years(data: ReportData) -> str:
    years = sorted({data.population[m.code][1] for m in data.munis if m.code in data.population})
    if not years:
        return SUPPRESSED
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def greatest_of(cells: pd.DataFrame) -> tuple[pd.Series, pd.Series | None] | None:
    """The shown cell with the greatest share answering 4–5, and the next greatest (None when it is alone)."""
    shown = cells[~cells["suppressed"].astype(bool)].dropna(subset=["share_high"])
    if shown.empty:
        return None
    ranked = shown.sort_values(["share_high", "municipality"], ascending=[False, True], kind="stable")
    return ranked.iloc[0], (ranked.iloc[1] if len(ranked) > 1 else None)


def _need_rows(data: ReportData) -> list[dict[str, Any]]:
    _ = i18n.translator(data.lang)
    lang = data.lang
    t = data.support_by_need
    ev = data.support_window
    out = []
    for item in data.items:
        mine = t[t["item"] == item]
        total = float(mine["hours"].sum())
        top = mine.loc[mine["hours"].idxmax()] if total > 0 else None
        tied = int((mine["hours"].round(6) == round(float(top["hours"]), 6)).sum()) if top is not None else 0
        g = greatest_of(mine)
        got = float(g[0]["fit_hours"]) if g is not None else None
        out.append(
            {
                "item": data.labels[item],
                "code": item,
                "hours": fmt_num(total, lang, 1),
                "events": fmt_int(int(ev.loc[ev["need"] == item, "event_id"].nunique()), lang),
                "top_name": ""
                if top is None
                else data.names[str(top["municipality"])]
                if tied == 1
                else _("lika till {n} kommuner").format(n=fmt_int(tied, lang)),
                "top_share": fmt_pct(float(top["hours"]) / total, lang) if top is not None else SUPPRESSED,
                "most_name": data.names[str(g[0]["municipality"])] if g is not None else "",
                "most": fmt_pct(float(g[0]["share_high"]), lang) if g is not None else SUPPRESSED,
                "got": fmt_num(got, lang, 1) if got is not None else SUPPRESSED,
                "none": got is not None and got == 0,
                "kinds": kinds_label(item, lang),
            }
        )
    return out
