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

from bfs_pipeline import alerts as alerting
from bfs_pipeline import charts as charting
from bfs_pipeline import export, metrics, reference
from bfs_pipeline.errors import ReportError
from bfs_pipeline.survey import Survey
from bfs_pipeline.wording import SUPPRESSED, WORDS, fmt_change, fmt_int, fmt_num, fmt_pct, missing

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"
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
HISTORY = 8
__all__ = ["Report", "build_report", "fmt_change", "fmt_int", "fmt_num", "fmt_pct", "message_id", "write_report"]


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

    def message(self, sender: str, recipient: str) -> EmailMessage:
        """mixed → alternative(text, related(html, PNGs)) + the XLSX; a Message-ID stable per (report, period, recipient)."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = message_id(self.survey_id, self.period, self.lang, recipient, sender)
        msg["Content-Language"] = self.lang
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        html_part: EmailMessage = msg.get_payload()[1]  # type: ignore[index,assignment]
        for chart in self.charts:
            html_part.add_related(chart.png, "image", "png", cid=f"<{chart.cid}>", disposition="inline", filename=chart.filename)
        if self.xlsx:
            msg.add_attachment(self.xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=self.xlsx_name)
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
    t = metrics.with_change(table, ["municipality", "item"], "share_high", back=1).rename(
        columns={"share_high_prev": "q_prev", "share_high_change": "q_change"}
    )
    y = metrics.with_change(table, ["municipality", "item"], "share_high", back=4)[["municipality", "item", "wave", "share_high_change"]]
    return t.merge(y.rename(columns={"share_high_change": "y_change"}), on=["municipality", "item", "wave"], how="left")


def build_report(
    survey: Survey,
    responses: pd.DataFrame,
    period: str,
    lang: str = "sv",
    roster: pd.DataFrame | None = None,
    generated: dt.date | None = None,
    min_coverage: float = 0.5,
    max_rows: int = 20,
) -> Report:
    """Render the report for one period from the stored responses (and the roster, for coverage)."""
    if lang not in WORDS:
        raise ReportError(f"Language {lang!r} is not supported: use --lang sv or --lang en.")
    from bfs_pipeline.roster import org_key

    county_code = survey.county
    county = reference.counties()[county_code]
    munis = reference.county_municipalities(county_code)
    names = {m.code: m.name for m in munis} | {county_code: county.name}
    in_period = responses[responses["wave"] == period] if not responses.empty else responses
    if in_period.empty:
        waves = sorted(set(responses["wave"])) if not responses.empty else []
        hint = f"the waves with answers are {', '.join(waves)}" if waves else "no answers are stored yet (bfs ingest)"
        raise ReportError(f"No answers for {period}: {hint}.")
    roster = roster if roster is not None else pd.DataFrame()
    if not roster.empty:  # one installation may serve several counties: this report counts its own county's actors
        own = {m.code for m in munis} | {county_code}
        roster = roster[[set(ms) <= own for ms in roster["municipalities"]]]
    w = WORDS[lang]
    previous, year_ago = metrics.prev_wave(period), metrics.prev_wave(period, 4)
    history = metrics.wave_range(period, HISTORY)
    upto = responses[responses["wave"] <= period]
    items = need_items(survey)
    mq = municipality_question(survey)
    labels = {i: item_label(survey, i, lang) for i in items}

    upto = metrics.with_scores(upto, items)
    per_m = metrics.explode_municipalities(upto, mq, county_code)  # once: a response naming several municipalities counts in each
    table = _changes(metrics.secondary_suppress(metrics.need_table(upto, items, mq, county_code, exploded=per_m), county_code))
    index = metrics.need_index(upto, items, mq, county_code, exploded=per_m)
    now_index = index[(index["wave"] == period)].set_index("municipality")
    order = sorted(munis, key=lambda m: -(now_index["index"].get(m.code, -1) if not missing(now_index["index"].get(m.code)) else -1))
    max_cols = 8  # municipalities side by side that still fit 600 px
    shown = order[:max_cols] if len(munis) > max_cols else munis
    now = table[table["wave"] == period]

    def cell(code: str, item: str) -> dict[str, Any]:
        r = now[(now["municipality"] == code) & (now["item"] == item)]
        if r.empty or bool(r.iloc[0]["suppressed"]):
            return {"value": SUPPRESSED, "n": None, "q": "", "y": "", "suppressed": True}
        row = r.iloc[0]
        return {
            "value": fmt_pct(row["share_high"]),
            "n": int(row["n"]),
            "q": fmt_change(row["q_change"]),
            "y": fmt_change(row["y_change"]),
            "suppressed": False,
        }

    rows = [{"code": m.code, "name": m.name, "cells": [cell(m.code, i) for i in items]} for m in shown]
    county_row = {"code": county_code, "name": w["county_row"], "cells": [cell(county_code, i) for i in items]}

    spread = metrics.with_change(metrics.county_spread(table, county_code), ["item"], "gap").set_index(["wave", "item"])
    spread_rows = []
    for i in items:
        if (period, i) in spread.index:
            s = spread.loc[(period, i)]
            spread_rows.append(
                {
                    "item": labels[i],
                    "floor": fmt_pct(s["max"]),
                    "floor_name": names[s["max_municipality"]],
                    "median": fmt_pct(s["median"]),
                    "least": fmt_pct(s["floor"]),
                    "least_name": names[s["floor_municipality"]],
                    "gap": fmt_pct(s["gap"]),
                    "gap_change": fmt_change(s["gap_change"]),
                }
            )
        else:
            spread_rows.append(
                {
                    "item": labels[i],
                    "floor": SUPPRESSED,
                    "floor_name": "",
                    "median": SUPPRESSED,
                    "least": SUPPRESSED,
                    "least_name": "",
                    "gap": SUPPRESSED,
                    "gap_change": "",
                }
            )

    history_rows = []
    for wave in history:
        m = index[(index["wave"] == wave) & (index["municipality"] != county_code) & ~index["suppressed"].astype(bool)].dropna(subset=["index"])
        if m.empty:
            continue
        hi, lo = m.loc[m["index"].idxmax()], m.loc[m["index"].idxmin()]
        history_rows.append(
            {
                "wave": wave,
                "floor": fmt_pct(hi["index"]),
                "floor_name": names.get(hi["municipality"], hi["municipality"]),
                "median": fmt_pct(m["index"].median()),
                "gap": fmt_pct(hi["index"] - lo["index"]),
            }
        )

    cov_now = metrics.roster_coverage(upto, roster, period, org_key)
    cov_prev = metrics.roster_coverage(upto, roster, previous, org_key)
    sectors = list(survey.sectors)
    cov_rows, coverage_rate = _coverage_rows(cov_now, cov_prev, munis, sectors, county_code, lang)
    if cov_rows and len(cov_rows) > max_rows:
        cov_rows = sorted(cov_rows, key=lambda r: r["rate_value"])[:max_rows]
    fallback = [] if not roster.empty else _respondent_counts(upto, mq, county_code, period, munis, lang)[:max_rows]

    capacity_rows = _capacity_rows(survey, upto, period, mq, county_code, munis, lang)
    capacity_county = _capacity_county(capacity_rows, munis, lang)
    capacity_all = list(capacity_rows)
    if len(capacity_rows) > max_rows:
        capacity_rows = capacity_rows[:max_rows]

    found = alerting.alerts(index, cov_now, period, county_code, names, min_coverage, lang)
    summary = alerting.summary(index, cov_now, period, county_code, names, len(in_period), found, lang)
    charts = [c for c in (charting.small_multiples(index, history, county_code, names, lang), charting.floor_and_gap(index, history, county_code, lang)) if c]
    xlsx = _workbook(
        survey, table[table["wave"].isin(history)], index[index["wave"].isin(history)], cov_now, capacity_all, names, labels, county_code, lang, period
    )
    ctx = {
        "lang": lang,
        "period": period,
        "county": county.name,
        "title": survey.title.get(lang, survey.title["sv"]),
        "generated": (generated or dt.date.today()).isoformat(),
        "items": [labels[i] for i in items],
        "rows": rows,
        "county_row": county_row,
        "cut": len(munis) > max_cols,
        "spread": spread_rows,
        "history": history_rows,
        "sectors": [survey.sectors[s].get(lang, survey.sectors[s]["sv"]) for s in sectors],
        "coverage": cov_rows,
        "fallback": fallback,
        "capacity": capacity_rows,
        "capacity_county": capacity_county,
        "respondents": fmt_int(len(in_period), lang),
        "summary": summary,
        "alerts": found,
        "charts": charts,
        "min_n": metrics.MIN_N,
    }
    ctx["t"] = {
        k: v.format(
            previous=previous,
            year_ago=year_ago,
            period=period,
            min_n=metrics.MIN_N,
            generated=ctx["generated"],
            shown=len(shown),
            total=len(munis),
            pop_year=2016,
        )
        for k, v in w.items()
        if k != "subject"
    }
    env = _environment()
    html = env.get_template("report.html").render(**ctx)
    text = env.get_template("report.txt").render(**ctx)
    data_hash = _data_hash(upto)
    subject = w["subject"].format(county=county.name, period=period)
    return Report(
        survey.id,
        period,
        lang,
        subject,
        html,
        text,
        summary,
        found,
        data_hash,
        charts,
        xlsx,
        f"behovsrapport-{county_code}-{period}.{lang}.xlsx",
        coverage_rate,
    )


def _data_hash(responses: pd.DataFrame) -> str:
    """What the report was built from: the stored rows' content hashes where known, else their answers."""
    if "content_hash" in responses:
        parts = sorted(responses["content_hash"].astype(str))
    else:
        parts = sorted(f"{i}|{w}|{json.dumps(a, sort_keys=True)}" for i, w, a in zip(responses["id"], responses["wave"], responses["answers"], strict=True))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _coverage_rows(
    now: pd.DataFrame, prev: pd.DataFrame, munis: list[reference.Municipality], sectors: list[str], county: str, lang: str
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
        prate = int(p["answered"].sum()) / int(p["expected"].sum()) if not p.empty and int(p["expected"].sum()) else None
        missing_names = sorted(n for lst in c["missing"] for n in lst)
        rows.append(
            {
                "name": m.name,
                "cells": cells,
                "total": f"{ans}/{exp}",
                "rate": fmt_pct(rate),
                "rate_value": rate if rate is not None else 1.0,
                "change": fmt_change(rate - prate) if rate is not None and prate is not None else "",
                "missing": missing_names,
            }
        )
    exp, ans = int(now["expected"].sum()), int(now["answered"].sum())
    return rows, (ans / exp if exp else None)


def _respondent_counts(responses: pd.DataFrame, mq: str, county: str, period: str, munis: list[reference.Municipality], lang: str) -> list[dict[str, str]]:
    c = metrics.coverage(responses, mq, county, period)
    out = []
    for m in munis:
        n = int(c[c["municipality"] == m.code]["n"].sum())
        out.append({"name": m.name, "n": "<5" if 0 < n < metrics.MIN_N else fmt_int(n, lang)})
    return out


def _capacity_rows(
    survey: Survey, responses: pd.DataFrame, period: str, mq: str, county: str, munis: list[reference.Municipality], lang: str
) -> list[dict[str, Any]]:
    """The municipalities' own figures: organisational facts reported by the municipality, not opinions."""
    ids = {k: q for k, q in CAPACITY.items() if any(x.id == q for x in survey.questions(None))}
    if "kommun" not in survey.sectors or not ids:
        return []
    latest = metrics.latest_answers(responses, "kommun", list(ids.values()), period, mq, county).set_index("municipality")
    rows = []
    for m in munis:
        got = latest.loc[m.code] if m.code in latest.index else None

        def val(k: str, got: Any = got) -> Any:
            return None if got is None or k not in ids else got.get(ids[k])

        fte = val("fte")
        per10k = (float(fte) / m.population * 10_000) if fte is not None and m.population else None
        row: dict[str, Any] = {
            "name": m.name,
            "fte": fmt_num(fte, lang, 2),
            "fte_10k": fmt_num(per10k, lang, 2),
            "fte_value": float(fte) if fte is not None else None,
            **{
                k: _label(survey, ids[k], val(k), lang)
                for k in ("combined", "council", "lagesbild", "atgardsplan", "samordning", "agreement", "promises")
                if k in ids
            },
            "meetings": SUPPRESSED if val("meetings") is None else str(val("meetings")),
        }
        rows.append(row)
    return sorted(rows, key=lambda r: (r["fte_value"] is not None, r["fte_value"] or 0))


def _capacity_county(rows: list[dict[str, Any]], munis: list[reference.Municipality], lang: str) -> str:
    """The county picture: FTE in total and per 10 000 inhabitants, and how many municipalities have each function."""
    if not rows:
        return ""
    known = [r for r in rows if r["fte_value"] is not None]
    total = sum(r["fte_value"] for r in known)
    pop = sum(m.population or 0 for m in munis if any(r["name"] == m.name for r in known))
    yes = WORDS[lang]["yes"]
    have = {k: sum(1 for r in rows if str(r.get(k, "")).startswith(yes)) for k in ("lagesbild", "atgardsplan", "samordning", "agreement", "promises")}
    w = WORDS[lang]
    parts = [f"{w['fte']} {fmt_num(total, lang, 2)} ({w['fte_10k']}: {fmt_num(total / pop * 10_000 if pop else None, lang, 2)}; {len(known)}/{len(munis)})"]
    parts += [f"{w[k]}: {n}/{len(munis)}" for k, n in have.items()]
    return f"{w['county_row']}: " + "; ".join(parts) + "."


def _workbook(
    survey: Survey,
    table: pd.DataFrame,
    index: pd.DataFrame,
    coverage: pd.DataFrame,
    capacity: list[dict[str, Any]],
    names: dict[str, str],
    labels: dict[str, str],
    county: str,
    lang: str,
    period: str,
) -> bytes:
    w = WORDS[lang]

    def share(v: Any, suppressed: Any) -> Any:
        return SUPPRESSED if bool(suppressed) or missing(v) else round(float(v), 4)

    needs = [
        [
            r.wave,
            r.municipality,
            names.get(r.municipality, r.municipality),
            r.item,
            labels.get(r.item, r.item),
            SUPPRESSED if r.suppressed else int(r.n),
            share(r.share_high, r.suppressed),
            share(r.mean, r.suppressed),
            "" if r.suppressed or missing(r.q_change) else round(float(r.q_change), 4),
            "" if r.suppressed or missing(r.y_change) else round(float(r.y_change), 4),
        ]
        for r in table[table["wave"] == period].sort_values(["municipality", "item"]).itertuples()
    ]
    idx = [
        [r.wave, r.municipality, names.get(r.municipality, r.municipality), SUPPRESSED if r.suppressed else int(r.n), share(r.index, r.suppressed)]
        for r in index.sort_values(["wave", "municipality"]).itertuples()
    ]
    spread = metrics.county_spread(table, county)
    spread_rows = [
        [
            r.wave,
            labels.get(r.item, r.item),
            round(r.max, 4),
            names.get(r.max_municipality, ""),
            round(r.median, 4),
            round(r.floor, 4),
            names.get(r.floor_municipality, ""),
            round(r.gap, 4),
        ]
        for r in spread.itertuples()
    ]
    cov = [
        [period, names.get(r.municipality, r.municipality), r.sector, int(r.expected), int(r.answered), round(float(r.rate), 4), "; ".join(r.missing)]
        for r in coverage.itertuples()
    ]
    cap_keys = [
        k
        for k in ("fte", "fte_10k", "combined", "council", "meetings", "lagesbild", "atgardsplan", "samordning", "agreement", "promises")
        if capacity and k in capacity[0]
    ]
    cap = [[r["name"], *[r[k] for k in cap_keys]] for r in capacity]
    sheets = {
        w["sheet_needs"]: (["wave", "code", w["municipality"], "item", w["need"], "n", "share_4_5", "mean", "change_quarter", "change_year"], needs),
        w["sheet_index"]: (["wave", "code", w["municipality"], "n", "need_index"], idx),
        w["sheet_spread"]: (["wave", w["need"], w["floor"], w["municipality"], w["median"], w["least"], w["municipality"], w["gap"]], spread_rows),
        w["sheet_coverage"]: (["wave", w["municipality"], "sector", "expected", "answered", w["rate"], w["missing"]], cov),
        w["sheet_capacity"]: ([w["municipality"], *[w[k] for k in cap_keys]], cap),
    }
    symbols = [(SUPPRESSED, w["legend"].format(min_n=metrics.MIN_N)), ("share_4_5", w["needs_intro"].split(",")[0]), ("need_index", w["history_intro"])]
    return export.workbook(sheets, symbols, f"{w['heading']} {names[county]} {period}")


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
