"""The quarterly needs report: numbers from metrics, words from Jinja2 templates, an e-mail message to send."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bfs_pipeline import metrics, reference
from bfs_pipeline.errors import ReportError
from bfs_pipeline.survey import Survey

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"
NEED_PREFIX = {"sv": "Behov av stöd: ", "en": "Need of support: "}

WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "subject": "Behovsrapport {county} {period}",
        "suppressed": "–",
        "lt5": "<5",
        "heading": "Behovsrapport",
        "summary": "Sammanfattning",
        "needs": "Behov av stöd per kommun",
        "needs_intro": "Andel som svarar 4–5 (stort eller mycket stort behov), antal svar (n) och förändring i procentenheter mot {previous}.",
        "municipality": "Kommun",
        "county_row": "Hela länet",
        "spread": "Golv och spridning per behov",
        "spread_intro": "Golv = lägsta kommun, max = högsta kommun, spridning = max minus golv (procentenheter; förändring mot {previous}).",
        "need": "Behov",
        "floor": "Golv",
        "median": "Median",
        "max": "Max",
        "gap": "Spridning",
        "coverage": "Vilka som svarat",
        "coverage_intro": "Antal svar per kommun och sektor under perioden. Ett svar som gäller flera kommuner räknas i var och en.",
        "total": "Totalt",
        "legend": "– = färre än {min_n} svar, visas inte av integritetsskäl. <5 = mellan 1 och 4.",
        "footer": "Skapad {generated} av bfs-pipeline. Underlaget är enkätsvar från länets aktörer.",
        "respondents": "svar",
    },
    "en": {
        "subject": "Needs report {county} {period}",
        "suppressed": "–",
        "lt5": "<5",
        "heading": "Needs report",
        "summary": "Summary",
        "needs": "Need of support per municipality",
        "needs_intro": "Share answering 4–5 (large or very large need), number of answers (n) and change in percentage points against {previous}.",
        "municipality": "Municipality",
        "county_row": "Whole county",
        "spread": "Floor and spread per need",
        "spread_intro": "Floor = lowest municipality, max = highest municipality, gap = max minus floor (percentage points; change against {previous}).",
        "need": "Need",
        "floor": "Floor",
        "median": "Median",
        "max": "Max",
        "gap": "Gap",
        "coverage": "Who answered",
        "coverage_intro": "Answers per municipality and sector in the period. An answer about several municipalities counts in each.",
        "total": "Total",
        "legend": "– = fewer than {min_n} answers, not shown for privacy. <5 = between 1 and 4.",
        "footer": "Made {generated} by bfs-pipeline from the survey answers of the county's actors.",
        "respondents": "answers",
    },
}


def fmt_pct(v: float | None, lang: str) -> str:
    if v is None or pd.isna(v):
        return WORDS[lang]["suppressed"]
    return f"{round(v * 100):d}\u00a0%"


def fmt_num(v: float | None, lang: str, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return WORDS[lang]["suppressed"]
    s = f"{v:,.{digits}f}"
    if lang == "sv":
        s = s.replace(",", "\u00a0").replace(".", ",")
    return s


def fmt_change(v: float | None, lang: str) -> str:
    """A change in percentage points, signed; blank where there is nothing to compare."""
    if v is None or pd.isna(v):
        return ""
    pts = round(v * 100)
    sign = "+" if pts > 0 else ("±" if pts == 0 else "−")
    return f"{sign}{abs(pts)}"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def fmt_int(v: int, lang: str) -> str:
    s = f"{v:,d}"
    return s.replace(",", "\u00a0") if lang == "sv" else s


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
    files: dict[str, str] = field(default_factory=dict)

    def message(self, sender: str, recipient: str) -> EmailMessage:
        """multipart/alternative with text and HTML; a Message-ID stable per (report, period, recipient)."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = message_id(self.survey_id, self.period, self.lang, recipient, sender)
        msg["Content-Language"] = self.lang
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
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


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def need_items(survey: Survey) -> list[str]:
    """The needs battery: the core's Likert questions on the need scale (B01–B09 in the default survey)."""
    return [q.id for q in survey.core if q.type == "likert" and q.scale == "NEED5"]


def municipality_question(survey: Survey) -> str:
    return next(q.id for q in survey.core if q.type == "municipalities")


def build_report(survey: Survey, responses: pd.DataFrame, period: str, lang: str = "sv", generated: dt.date | None = None) -> Report:
    """Render the report for one period from the stored responses."""
    if lang not in WORDS:
        raise ReportError(f"Language {lang!r} is not supported: use --lang sv or --lang en.")
    county_code = survey.county
    county = reference.counties()[county_code]
    munis = reference.county_municipalities(county_code)
    names = {m.code: m.name for m in munis} | {county_code: county.name}
    in_period = responses[responses["wave"] == period] if not responses.empty else responses
    if in_period.empty:
        waves = sorted(set(responses["wave"])) if not responses.empty else []
        hint = f"the waves with answers are {', '.join(waves)}" if waves else "no answers are stored yet (bfs ingest)"
        raise ReportError(f"No answers for {period}: {hint}.")
    items = need_items(survey)
    mq = municipality_question(survey)
    table = metrics.need_table(responses, items, mq, county_code)
    table = metrics.with_change(table, ["municipality", "item"], "share_high")
    spread = metrics.county_spread(table, county_code)
    spread = metrics.with_change(spread, ["item"], "gap")
    spread = metrics.with_change(spread, ["item"], "floor")
    now = table[table["wave"] == period]
    labels = {i: item_label(survey, i, lang) for i in items}

    def cell(code: str, item: str) -> dict[str, Any]:
        r = now[(now["municipality"] == code) & (now["item"] == item)]
        if r.empty:
            return {"value": WORDS[lang]["suppressed"], "n": 0, "change": "", "suppressed": True}
        row = r.iloc[0]
        return {
            "value": fmt_pct(row["share_high"], lang),
            "n": int(row["n"]),
            "change": fmt_change(row["share_high_change"], lang),
            "suppressed": bool(row["suppressed"]),
        }

    rows = [{"code": m.code, "name": m.name, "cells": [cell(m.code, i) for i in items]} for m in munis]
    county_row = {"code": county_code, "name": county.name, "cells": [cell(county_code, i) for i in items]}
    sp_now = spread[spread["wave"] == period].set_index("item")
    spread_rows = []
    for i in items:
        if i in sp_now.index:
            s = sp_now.loc[i]
            spread_rows.append(
                {
                    "item": labels[i],
                    "floor": fmt_pct(s["floor"], lang),
                    "floor_name": names[s["floor_municipality"]],
                    "median": fmt_pct(s["median"], lang),
                    "max": fmt_pct(s["max"], lang),
                    "max_name": names[s["max_municipality"]],
                    "gap": fmt_pct(s["gap"], lang),
                    "gap_change": fmt_change(s["gap_change"], lang),
                }
            )
        else:
            spread_rows.append({"item": labels[i], "floor": "–", "floor_name": "", "median": "–", "max": "–", "max_name": "", "gap": "–", "gap_change": ""})
    cov = metrics.coverage(responses, mq, county_code, period)
    sectors = list(survey.sectors)
    cov_rows = []
    for m in munis:
        c = cov[cov["municipality"] == m.code]
        cells = []
        for s_id in sectors:
            hit = c[c["sector"] == s_id]
            n = int(hit["n"].iloc[0]) if not hit.empty else 0
            cells.append(WORDS[lang]["lt5"] if 0 < n < metrics.MIN_N else fmt_int(n, lang))
        total = int(c["n"].sum())
        cov_rows.append({"name": m.name, "cells": cells, "total": WORDS[lang]["lt5"] if 0 < total < metrics.MIN_N else fmt_int(total, lang)})
    summary = _summary(in_period, now, sp_now, labels, names, county_code, lang)
    alerts: list[dict[str, Any]] = []  # issue 4 adds alerts generated from the data
    ctx = {
        "lang": lang,
        "period": period,
        "county": county.name,
        "title": survey.title.get(lang, survey.title["sv"]),
        "generated": (generated or dt.date.today()).isoformat(),
        "items": [labels[i] for i in items],
        "item_ids": items,
        "rows": rows,
        "county_row": county_row,
        "spread": spread_rows,
        "sectors": [survey.sectors[s].get(lang, survey.sectors[s]["sv"]) for s in sectors],
        "coverage": cov_rows,
        "respondents": fmt_int(len(in_period), lang),
        "summary": summary,
        "alerts": alerts,
        "min_n": metrics.MIN_N,
        "previous": metrics.prev_wave(period),
    }
    env = _environment()
    ctx["t"] = {k: v.format(previous=ctx["previous"], min_n=metrics.MIN_N, generated=ctx["generated"]) for k, v in WORDS[lang].items() if k != "subject"}
    html = env.get_template("report.html").render(**ctx)
    text = env.get_template("report.txt").render(**ctx)
    data_hash = hashlib.sha256(
        json.dumps(sorted((int(r.id), r.wave, json.dumps(r.answers, sort_keys=True)) for r in responses.itertuples()), default=str).encode()
    ).hexdigest()
    subject = WORDS[lang]["subject"].format(county=county.name, period=period)
    return Report(survey.id, period, lang, subject, html, text, summary, alerts, data_hash)


def _summary(
    in_period: pd.DataFrame, now: pd.DataFrame, spread: pd.DataFrame, labels: dict[str, str], names: dict[str, str], county: str, lang: str
) -> list[str]:
    """A few sentences generated from the same numbers as the tables."""
    out = []
    n = len(in_period)
    if lang == "sv":
        out.append(f"{fmt_int(n, lang)} svar räknas för perioden.")
    else:
        out.append(f"{fmt_int(n, lang)} responses count for the period.")
    c = now[(now["municipality"] == county) & ~now["suppressed"].astype(bool)].dropna(subset=["share_high"])
    if not c.empty:
        top = c.loc[c["share_high"].idxmax()]
        if lang == "sv":
            out.append(f"Störst behov i länet: {lower_first(labels[top['item']])} ({fmt_pct(top['share_high'], lang)} svarar 4–5).")
        else:
            out.append(f"Largest need in the county: {lower_first(labels[top['item']])} ({fmt_pct(top['share_high'], lang)} answer 4–5).")
    if not spread.empty:
        wide = spread.loc[spread["gap"].idxmax()]
        item = str(wide.name)
        if lang == "sv":
            out.append(
                f"Störst skillnad mellan kommunerna: {lower_first(labels[item])}, från {fmt_pct(wide['floor'], lang)} i {names[wide['floor_municipality']]}"
                f" till {fmt_pct(wide['max'], lang)} i {names[wide['max_municipality']]}."
            )
        else:
            out.append(
                f"Widest gap between municipalities: {lower_first(labels[item])}, from {fmt_pct(wide['floor'], lang)} in {names[wide['floor_municipality']]}"
                f" to {fmt_pct(wide['max'], lang)} in {names[wide['max_municipality']]}."
            )
    return out


def write_report(report: Report, folder: Path) -> dict[str, str]:
    """Write report.html, report.txt and a preview .eml into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"html": folder / f"behovsrapport-{report.period}.{report.lang}.html", "text": folder / f"behovsrapport-{report.period}.{report.lang}.txt"}
    files["html"].write_text(report.html, encoding="utf-8")
    files["text"].write_text(report.text, encoding="utf-8")
    report.files.update({k: str(v) for k, v in files.items()})
    return report.files
