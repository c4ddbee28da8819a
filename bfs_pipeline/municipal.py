"""Each municipality's own report: its needs against the county, its trend, capacity, law floor, who answered, and
the good examples the coordinator chooses to share.

The county's figures are computed once per period (`county_view`, from report.report_data) and each municipality
is rendered from them (`build_municipal`): 290 reports do not compute the county 290 times.

A municipality's report never names another municipality and never shows another municipality's own figure, only
county aggregates. Suppression, per need and period (the rule the tests check):

1. The municipality's own share follows the coordinator's report exactly (ReportData.table): hidden below
   metrics.MIN_N respondents (primary), and hidden where the coordinator's report hides it so that a lone hidden
   cell of another municipality cannot be worked out from the county total (secondary, metrics.secondary_suppress).
   So everything the municipal reports show together is never more than the coordinator's report shows.
2. The county total ("Hela länet", every respondent of the county) is hidden below MIN_N respondents, and also when
   the respondents it holds beyond the municipalities shown are a small pool: the sum of n over the hidden
   municipality cells (primary and secondary) plus the county-only respondents (answers naming the whole county),
   when that pool has 1 to MIN_N - 1 respondents. Otherwise the total minus the shown municipalities (which the
   municipalities' reports, put together, hold) would give the pool's share: a cell under MIN_N. Secondary
   suppression already pools a lone hidden cell with a second one; this catches two or more tiny hidden cells
   (or a few county-only answers) that pool to fewer than MIN_N.
3. The county median and the county's range are taken over the municipalities shown in the coordinator's table
   (never a hidden cell); the median needs metrics.MIN_MEDIAN municipalities, the range (over the other
   municipalities, the recipient's own excluded) MIN_MEDIAN others. The range's ends are other municipalities'
   figures: they are shown only as the county's range, never with a name.
4. The trend is the municipality's own need index beside the county median of the index. The index pools the nine
   needs, so it is hidden below MIN_N respondents and also in a wave where any of the municipality's need cells is
   hidden (primary or secondary): the pooled figure minus the shown cells would give the hidden one. The median
   is taken over the indexes shown by that rule (MIN_MEDIAN or more); no county total of the index is shown.
5. Capacity (K04 FTE) and the law floor (K01-K03) are organisational facts the municipality reported itself; only
   its own are shown, with the county median FTE per 10 000 inhabitants (MIN_MEDIAN municipalities or more).
6. Who answered: the names of the municipality's own roster organisations, never people, never answers.

Good examples: BFS_HOME/goda-exempel/PERIOD.yaml (e.g. goda-exempel/2026-Q3.yaml), written by the coordinator:

    - rubrik: Trygghetsvandringar med näringslivet
      text: Karlshamn och handeln gick trygghetsvandringar i centrum ...
      kontakt: samordnare@kommun.se      # optional
      en:                                # optional
        rubrik: Safety walks with local business
        text: ...

They are the coordinator's own words and go to every municipality of the county; answers are never quoted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bfs_pipeline import i18n, levels, metrics, reference
from bfs_pipeline.errors import ReportError
from bfs_pipeline.export import Column, NumberFormat, Sheet, write_workbook
from bfs_pipeline.i18n import SUPPRESSED, fmt_change, fmt_int, fmt_num, fmt_pct, missing
from bfs_pipeline.outreach import matching
from bfs_pipeline.report import XLSX_TYPE, ReportData, capacity_labels, item_label
from bfs_pipeline.resources import templates_dir

EXAMPLES_DIR = "goda-exempel"
KIND = "municipal"
FTE_WINDOW = 4  # quarters back that a reported FTE still counts as the current one (as the coordinator's report)
__all__ = [
    "CountyView",
    "GoodExample",
    "MunicipalReport",
    "build_municipal",
    "county_view",
    "examples_path",
    "letter_key",
    "load_examples",
    "recipients",
    "resolve_municipality",
    "write_municipal",
]


@dataclass(frozen=True)
class GoodExample:
    """One good example the coordinator shares: her words, in Swedish and optionally English."""

    rubrik: str
    text: str
    kontakt: str | None = None
    en_rubrik: str | None = None
    en_text: str | None = None

    def title(self, lang: str) -> str:
        return (self.en_rubrik or self.rubrik) if lang == "en" else self.rubrik

    def body(self, lang: str) -> str:
        return (self.en_text or self.text) if lang == "en" else self.text


def examples_path(home: Path, period: str) -> Path:
    """Where the coordinator keeps a quarter's good examples: BFS_HOME/goda-exempel/PERIOD.yaml."""
    return home / EXAMPLES_DIR / f"{period}.yaml"


def _text(path: Path, n: int, entry: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ReportError(f"{path}: example {n} has no {key}. Write {key}: with a short text, or remove it.")
        return None
    if not isinstance(value, str | int | float):
        raise ReportError(f"{path}: example {n}: {key} must be a text, not a list or table.")
    return " ".join(str(value).split()) if key != "text" else str(value).strip()


def load_examples(path: Path) -> list[GoodExample]:
    """The good examples in the file (none when there is no file); a malformed file names what to fix."""
    if not path.is_file():
        return []
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ReportError(
            f"{path} is not valid YAML ({str(exc).splitlines()[0]}): fix the file or remove it."
        ) from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ReportError(f"{path} must be a list of examples, each with rubrik: and text: (and optionally kontakt:).")
    out = []
    known = {"rubrik", "text", "kontakt", "en"}
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ReportError(f"{path}: example {n} is not a table: write it as - rubrik: ... and text: ...")
        unknown = set(entry) - known
        if unknown:
            raise ReportError(
                f"{path}: example {n} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                "known keys are rubrik, text, kontakt, en."
            )
        en = entry.get("en") or {}
        if not isinstance(en, dict):
            raise ReportError(f"{path}: example {n}: en: must be a table with rubrik: and text:.")
        out.append(
            GoodExample(
                rubrik=str(_text(path, n, entry, "rubrik")),
                text=str(_text(path, n, entry, "text")),
                kontakt=_text(path, n, entry, "kontakt", required=False),
                en_rubrik=_text(path, n, en, "rubrik", required=False),
                en_text=_text(path, n, en, "text", required=False),
            )
        )
    return out


def resolve_municipality(text: str, county: str) -> reference.Municipality:
    """A municipality of the county from its SCB code or name, matched as answers are (reference.match_municipality)."""
    m = reference.match_municipality(text, county)
    munis = {x.code: x for x in reference.county_municipalities(county)}
    if m.code is None or m.code not in munis:
        names = ", ".join(f"{x.code} {x.name}" for x in munis.values())
        why = "it is the whole county" if m.code == county else (m.rule or "unknown").replace("_", " ")
        raise ReportError(
            f"Municipality {text!r} is not one of {reference.counties()[county].name}'s ({why}): "
            f"give its SCB code or name, one of {names}."
        )
    return munis[m.code]


@dataclass(frozen=True)
class CountyView:
    """The county's figures for the period, computed once; every municipality's report reads them."""

    data: ReportData
    now: dict[tuple[str, str], Any]  # (municipality, item) -> the period's row of data.table (primary and secondary)
    total: dict[str, dict[str, Any]]  # item -> the county total: share, n, hidden (rule 2)
    shown: dict[str, dict[str, float]]  # item -> municipality -> share, the cells shown in the coordinator's table
    index: dict[tuple[str, str], tuple[float | None, int]]  # (municipality, wave) -> need index (None: hidden), n
    index_median: dict[str, float | None]  # wave -> county median of the shown need indexes
    law: dict[str, list[dict[str, Any]]]  # municipality -> levels.law_status rows
    fte: dict[str, tuple[float, str]]  # municipality -> (FTE, wave reported), the newest in FTE_WINDOW quarters
    fte_median_10k: float | None
    answered: frozenset[int]  # roster ids that answered in the period
    roster: dict[str, list[dict[str, Any]]]  # municipality -> its active roster organisations
    examples: list[GoodExample]
    data_hash: str


def _data_hash(responses: pd.DataFrame, period: str) -> str:
    cols = responses[responses["wave"] == period]
    parts = sorted(cols["content_hash"].astype(str)) if "content_hash" in cols else sorted(map(str, cols.index))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _per10k(fte: float | None, code: str, population: Mapping[str, tuple[int, int]]) -> float | None:
    inhabitants = population.get(code, (0, 0))[0]
    return fte / inhabitants * 10_000 if fte is not None and inhabitants else None


def _index_view(
    data: ReportData,
) -> tuple[dict[tuple[str, str], tuple[float | None, int]], dict[str, float | None]]:
    """The need index per municipality and history wave under rule 4, and the county median of the shown ones."""
    t = data.table[data.table["wave"].isin(data.history) & (data.table["municipality"] != data.county)]
    cell_hidden = t.groupby(["municipality", "wave"])["suppressed"].apply(lambda s: bool(s.astype(bool).any()))
    idx = data.index[data.index["wave"].isin(data.history) & (data.index["municipality"] != data.county)]
    index: dict[tuple[str, str], tuple[float | None, int]] = {}
    for r in idx.itertuples(index=False):
        key = (str(r.municipality), str(r.wave))
        hidden = bool(r.suppressed) or missing(r.index) or bool(cell_hidden.get(key, False))
        index[key] = (None if hidden else float(r.index), int(r.n))
    median: dict[str, float | None] = {}
    for w in data.history:
        values = [v for (_m, wave), (v, _n) in index.items() if wave == w and v is not None]
        median[w] = float(pd.Series(values).median()) if len(values) >= metrics.MIN_MEDIAN else None
    return index, median


def county_view(data: ReportData, examples: list[GoodExample] | None = None) -> CountyView:
    """The county's figures once: the period's need cells, the county total with rule 2, medians, law, FTE, roster."""
    period, county = data.period, data.county
    table = data.table[data.table["wave"] == data.period]
    now = {(str(r.municipality), str(r.item)): r for r in table.itertuples(index=False)}
    total: dict[str, dict[str, Any]] = {}
    shown: dict[str, dict[str, float]] = {}
    for item in data.items:
        rows = table[table["item"] == item]
        munis = rows[rows["municipality"] != county]
        hidden = munis["suppressed"].astype(bool)
        shown[item] = {
            str(r.municipality): float(r.share_high)
            for r in munis[~hidden].itertuples(index=False)
            if not missing(r.share_high)
        }
        c = rows[rows["municipality"] == county]
        if c.empty:
            total[item] = {"share": None, "n": 0, "hidden": True}
            continue
        n_total = int(c.iloc[0]["n"])
        county_only = max(0, n_total - int(munis["n"].sum()))
        pool = int(munis[hidden]["n"].sum()) + county_only
        is_hidden = bool(c.iloc[0]["suppressed"]) or 0 < pool < metrics.MIN_N or missing(c.iloc[0]["share_high"])
        total[item] = {
            "share": None if is_hidden else float(c.iloc[0]["share_high"]),
            "n": n_total,
            "hidden": is_hidden,
        }
    index, index_median = _index_view(data)
    status = levels.law_status(data.responses, data.mq, county, period)
    law: dict[str, list[dict[str, Any]]] = {}
    for rec in status.to_dict("records"):
        law.setdefault(str(rec["municipality"]), []).append(rec)
    fte_rows = levels.coordinator_fte(data.responses, data.mq, county)
    window = set(metrics.wave_range(period, FTE_WINDOW))
    fte: dict[str, tuple[float, str]] = {}
    for r in fte_rows[fte_rows["wave"].isin(window)].sort_values("wave").itertuples(index=False):
        fte[str(r.municipality)] = (float(r.fte), str(r.wave))  # the newest wave wins
    per10k = [v for m, (f, _w) in fte.items() if (v := _per10k(f, m, data.population)) is not None]
    fte_median = float(pd.Series(per10k).median()) if len(per10k) >= metrics.MIN_MEDIAN else None
    answered: frozenset[int] = frozenset()
    roster: dict[str, list[dict[str, Any]]] = {}
    if not data.roster.empty:
        in_period = data.responses[data.responses["wave"] == period]
        matcher = matching.Matcher.from_frame(data.roster, county)
        answered = frozenset(matching.answered_by(matcher, data.mq)(in_period)) if not in_period.empty else frozenset()
        for rec in data.roster.to_dict("records"):
            for m in rec["municipalities"]:
                roster.setdefault(str(m), []).append(rec)
    return CountyView(
        data=data,
        now=now,
        total=total,
        shown=shown,
        index=index,
        index_median=index_median,
        law=law,
        fte=fte,
        fte_median_10k=fte_median,
        answered=answered,
        roster=roster,
        examples=list(examples or []),
        data_hash=_data_hash(data.responses, period),
    )


@dataclass
class MunicipalReport:
    """One municipality's rendered report: HTML e-mail body, text part, XLSX attachment."""

    survey_id: str
    period: str
    lang: str
    code: str
    name: str
    subject: str
    html: str
    text: str
    xlsx: bytes
    xlsx_name: str
    data_hash: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return letter_key(self.survey_id, self.period, self.code)

    def message(self, sender: str, recipient: str) -> EmailMessage:
        """alternative(text, html) + the XLSX; a Message-ID stable per (report, municipality, recipient)."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        digest = hashlib.sha256(f"{self.key}|{recipient.strip().lower()}".encode()).hexdigest()[:24]
        domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
        msg["Message-ID"] = f"<bfs.{KIND}.{self.period}.{self.code}.{digest}@{domain}>"
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        msg.add_attachment(self.xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=self.xlsx_name)
        msg["Content-Language"] = self.lang  # after the parts: set_content clears Content-* headers
        return msg


def letter_key(survey_id: str, period: str, code: str) -> str:
    """The outbox key: one message per (report, municipality) and recipient, whatever its language."""
    return f"{KIND}:{survey_id}:{period}:{code}"


def _share_text(v: float | None, lang: str) -> str:
    return SUPPRESSED if v is None else fmt_pct(v, lang)


def needs_rows(view: CountyView, code: str, lang: str) -> list[dict[str, Any]]:
    """Per need: the own share (rule 1), the county median and the range of the others (rule 3), the total (rule 2)."""
    rows = []
    for item in view.data.items:
        r = view.now.get((code, item))
        own = None if r is None or bool(r.suppressed) or missing(r.share_high) else float(r.share_high)
        shown = view.shown[item]
        median = float(pd.Series(list(shown.values())).median()) if len(shown) >= metrics.MIN_MEDIAN else None
        others = [v for m, v in shown.items() if m != code]
        lo, hi = (min(others), max(others)) if len(others) >= metrics.MIN_MEDIAN else (None, None)
        total = view.total[item]
        rows.append(
            {
                "item": item,
                "label": item_label(view.data.survey, item, lang),
                "own": own,
                "own_text": _share_text(own, lang),
                "n": int(r.n) if own is not None and r is not None else None,
                "change": fmt_change(r.q_change) if own is not None and r is not None else "",
                "median": median,
                "median_text": _share_text(median, lang),
                "low": lo,
                "high": hi,
                "range_text": SUPPRESSED if lo is None else f"{fmt_pct(lo, lang)}–{fmt_pct(hi, lang)}",
                "total": total["share"],
                "total_text": _share_text(total["share"], lang),
                "total_n": None if total["hidden"] else total["n"],
                "bar": None if own is None else round(own * 100),
                "mark": None if median is None else round(median * 100),
            }
        )
    return rows


def trend_rows(view: CountyView, code: str, lang: str) -> list[dict[str, Any]]:
    """The own need index over the history waves, beside the county median (rule 4); waves without either left out."""
    rows = []
    for wave in view.data.history:
        r = view.index.get((code, wave))
        own = None if r is None else r[0]
        median = view.index_median.get(wave)
        if r is None and median is None:
            continue
        rows.append(
            {
                "wave": wave,
                "own": own,
                "own_text": _share_text(own, lang),
                "n": r[1] if own is not None and r is not None else None,
                "median": median,
                "median_text": _share_text(median, lang),
                "bar": None if own is None else round(own * 100),
            }
        )
    return rows


def capacity_of(view: CountyView, code: str, lang: str) -> dict[str, Any]:
    """The own coordinator FTE (K04), per 10 000 inhabitants, and the county median per 10 000 (rule 5)."""
    fte, wave = view.fte.get(code, (None, None))
    per10k = _per10k(fte, code, view.data.population)
    return {
        "fte": fmt_num(fte, lang, 2),
        "fte_value": fte,
        "wave": wave or "",
        "per10k": fmt_num(per10k, lang, 2),
        "per10k_value": per10k,
        "median10k": fmt_num(view.fte_median_10k, lang, 2),
        "median10k_value": view.fte_median_10k,
        "inhabitants": fmt_int(view.data.population[code][0], lang) if code in view.data.population else SUPPRESSED,
    }


def law_rows(view: CountyView, code: str, lang: str) -> list[dict[str, Any]]:
    """Lägesbild, åtgärdsplan, samordningsfunktion: the status last reported (levels.law_status) and since when."""
    _ = i18n.translator(lang)
    labels = capacity_labels(lang)
    got = {r["requirement"]: r for r in view.law.get(code, [])}
    rows: list[dict[str, Any]] = []
    for req, question in levels.LAW_QUESTIONS.items():
        r = got.get(req.value)
        if r is None:
            rows.append(
                {"label": labels[req.value], "status": _("Inte rapporterat"), "met": None, "wave": "", "since": ""}
            )
            continue
        try:
            choices = {c.code: c.label(lang) for c in view.data.survey.question(question).choices}
        except Exception:
            choices = {}
        met = r["met"]
        rows.append(
            {
                "label": labels[req.value],
                "status": choices.get(str(r["code"]), str(r["code"])),
                "met": None if met is None or pd.isna(met) else bool(met),
                "wave": str(r["wave"]),
                "since": str(r["since"]),
            }
        )
    return rows


def organisations(view: CountyView, code: str) -> dict[str, list[str]]:
    """The municipality's own roster organisations (names only) that answered in the period, and those that did not."""
    mine = view.roster.get(code, [])
    did = sorted({str(a["name"]) for a in mine if a["id"] in view.answered})
    did_not = sorted({str(a["name"]) for a in mine if a["id"] not in view.answered} - set(did))
    return {"answered": did, "silent": did_not}


def _workbook(
    view: CountyView, muni: reference.Municipality, ctx: dict[str, Any], lang: str, _: Callable[[str], str]
) -> bytes:
    """The same content as the e-mail, the same suppression: hidden cells hold "–". Figures are rounded as the
    e-mail prints them (whole percent, two decimals): an exact share would tell its denominator, and the range's
    ends are other municipalities' figures."""

    def share(v: float | None) -> Any:
        return SUPPRESSED if v is None else round(v, 2)

    pct = NumberFormat.PERCENT
    needs = Sheet(
        _("Behov"),
        [
            Column(_("Behov")),
            Column(muni.name, pct),
            Column("n", NumberFormat.INTEGER),
            Column(_("Länets median"), pct),
            Column(_("Länets lägsta (övriga kommuner)"), pct),
            Column(_("Länets högsta (övriga kommuner)"), pct),
            Column(_("Hela länet"), pct),
            Column(_("n hela länet"), NumberFormat.INTEGER),
        ],
        [
            [
                r["label"],
                share(r["own"]),
                r["n"],
                share(r["median"]),
                share(r["low"]),
                share(r["high"]),
                share(r["total"]),
                r["total_n"],
            ]
            for r in ctx["needs"]
        ],
    )
    trend = Sheet(
        _("Utveckling"),
        [
            Column(_("Kvartal")),
            Column(muni.name, pct),
            Column("n", NumberFormat.INTEGER),
            Column(_("Länets median"), pct),
        ],
        [[r["wave"], share(r["own"]), r["n"], share(r["median"])] for r in ctx["trend"]],
    )
    cap = ctx["capacity"]
    capacity = Sheet(
        _("Kapacitet"),
        [Column(_("Uppgift")), Column(_("Värde"), NumberFormat.TWO_DECIMALS), Column(_("Kvartal"))],
        [
            [
                _("Årsarbetskrafter för samordning"),
                cap["fte_value"] if cap["fte_value"] is not None else SUPPRESSED,
                cap["wave"],
            ],
            [
                _("Per 10 000 invånare"),
                cap["per10k_value"] if cap["per10k_value"] is not None else SUPPRESSED,
                cap["wave"],
            ],
            [
                _("Länets median per 10 000 invånare"),
                cap["median10k_value"] if cap["median10k_value"] is not None else SUPPRESSED,
                "",
            ],
        ],
    )
    law = Sheet(
        _("Lagens krav"),
        [Column(_("Krav")), Column(_("Status")), Column(_("Rapporterat")), Column(_("Sedan"))],
        [[r["label"], r["status"], r["wave"], r["since"]] for r in ctx["law"]],
    )
    orgs = ctx["orgs"]
    who = Sheet(
        _("Svarat"),
        [Column(_("Organisation")), Column(_("Har svarat"))],
        [[n, _("Ja")] for n in orgs["answered"]] + [[n, _("Nej")] for n in orgs["silent"]],
    )
    examples = Sheet(
        _("Goda exempel"),
        [Column(_("Rubrik")), Column(_("Text")), Column(_("Kontakt"))],
        [[e.title(lang), e.body(lang), e.kontakt or ""] for e in view.examples],
    )
    symbols = [
        (
            SUPPRESSED,
            _("färre än %(min_n)s svarande, eller dold för att en annan dold cell inte ska kunna räknas fram.")
            % {"min_n": metrics.MIN_N},
        ),
        ("n", _("antal som svarat 1–5 på behovet")),
    ]
    return write_workbook(
        [needs, trend, capacity, law, who, examples],
        symbols,
        title=ctx["subject"],
        symbols_sheet=_("Teckenförklaring"),
        symbols_header=(_("Tecken"), _("Betydelse")),
    )


def build_municipal(view: CountyView, code: str, lang: str | None = None) -> MunicipalReport:
    """Render one municipality's report from the county's figures (county_view)."""
    data = view.data
    lang = lang or data.lang
    if lang not in i18n.LANGS:
        raise ReportError(f"Language {lang!r} is not supported: use --lang sv or --lang en.")
    muni = next((m for m in data.munis if m.code == code), None)
    if muni is None:
        raise ReportError(f"Municipality {code} is not in {data.county_name}: give one of the county's municipalities.")
    _ = i18n.translator(lang)
    subject = _("Kommunrapport {name} {period}").format(name=muni.name, period=data.period)
    needs = needs_rows(view, code, lang)
    ctx: dict[str, Any] = {
        "lang": lang,
        "subject": subject,
        "name": muni.name,
        "code": muni.code,
        "county": data.county_name,
        "period": data.period,
        "previous": data.previous,
        "title": data.survey.title.get(lang, data.survey.title["sv"]),
        "generated": i18n.fmt_date(data.generated, lang),
        "min_n": metrics.MIN_N,
        "min_median": metrics.MIN_MEDIAN,
        "needs": needs,
        "trend": trend_rows(view, code, lang),
        "capacity": capacity_of(view, code, lang),
        "law": law_rows(view, code, lang),
        "orgs": organisations(view, code),
        "has_roster": bool(view.roster),
        "any_total": any(r["total"] is not None for r in needs),
        "examples": [{"title": e.title(lang), "text": e.body(lang), "kontakt": e.kontakt} for e in view.examples],
        "pop_year": str(data.population[code][1]) if code in data.population else SUPPRESSED,
    }
    env = i18n.environment(str(templates_dir()), lang)
    return MunicipalReport(
        survey_id=data.survey.id,
        period=data.period,
        lang=lang,
        code=muni.code,
        name=muni.name,
        subject=subject,
        html=env.get_template("municipal.html").render(**ctx),
        text=env.get_template("municipal.txt").render(**ctx),
        xlsx=_workbook(view, muni, ctx, lang, _),
        xlsx_name=f"kommunrapport-{muni.code}-{data.period}.{lang}.xlsx",
        data_hash=view.data_hash,
    )


def write_municipal(report: MunicipalReport, folder: Path) -> dict[str, str]:
    """Write the HTML, the text and the XLSX into folder, without sending."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"kommunrapport-{report.code}-{report.period}.{report.lang}"
    files = {"html": folder / f"{stem}.html", "text": folder / f"{stem}.txt", "xlsx": folder / report.xlsx_name}
    files["html"].write_text(report.html, encoding="utf-8")
    files["text"].write_text(report.text, encoding="utf-8")
    files["xlsx"].write_bytes(report.xlsx)
    report.files.update({k: str(v) for k, v in files.items()})
    return report.files


def recipients(roster: pd.DataFrame, code: str) -> list[dict[str, Any]]:
    """The roster's opted-in contacts (rapport = ja) of the municipality's active organisations, one per address."""
    if roster.empty or "report" not in roster:
        return []
    out: dict[str, dict[str, Any]] = {}
    for a in roster.to_dict("records"):
        address = a.get("contact_email")
        if not isinstance(address, str) or not address.strip():  # no contact (None, or NaN in the frame)
            continue
        if a.get("report") is not True or code not in a["municipalities"] or a.get("active") is False:
            continue
        address = address.strip()
        out.setdefault(
            address.lower(),
            {"address": address, "organisation": a["name"], "lang": a.get("lang") or "sv", "actor_id": int(a["id"])},
        )
    return sorted(out.values(), key=lambda r: r["address"].lower())
