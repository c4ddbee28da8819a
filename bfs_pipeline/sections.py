"""The report's sections on what the needs battery does not ask (issue 13): the law's floor, process maturity, how
the other sectors see each municipality, satisfaction with the county board's support, and who wants to join the
regional network.

Each section is a function of report.ReportData, as the older sections in report.py are; the tables behind them are
computed once per report (ReportData's cached properties call the `*_table` functions here) and read by the body,
the text part and the workbook alike. Every figure made from answers hides a cell with fewer than metrics.MIN_N
respondents (primary suppression) and a second cell where a hidden one could be worked out from a total
(metrics.secondary_suppress): the county's, or all sectors'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bfs_pipeline import i18n, levels, metrics
from bfs_pipeline.i18n import SUPPRESSED, fmt_change, fmt_int, fmt_pct
from bfs_pipeline.metrics import answering
from bfs_pipeline.outreach import matching

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bfs_pipeline.report import ReportData

POOL = 4  # quarters pooled where the period alone has fewer than MIN_N respondents
VIEWS: dict[str, tuple[str, ...]] = {
    # P02 ("the collaboration agreement steers the joint work in practice") is the police's word on whether
    # samverkan works. P05 asks whether the municipality's coordination function is easy to reach and has a mandate:
    # a narrower question, about one function that "Lagens krav" already follows from the municipality's side.
    "polis": ("P03", "P02", "P07"),
    "ideburen": ("I06", "I08"),
    # The business module asks nothing like "invited to the lägesbild" (N07 lists forms of collaboration): N06 only.
    "naringsliv": ("N06",),
    "myndighet": ("M08",),
}
SATISFACTION = "C04"
NETWORK = "C03"
NETWORK_YES = "1"  # "Ja": wants to take part (2 = already takes part, 0 = no, 9 = don't know)
VIEW_COLS = ["sector", "municipality", "wave", "item", "n", "share_high", "mean", "suppressed", "pooled"]


def view_labels(lang: str) -> dict[str, str]:
    """The others' view items' short labels, as the tables' columns say them."""
    _ = i18n.translator(lang)
    return {
        "P03": _("Gemensam lägesbild"),
        "P02": _("Samverkan fungerar"),
        "P07": _("Information delas"),
        "I06": _("Inbjudna till lägesbilden"),
        "I08": _("Vet vem de ska kontakta"),
        "N06": _("Vet vem de ska kontakta"),
        "M08": _("Samverkan fungerar"),
    }


def _asked(data: ReportData, qid: str) -> bool:
    return any(q.id == qid for q in data.survey.questions(None))


def view_items(data: ReportData) -> dict[str, tuple[str, ...]]:
    """The sectors and items of "Hur andra ser kommunen" that the survey asks, in VIEWS' order."""
    return {
        s: tuple(i for i in items if _asked(data, i))
        for s, items in VIEWS.items()
        if s in data.survey.sectors and any(_asked(data, i) for i in items)
    }


def respondents(responses: pd.DataFrame, roster: pd.DataFrame, county: str, mq: str) -> pd.Series:
    """Who answered, per response: the roster actor it is matched to, else the organisation's match key in its sector
    (else the response itself). Pooling counts each respondent once, so one kommunpolis who answers four quarters is
    one respondent, not four. The key leaves out the municipalities an answer names: an officer who names one more
    municipality in one quarter is still one respondent (two organisations that type the same bare name count as
    one, which only ever hides more)."""
    if responses.empty:
        return pd.Series([], index=responses.index, dtype=object)
    actors = matching.match_responses(responses, matching.Matcher.from_frame(roster, county), mq)["actor_id"]
    keys = []
    for rid, sector, org, actor in zip(
        responses["id"], responses["sector"], responses["organisation"], actors, strict=True
    ):
        if actor is not None and not pd.isna(actor):
            keys.append(f"actor:{int(actor)}")
        elif isinstance(org, str) and org.strip():
            keys.append(f"org:{sector}:{matching.match_key(org)}")
        else:
            keys.append(f"response:{rid}")
    return pd.Series(keys, index=responses.index, dtype=object)


def pooled_shares(
    responses: pd.DataFrame,
    items: Sequence[str],
    period: str,
    mq: str,
    county: str,
    window: int = POOL,
    min_n: int = metrics.MIN_N,
) -> pd.DataFrame:
    """Per municipality (and the county, under its code) and item: n, the share answering 4–5, pooled, suppressed.

    `responses` carries a `respondent` column (respondents()). Each respondent counts once, with their newest
    answer: from the period where at least min_n respondents name the municipality in it, else from the last
    `window` quarters (pooled). A cell with fewer than min_n scored answers is hidden.
    """
    cols = ["municipality", "item", "n", "share_high", "mean", "suppressed", "pooled"]
    waves = set(metrics.wave_range(period, window))
    r = responses[responses["wave"].isin(waves)] if not responses.empty else responses
    if r.empty:
        return pd.DataFrame(columns=cols)
    both = pd.concat([metrics.explode_municipalities(r, mq, county), r.assign(municipality=county)], ignore_index=True)
    both = both.sort_values(["wave", "submitted_at"], kind="stable")
    now = both[both["wave"] == period].groupby("municipality")["respondent"].nunique()
    own = set(now[now >= min_n].index)
    pooled = ~both["municipality"].isin(own)
    chosen = both[pooled | (both["wave"] == period)].drop_duplicates(["municipality", "respondent"], keep="last")
    vals = metrics.item_values(chosen, items, (1, 5))
    by = chosen["municipality"]
    n = vals.notna().groupby(by).sum()
    high = (vals >= 4).groupby(by).sum()
    total = vals.groupby(by).sum()
    out = pd.DataFrame({"n": n.stack(), "high": high.stack(), "total": total.stack()})
    out.index.names = ["municipality", "item"]
    out = out.reset_index()
    out["n"] = out["n"].astype("int64")
    out["share_high"] = out["high"] / out["n"].where(out["n"] > 0)
    out["mean"] = out["total"] / out["n"].where(out["n"] > 0)
    out["suppressed"] = out["n"] < min_n
    out.loc[out["suppressed"], ["share_high", "mean"]] = np.nan
    out["pooled"] = ~out["municipality"].isin(own)
    return out[cols]


def views_table(data: ReportData) -> pd.DataFrame:
    """Per sector of VIEWS, municipality (and the county) and item: the period's or the pooled share answering 4–5,
    with primary and secondary suppression (within each item: the county row is the total)."""
    asked = view_items(data)
    waves = set(metrics.wave_range(data.period, POOL))
    r = data.responses
    r = r[r["sector"].isin(list(asked)) & r["wave"].isin(waves)] if not r.empty else r
    if r.empty:
        return pd.DataFrame(columns=VIEW_COLS)
    r = r.assign(respondent=respondents(r, data.roster, data.county, data.mq))
    parts = []
    for sector, items in asked.items():
        own = answering(r[r["sector"] == sector], items)
        if own.empty:
            continue
        t = pooled_shares(own, items, data.period, data.mq, data.county).assign(wave=data.period, sector=sector)
        parts.append(metrics.secondary_suppress(t, data.county))
    if not parts:
        return pd.DataFrame(columns=VIEW_COLS)
    return pd.concat(parts, ignore_index=True)[VIEW_COLS]


def pool_label(data: ReportData, pooled: bool) -> str:
    """Where a figure's answers come from: the period, or the pooled quarters ("2025-Q4–2026-Q3, poolat")."""
    _ = i18n.translator(data.lang)
    if not pooled:
        return data.period
    first = metrics.prev_wave(data.period, POOL - 1)
    return _("{first}–{last}, poolat").format(first=first, last=data.period)


@dataclass(frozen=True)
class ViewTable:
    """One sector's view of the municipalities: a row per municipality, a cell per item, and the county's row."""

    sector: str  # the sector's label
    code: str  # the sector's code
    items: list[str]  # the items' labels, the columns
    rows: list[dict[str, Any]]  # the municipalities with a cell shown: name, pooled, cells (value, n, share)
    county: dict[str, Any]
    hidden: list[str]  # the names of the municipalities with every cell hidden (at most max_rows)
    hidden_more: int  # hidden ones beyond those named
    answered: bool  # any answer from the sector in the last POOL quarters
    cut: bool  # more municipalities shown than max_rows: the lowest, the workbook has them all
    pooled: str  # what a pooled row's figures cover ("2025-Q4–2026-Q3, poolat")

    @property
    def any_pooled(self) -> bool:
        return any(r["pooled"] for r in [self.county, *self.rows])


HIDDEN_CELL: dict[str, Any] = {"value": SUPPRESSED, "n": None, "share": None}


def _view_rows(data: ReportData, t: pd.DataFrame, items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per municipality code (and the county's): pooled, and a cell per item (value, n, share; hidden as –)."""
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    pooled: dict[str, bool] = {}
    for r in t.itertuples():
        code = str(r.municipality)
        pooled[code] = bool(r.pooled)
        if bool(r.suppressed) or i18n.missing(r.share_high):
            continue
        share = float(r.share_high)
        cells.setdefault(code, {})[str(r.item)] = {"value": fmt_pct(share, data.lang), "n": int(r.n), "share": share}
    return {
        code: {"pooled": p, "cells": [cells.get(code, {}).get(i, HIDDEN_CELL) for i in items]}
        for code, p in pooled.items()
    }


def views_section(data: ReportData) -> list[ViewTable]:
    """Hur andra ser kommunen: per sector, the share answering 4–5 on its view items, per municipality.

    Municipalities in the report's order; with more than half of detail_rows, those with the lowest shown share
    (hidden ones last). A single kommunpolis's answers are never shown alone: each respondent counts once however
    many quarters they answer, so a municipality's police cell needs at least MIN_N different respondents, pooled
    or not; otherwise only the county's cell shows the police's view.
    """
    _ = i18n.translator(data.lang)
    labels = view_labels(data.lang)
    t = data.views
    out = []
    limit = max(1, data.detail_rows // 2)  # four tables, one per sector: each the lowest half of detail_rows
    for sector, items in view_items(data).items():
        own = _view_rows(data, t[t["sector"] == sector], items)
        empty = {"pooled": False, "cells": [HIDDEN_CELL] * len(items)}
        every = [{"name": m.name, **own.get(m.code, empty)} for m in data.order]
        rows = [r for r in every if any(c["share"] is not None for c in r["cells"])]
        hidden = [r["name"] for r in every if all(c["share"] is None for c in r["cells"])]
        cut = len(rows) > limit
        if cut:

            def lowest(r: dict[str, Any]) -> float:
                shares = [c["share"] for c in r["cells"] if c["share"] is not None]
                return min(shares) if shares else 2.0

            keep = {id(r) for r in sorted(rows, key=lowest)[:limit]}
            rows = [r for r in rows if id(r) in keep]
        label = data.survey.sectors[sector]
        out.append(
            ViewTable(
                sector=label.get(data.lang) or label["sv"],
                code=sector,
                items=[labels.get(i) or data.survey.question(i).title(data.lang) for i in items],
                rows=rows,
                county={"name": _("Hela länet"), **own.get(data.county, empty)},
                hidden=hidden[:limit],
                hidden_more=max(0, len(hidden) - limit),
                answered=bool(own),
                cut=cut,
                pooled=pool_label(data, True),
            )
        )
    return out


def satisfaction_table(data: ReportData) -> pd.DataFrame:
    """C04 per sector (under the sector's code) and for all sectors (under the county's code), in the period and
    the quarter before: n scored (8 = not used, 9 = don't know are not), share answering 4–5, suppressed (also
    secondarily: the sectors add up to all sectors)."""
    cols = ["municipality", "wave", "item", "n", "share_high", "mean", "suppressed"]
    if not _asked(data, SATISFACTION):
        return pd.DataFrame(columns=cols)
    r = data.responses
    r = answering(r[r["wave"].isin([data.period, data.previous])], [SATISFACTION]) if not r.empty else r
    if r.empty:
        return pd.DataFrame(columns=cols)
    both = pd.concat([r.assign(municipality=r["sector"]), r.assign(municipality=data.county)], ignore_index=True)
    vals = metrics.item_values(both, [SATISFACTION], (1, 5))[SATISFACTION]
    g = pd.DataFrame({"scored": vals.notna(), "high": vals >= 4, "value": vals}).groupby(
        [both["municipality"], both["wave"]]
    )
    out = pd.DataFrame({"n": g["scored"].sum(), "high": g["high"].sum(), "total": g["value"].sum()}).reset_index()
    out = out[out["n"] > 0].assign(item=SATISFACTION)
    out["n"] = out["n"].astype("int64")
    out["share_high"] = out["high"] / out["n"]
    out["mean"] = out["total"] / out["n"]
    out["suppressed"] = out["n"] < metrics.MIN_N
    out.loc[out["suppressed"], ["share_high", "mean"]] = np.nan
    return metrics.secondary_suppress(out[cols], data.county)[cols]


def satisfaction_section(data: ReportData) -> list[dict[str, Any]]:
    """C04 by sector at county level: n, the share satisfied (4–5) and its change on the quarter before, hidden
    under MIN_N respondents; the last row is all sectors. Empty when the survey does not ask C04."""
    _ = i18n.translator(data.lang)
    t = data.satisfaction
    if t.empty:
        return []
    now = t[t["wave"] == data.period].set_index("municipality")
    before = t[t["wave"] == data.previous].set_index("municipality")
    rows = []
    sectors = [(s, v.get(data.lang) or v["sv"]) for s, v in data.survey.sectors.items()]
    for code, label in [*sectors, (data.county, _("Alla sektorer"))]:
        hit = now.loc[code] if code in now.index else None
        shown = hit is not None and not bool(hit["suppressed"]) and not i18n.missing(hit["share_high"])
        prev = before.loc[code] if code in before.index else None
        change = ""
        if shown and prev is not None and not bool(prev["suppressed"]) and not i18n.missing(prev["share_high"]):
            change = fmt_change(float(hit["share_high"]) - float(prev["share_high"]))  # type: ignore[index]
        rows.append(
            {
                "sector": label,
                "value": fmt_pct(float(hit["share_high"]), data.lang) if shown else SUPPRESSED,  # type: ignore[index]
                "n": int(hit["n"]) if shown else None,  # type: ignore[index]
                "change": change,
                "total": code == data.county,
            }
        )
    return rows


def network_table(data: ReportData) -> pd.DataFrame:
    """The organisations that answered C03 = 1 ("Ja", want to join the regional network) in the period: the roster's
    name where the answer is matched to it, else the organisation as given; their municipalities. Nothing else of
    their answers. One row per name, in the report's municipality order (county-wide last), then by name."""
    cols = ["name", "in_roster", "municipalities"]
    if not _asked(data, NETWORK):
        return pd.DataFrame(columns=cols)
    r = data.responses
    r = r[r["wave"] == data.period] if not r.empty else r
    if r.empty:
        return pd.DataFrame(columns=cols)
    r = r[[str((a or {}).get(NETWORK, "")).strip() == NETWORK_YES for a in r["answers"]]]
    if r.empty:
        return pd.DataFrame(columns=cols)
    actors = matching.match_responses(r, matching.Matcher.from_frame(data.roster, data.county), data.mq)["actor_id"]
    has_ids = not data.roster.empty and "id" in data.roster
    names = dict(zip(data.roster["id"], data.roster["name"], strict=True)) if has_ids else {}
    rank = {m.code: i for i, m in enumerate(data.order)}
    found: dict[str, dict[str, Any]] = {}
    for org, answers, actor in zip(r["organisation"], r["answers"], actors, strict=True):
        matched = actor is not None and not pd.isna(actor) and int(actor) in names
        name = str(names[int(actor)]) if matched else str(org or "").strip()
        if not name:
            continue
        munis = answers.get(data.mq) or []
        munis = [str(m) for m in (munis if isinstance(munis, list) else [munis])]
        entry = found.setdefault(name, {"name": name, "in_roster": matched, "municipalities": []})
        entry["municipalities"] = sorted(set(entry["municipalities"]) | set(munis), key=lambda c: rank.get(c, 1e9))
    rows = sorted(
        found.values(), key=lambda e: (min((rank.get(c, 1e9) for c in e["municipalities"]), default=1e9), e["name"])
    )
    return pd.DataFrame(rows, columns=cols)


def network_names(data: ReportData, codes: Sequence[str]) -> str:
    """Municipality codes as names ("Hela länet" for the county's code)."""
    _ = i18n.translator(data.lang)
    return i18n.fmt_list([_("Hela länet") if c == data.county else data.names.get(c, c) for c in codes], data.lang)


@dataclass(frozen=True)
class Network:
    """Who wants to join the regional network, for invitations: names and municipalities only."""

    rows: list[dict[str, Any]]  # name, where, in_roster; at most max_rows
    more: int  # listed in the workbook only
    asked: bool  # the survey asks C03


def network_section(data: ReportData) -> Network:
    """The organisations that want to join the regional network (C03 = "Ja") in the period, at most max_rows."""
    t = data.network
    rows = [
        {"name": r.name, "where": network_names(data, r.municipalities), "in_roster": bool(r.in_roster)}
        for r in t.itertuples()
    ]
    return Network(rows=rows[: data.max_rows], more=max(0, len(rows) - data.max_rows), asked=_asked(data, NETWORK))


def law_labels(lang: str) -> dict[str, str]:
    """The requirements' names, as the law section's columns say them."""
    _ = i18n.translator(lang)
    return {
        levels.Requirement.LAGESBILD.value: _("Lägesbild"),
        levels.Requirement.ATGARDSPLAN.value: _("Åtgärdsplan"),
        levels.Requirement.SAMORDNING.value: _("Samordningsfunktion"),
    }


def law_answers(data: ReportData) -> pd.DataFrame:
    """The municipalities' answers that report one of K01–K03 (yearly questions: the national scale has 200 000
    answers without them)."""
    r = data.responses
    if r.empty:
        return r
    return answering(r[r["sector"] == levels.KOMMUN], list(levels.LAW_QUESTIONS.values()))


def law_table(data: ReportData) -> pd.DataFrame:
    """levels.law_status in the period and a year before, one row per municipality and requirement (those nobody
    reported included, with code None): code, wave, met, since, met_year_ago, and levels.meets_all's answer for the
    municipality now and a year before (all_met, all_met_year_ago: True, False, or None where not known)."""
    r = data.law_answers
    now = levels.law_status(r, data.mq, data.county, data.period, data.law_history)
    before = levels.law_status(r, data.mq, data.county, data.year_ago, data.law_history)
    grid = pd.DataFrame(
        [(m.code, r.value) for m in data.munis for r in levels.Requirement], columns=["municipality", "requirement"]
    )
    out = grid.merge(now.drop(columns=["question"]), on=["municipality", "requirement"], how="left")
    out["question"] = out["requirement"].map({r.value: q for r, q in levels.LAW_QUESTIONS.items()})
    was = before.set_index(["municipality", "requirement"])["met"]
    out["met_year_ago"] = [was.get((m, r)) for m, r in zip(out["municipality"], out["requirement"], strict=True)]
    for column, status in (("all_met", now), ("all_met_year_ago", before)):
        every = levels.meets_all(status)
        out[column] = [None if pd.isna(every.get(m, pd.NA)) else bool(every[m]) for m in out["municipality"]]
    return out.astype({"code": object, "wave": object, "met": object, "since": object})


def _all_three(t: pd.DataFrame, column: str) -> dict[str, bool | None]:
    """Per municipality: all three requirements met (True), one not met (False), or not known (None)."""
    firsts = t.drop_duplicates("municipality")
    return {
        str(m): (None if v is None else bool(v)) for m, v in zip(firsts["municipality"], firsts[column], strict=True)
    }


@dataclass(frozen=True)
class Law:
    """Lagens krav: each municipality's lägesbild, åtgärdsplan and samordningsfunktion, and the county's count."""

    requirements: list[str]  # the columns' names
    rows: list[dict[str, Any]]  # the municipalities that reported: name, all (False/None/True), cells; not met first
    met: list[str]  # the names of those meeting all three that the table has no room for (at most max_rows)
    met_more: int  # meeting all three beyond those named: in the workbook
    silent: list[str]  # the names of those that have reported none of the three, at most max_rows
    silent_more: int
    meet_all: int  # municipalities that meet all three now
    meet_all_year_ago: int  # the same a year before
    unknown: int  # municipalities where one requirement is not known (no answer, or "vet ej")
    total: int  # the county's municipalities
    cut: bool  # more than max_rows municipalities reported: those not meeting the law first; the workbook has all
    asked: bool  # the survey asks K01–K03


def law_section(data: ReportData) -> Law:
    """Per municipality, K01–K03's current status and the wave it was last reported (yearly questions, carried
    forward): those not meeting a requirement first, then those where one is not known, then those meeting all three,
    at most max_rows (those meeting all three beyond them by name); the names of those that reported none; how many
    meet all three now and a year before.

    The municipalities' own organisational facts, not opinions: shown whatever n, as the capacity table shows them.
    """
    _ = i18n.translator(data.lang)
    t = data.law
    labels = law_labels(data.lang)
    now, before = _all_three(t, "all_met"), _all_three(t, "all_met_year_ago")
    rank = {False: 0, None: 1, True: 2}
    by = {(r.municipality, r.requirement): r for r in t.itertuples()}
    reported = {m for (m, _req), r in by.items() if not i18n.missing(r.code)}
    ordered = sorted((m for m in data.order if m.code in reported), key=lambda m: rank[now.get(m.code)])
    shown = ordered[: data.detail_rows]
    met = [m.name for m in ordered[data.detail_rows :] if now.get(m.code) is True]
    silent = [m.name for m in data.order if m.code not in reported]
    rows = []
    for m in shown:
        cells = []
        for req in levels.Requirement:
            r = by.get((m.code, req.value))
            code = None if r is None or i18n.missing(r.code) else str(r.code)
            ok = None if r is None or r.met is None or i18n.missing(r.met) else bool(r.met)
            label = _("Inget svar") if code is None else choice_label(data, levels.LAW_QUESTIONS[req], code)
            cells.append(
                {
                    "label": label,
                    "short": label.split(",")[0] if ok else label,  # the body: "Ja" where met, the rest in full
                    "wave": "" if code is None else str(r.wave),  # type: ignore[union-attr]
                    "met": ok,
                }
            )
        rows.append({"name": m.name, "all": now.get(m.code), "cells": cells})
    return Law(
        requirements=[labels[r.value] for r in levels.Requirement],
        rows=rows,
        met=met[: data.detail_rows],
        met_more=max(0, len(met) - data.detail_rows),
        silent=silent[: data.detail_rows],
        silent_more=max(0, len(silent) - data.detail_rows),
        meet_all=sum(1 for m in data.munis if now.get(m.code) is True),
        meet_all_year_ago=sum(1 for v in before.values() if v is True),
        unknown=sum(1 for m in data.munis if now.get(m.code) is None),
        total=len(data.munis),
        cut=len(ordered) > data.detail_rows,
        asked=any(_asked(data, q) for q in levels.LAW_QUESTIONS.values()),
    )


def choice_label(data: ReportData, qid: str, code: str) -> str:
    """A choice's label in the report's language, or the code where the survey does not know it."""
    try:
        q = data.survey.question(qid)
    except Exception:  # a survey without the question: the code as given
        return code
    return next((c.label(data.lang) for c in q.choices if c.code == code), code)


MATURITY = "maturity"  # the maturity index's item name in tables shaped like the need table


def maturity_figures(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """levels.maturity over the history waves (the workbook's; the changes look four back) and the steps the survey
    asks: the maturity index, and the steps' cells with secondary suppression per wave and step."""
    items = [i for i in levels.MATURITY_ITEMS if _asked(data, i)]
    r = data.responses
    r = r[r["wave"].isin(data.history)] if not r.empty else r
    index, cells = levels.maturity(r, data.mq, data.county, items)
    return index, metrics.secondary_suppress(cells, data.county) if not cells.empty else cells


def maturity_table(data: ReportData) -> pd.DataFrame:
    """The maturity index pooled over the steps' cells shown, with secondary suppression per wave (the county's row
    is the total) and the change on the quarter before and the year before."""
    cols = ["municipality", "wave", "n", "answers", "index", "suppressed", "q_change", "y_change"]
    idx, cells = data.maturity_figures
    if idx.empty:
        return pd.DataFrame(columns=cols)
    idx = metrics.index_over_shown_cells(idx, cells)  # no hidden step can be worked out from it
    t = idx.assign(item=MATURITY, share_high=idx["index"], mean=np.nan)
    t = metrics.secondary_suppress(t, data.county)
    t["index"] = t["share_high"]
    q = metrics.with_change(t, ["municipality"], "index", back=1)
    y = metrics.with_change(t, ["municipality"], "index", back=4)[["municipality", "wave", "index_change"]]
    out = q.rename(columns={"index_change": "q_change"}).merge(
        y.rename(columns={"index_change": "y_change"}), on=["municipality", "wave"], how="left"
    )
    return out[cols]


def maturity_steps_table(data: ReportData) -> pd.DataFrame:
    """The steps' cells (maturity_figures) in the period and the quarter before: each step per municipality, as the
    section and the steps sheet show them."""
    t = data.maturity_figures[1]
    return t[t["wave"].isin([data.period, data.previous])].reset_index(drop=True) if not t.empty else t


def step_labels(lang: str) -> dict[str, str]:
    """The five steps of the knowledge-based process (K12a–e)."""
    _ = i18n.translator(lang)
    return {
        "K12a": _("Kartläggning"),
        "K12b": _("Orsaksanalys"),
        "K12c": _("Val av åtgärder"),
        "K12d": _("Genomförande"),
        "K12e": _("Uppföljning"),
    }


@dataclass(frozen=True)
class Maturity:
    """Processmognad: the maturity index per municipality (the lowest first), its spread, and each step's."""

    rows: list[dict[str, Any]]  # the municipalities shown: name, value, n, q, y; the lowest first
    county: dict[str, Any]
    hidden: list[str]  # the names of those hidden (fewer than MIN_N respondents), at most max_rows
    hidden_more: int
    spread: dict[str, str]  # lowest, lowest_name, median, highest, highest_name, gap, gap_pp, gap_change
    steps: list[dict[str, str]]  # step, county, county_n, lowest, lowest_name, median, highest, highest_name
    asked: bool  # the survey asks K12a–e
    cut: bool
    answered: bool = True  # some municipality answered K12a–e in the period


def _maturity_row(rows: dict[str, Any], code: str, name: str, lang: str) -> dict[str, Any]:
    r = rows.get(code)
    if r is None or bool(r["suppressed"]) or i18n.missing(r["index"]):
        return {"name": name, "value": SUPPRESSED, "n": None, "q": "", "y": "", "index": None}
    return {
        "name": name,
        "value": fmt_pct(float(r["index"]), lang),
        "n": int(r["n"]),
        "q": fmt_change(r["q_change"]),
        "y": fmt_change(r["y_change"]),
        "index": float(r["index"]),
    }


def _spread(table: pd.DataFrame, data: ReportData, value: str, item: str) -> dict[str, str]:
    """The lowest, median and highest municipality shown, and the gap with its change on the quarter before."""
    lang = data.lang
    spread = metrics.county_spread(table, data.county, value) if not table.empty else pd.DataFrame()
    if not spread.empty:
        spread = metrics.with_change(spread, ["item"], "gap").set_index(["wave", "item"])
    if spread.empty or (data.period, item) not in spread.index:
        empty = {k: SUPPRESSED for k in ("lowest", "median", "highest", "gap", "gap_pp")}
        return empty | {"lowest_name": "", "highest_name": "", "gap_change": ""}
    s = spread.loc[(data.period, item)]
    return {
        "lowest": fmt_pct(s["floor"], lang),
        "lowest_name": data.names.get(s["floor_municipality"], s["floor_municipality"]),
        "median": fmt_pct(s["median"], lang),
        "highest": fmt_pct(s["max"], lang),
        "highest_name": data.names.get(s["max_municipality"], s["max_municipality"]),
        "gap": SUPPRESSED if i18n.points(s["gap"]) is None else fmt_int(i18n.points(s["gap"]), lang),  # type: ignore[arg-type]
        "gap_pp": i18n.fmt_pp(s["gap"], lang, signed=False),
        "gap_change": fmt_change(s["gap_change"]),
    }


def maturity_section(data: ReportData) -> Maturity:
    """The period's maturity index per municipality, the lowest first (here low is the floor), with n and its change
    on the quarter before and the year before; the lowest, median and highest municipality and the gap; per step
    the county's share and the lowest, median and highest municipality. Hidden under MIN_N respondents."""
    _ = i18n.translator(data.lang)
    t = data.maturity
    now = t[t["wave"] == data.period] if not t.empty else t
    by = {str(r["municipality"]): r for r in now.to_dict("records")}
    every = [_maturity_row(by, m.code, m.name, data.lang) for m in data.order]
    rows = sorted((r for r in every if r["index"] is not None), key=lambda r: r["index"])  # the floor first
    hidden = [r["name"] for r in every if r["index"] is None]
    tagged = t.assign(item=MATURITY) if not t.empty else t.assign(item=pd.Series(dtype=object))
    steps_t = data.maturity_steps
    labels = step_labels(data.lang)
    steps = []
    for item in levels.MATURITY_ITEMS:
        if not _asked(data, item):
            continue
        c = steps_t[
            (steps_t["municipality"] == data.county) & (steps_t["wave"] == data.period) & (steps_t["item"] == item)
        ]
        shown = not c.empty and not bool(c.iloc[0]["suppressed"]) and not i18n.missing(c.iloc[0]["share_high"])
        steps.append(
            {
                "step": labels.get(item, item),
                "county": fmt_pct(float(c.iloc[0]["share_high"]), data.lang) if shown else SUPPRESSED,
                "county_n": str(int(c.iloc[0]["n"])) if shown else "",
                **_spread(steps_t, data, "share_high", item),
            }
        )
    return Maturity(
        rows=rows[: data.detail_rows],
        county=_maturity_row(by, data.county, _("Hela länet"), data.lang),
        hidden=hidden[: data.detail_rows],
        hidden_more=max(0, len(hidden) - data.detail_rows),
        spread=_spread(tagged, data, "index", MATURITY),
        steps=steps,
        asked=any(_asked(data, i) for i in levels.MATURITY_ITEMS),
        cut=len(rows) > data.detail_rows,
        answered=data.county in by,
    )
