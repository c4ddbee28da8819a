"""The XLSX attachment as Excel opens it: built from the demo's answers, stored through the real ingest, and read back
with openpyxl (not in write-only mode)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from html import escape as html_escape
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from babel.messages.pofile import read_po
from openpyxl.utils import get_column_letter

from bfs_pipeline import demo, export, i18n, metrics, pipeline, workbook
from bfs_pipeline import report as rp
from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import ReportError
from bfs_pipeline.export import neutralise
from bfs_pipeline.roster import import_roster, roster_frame
from bfs_pipeline.store import current_responses
from bfs_pipeline.survey import Survey
from tests.test_report_sections import cov_row, data_for, index_row, need

PERIOD = demo.LAST_WAVE
PENDING = Path(workbook.__file__).parent / "locale" / "pending-xlsx.po"
INTERNAL = {  # the DataFrames' column names and the old workbook's headers: never a header people read
    "wave",
    "code",
    "item",
    "n",
    "mean",
    "share_4_5",
    "share_high",
    "change_quarter",
    "change_year",
    "q_change",
    "y_change",
    "need_index",
    "index",
    "sector",
    "expected",
    "answered",
    "rate",
    "missing",
    "municipality",
    "fte",
    "fte_10k",
    "fte_value",
    "combined",
    "council",
    "meetings",
    *rp.CAPACITY,
}
PP = {"sv": "procentenheter", "en": "percentage points"}


@dataclasses.dataclass(frozen=True)
class Stored:
    responses: pd.DataFrame
    roster: pd.DataFrame


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    """The demo's answer sheets for eight quarters and its roster, ingested into a SQLite store and read back."""
    home = tmp_path_factory.mktemp("home")
    env = {
        "BFS_HOME": str(home),
        "BFS_DATABASE_URL": f"sqlite:///{home / 'bfs.sqlite'}",
        "BFS_HASH_KEY": "test-hash-key-0123456789",
    }
    settings = load_settings(env, cwd=home)
    survey = pipeline.survey_for(settings, None)
    sheets = demo.generate(survey, home / "sheets")
    engine = pipeline.open_store(settings)
    try:
        import_roster(engine, demo.write_roster(home / "sheets" / "aktorer.csv", survey.county), survey)
        for files in sheets.values():
            for f in files:
                pipeline.ingest_files(settings, file=f)
        return Stored(current_responses(engine, survey.id), roster_frame(engine, county=survey.county))
    finally:
        engine.dispose()


def build(survey: Survey, stored: Stored, lang: str = "sv", responses: pd.DataFrame | None = None) -> Any:
    """The report's data and capacity rows as build_report makes them, the workbook, and the workbook opened."""
    responses = stored.responses if responses is None else responses
    data = rp.report_data(survey, responses, PERIOD, lang, stored.roster, generated=dt.date(2026, 10, 1))
    capacity = rp.capacity_section(data).rows
    xlsx = workbook.workbook_section(data, capacity)
    return data, capacity, openpyxl.load_workbook(io.BytesIO(xlsx))


def data_sheets(wb: Any) -> list[Any]:
    return wb.worksheets[:-1]  # the last explains the symbols


def headers(ws: Any) -> list[Any]:
    return [c.value for c in ws[1]]


def column(ws: Any, header: str) -> list[Any]:
    """The cells under a header, the header row left out."""
    i = headers(ws).index(header)
    return [row[i] for row in ws.iter_rows(min_row=2)]


def sheet_named(wb: Any, lang: str, msgid: str) -> Any:
    return wb[i18n.translator(lang)(msgid)]


def head(lang: str, msgid: str, **values: str) -> str:
    return i18n.translator(lang)(msgid).format(unit=i18n.translator(lang)("procentenheter"), **values)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_headers_are_words_in_the_reports_language_and_unique(survey, stored, lang):
    data, _, wb = build(survey, stored, lang)
    _ = i18n.translator(lang)
    assert wb.sheetnames == [
        _(s)
        for s in (
            "Behov per kommun",
            "Behovsindex",
            "Spridning",
            "Täckning",
            "Kapacitet",
            "Lagens krav",
            "Processmognad",
            "Processens steg",
            "Andras syn på kommunen",
            "Nöjdhet med stödet",
            "Regionalt nätverk",
            "Teckenförklaring",
        )
    ]
    codes = set(survey.sectors) | set(data.items) | {q for q in rp.CAPACITY.values()}
    for ws in data_sheets(wb):
        hs = headers(ws)
        assert len(hs) == len(set(hs)), f"{ws.title}: {hs}"
        for h in hs:
            assert isinstance(h, str) and re.search(r"[A-Za-zÅÄÖåäö]{4}", h), (ws.title, h)
            assert h not in INTERNAL and h not in codes and "_" not in h, (ws.title, h)
    needs = sheet_named(wb, lang, "Behov per kommun")
    assert headers(needs)[:4] == [_("Kvartal"), _("Kommunkod"), _("Kommun"), _("Behov")]
    previous, year_ago = metrics.prev_wave(PERIOD), metrics.prev_wave(PERIOD, 4)
    assert headers(needs)[7:9] == [head(lang, "Förändring mot {wave} ({unit})", wave=w) for w in (previous, year_ago)]
    if lang == "sv":
        assert headers(needs)[7] == "Förändring mot 2026-Q2 (procentenheter)"
    assert {c.value for c in column(needs, _("Behov"))} == set(data.labels.values())  # the need items' labels
    sectors = {c.value for c in column(sheet_named(wb, lang, "Täckning"), _("Sektor"))}
    assert sectors and sectors <= {s.get(lang) or s["sv"] for s in survey.sectors.values()}
    assert not sectors & set(survey.sectors)  # labels, never the codes
    if lang == "en":
        assert {"Police", "Municipality"} <= sectors


def test_every_word_of_the_workbook_has_its_english(survey, stored):
    """Every msgid the sheets use has an English text: in the catalogue, or in the pending fragment until merged."""
    data = rp.report_data(survey, stored.responses, PERIOD, "sv", stored.roster)
    seen: set[str] = set()

    def record(msgid: str) -> str:
        seen.add(msgid)
        return msgid

    order = workbook.municipality_order(data)
    workbook.needs_sheet(data, record, order)
    workbook.index_sheet(data, record, order)
    workbook.spread_sheet(data, record)
    workbook.coverage_sheet(data, record, order)
    workbook.capacity_sheet(data, rp.capacity_section(data).rows, record)
    workbook.law_sheet(data, record, order)
    workbook.maturity_sheet(data, record, order)
    workbook.steps_sheet(data, record, order)
    workbook.views_sheet(data, record, order)
    workbook.satisfaction_sheet(data, record)
    workbook.network_sheet(data, record)
    workbook.symbols(data, record)
    assert len(seen) > 40
    english = i18n.translator("en")
    pending = {m.id: m.string for m in read_po(PENDING.open("rb"))} if PENDING.exists() else {}
    untranslated = [m for m in seen if english(m) == m and not pending.get(m)]
    assert untranslated == []
    for m in seen:  # the English keeps the placeholders
        text = english(m) if english(m) != m else str(pending[m])
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", m)), m


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_numbers_are_numbers_with_excel_formats(survey, stored, lang):
    data, capacity, wb = build(survey, stored, lang)
    _ = i18n.translator(lang)
    needs = sheet_named(wb, lang, "Behov per kommun")
    shown = [row for row in needs.iter_rows(min_row=2) if row[4].value != i18n.SUPPRESSED]
    assert len(shown) >= 9 * 4  # the county and most municipalities, nine needs each
    for row in shown:
        n, share, mean, q, y, diff = row[4:10]
        assert n.data_type == "n" and isinstance(n.value, int) and n.number_format == "0"
        assert share.data_type == "n" and 0 <= share.value <= 1 and share.number_format == "0%"
        assert mean.data_type == "n" and 1 <= mean.value <= 5 and mean.number_format == "0.0"
        for change in (q, y, diff):
            assert change.value is None or isinstance(change.value, int), change.value
            assert change.value is None or change.number_format == "+0;-0;0"
    q_changes = [row[7].value for row in shown if row[7].value is not None]
    assert q_changes and any(abs(v) > 1 for v in q_changes)  # whole points (+3), not shares (0.03)
    now = data.table[(data.table["wave"] == PERIOD) & ~data.table["suppressed"].astype(bool)]
    for code in (data.county, data.order[0].code):  # the county's cells hide where they would give a few away
        cells = now[(now["municipality"] == code) & now["q_change"].notna()]
        if cells.empty:
            continue
        first = cells.iloc[0]
        row = next(r for r in shown if r[1].value == code and r[3].value == data.labels[first["item"]])
        assert row[5].value == pytest.approx(first.share_high, abs=1e-4)
        assert row[7].value == round(first.q_change * 100)
        if code == data.county:
            assert row[9].value is None  # the county is not compared to itself
        break
    else:
        raise AssertionError("no shown cell with a change to compare")

    index = sheet_named(wb, lang, "Behovsindex")
    assert {c.number_format for c in column(index, headers(index)[4]) if c.data_type == "n"} == {"0%"}
    spread = sheet_named(wb, lang, "Spridning")
    gap = column(spread, head(lang, "Spridning ({unit})"))
    assert gap and all(c.data_type == "n" and isinstance(c.value, int) and c.number_format == "0" for c in gap)
    cov = sheet_named(wb, lang, "Täckning")
    assert all(c.data_type == "n" and c.number_format == "0%" for c in column(cov, _("Svarsandel")))

    cap = sheet_named(wb, lang, "Kapacitet")
    fte = column(cap, _("Årsarbetskrafter"))
    assert [c.value for c in fte] == [r["fte_value"] for r in capacity]  # numbers, where the body has "0,20"
    assert all(c.data_type == "n" and c.number_format == "0.0" for c in fte if c.value is not None)
    per10k = column(cap, _("Årsarbetskrafter per 10 000 invånare"))
    assert all(c.data_type == "n" and c.number_format == "0.00" and 0 < c.value < 5 for c in per10k if c.value)
    meetings = column(cap, _("Rådets möten under kvartalet"))
    assert any(isinstance(c.value, int) for c in meetings)
    assert all(c.value is None or (c.data_type == "n" and c.number_format == "0") for c in meetings)
    codes = [c for ws in data_sheets(wb) if _("Kommunkod") in headers(ws) for c in column(ws, _("Kommunkod"))]
    assert codes and all(isinstance(c.value, str) and c.number_format == "@" for c in codes)
    for ws in data_sheets(wb):  # no number hides as text anywhere
        for row in ws.iter_rows(min_row=2):
            for c in row:
                if isinstance(c.value, str) and c.number_format != "@":  # codes such as "0114" are text
                    assert not re.fullmatch(r"[-+−]?\d+([.,]\d+)?\s*%?", c.value.replace("\u00a0", "")), c.value


def test_hidden_cells_are_dashes_and_the_symbols_sheet_explains_every_symbol(survey, stored):
    r = stored.responses
    few = r[(r["wave"] == PERIOD) & r["answers"].map(lambda a: "1083" in (a.get("C01") or []))]
    assert len(few) > 2
    responses = r.drop(few.index[2:])  # Sölvesborg with two answers in the period: hidden
    data, _, wb = build(survey, stored, "sv", responses)
    needs = wb["Behov per kommun"]
    solvesborg = [row for row in needs.iter_rows(min_row=2, values_only=True) if row[1] == "1083"]
    assert len(solvesborg) == len(data.items)
    assert all(row[4:] == (i18n.SUPPRESSED,) * 6 for row in solvesborg)
    index = [row for row in wb["Behovsindex"].iter_rows(min_row=2, values_only=True) if row[0] == PERIOD]
    assert [row[3:] for row in index if row[1] == "1083"] == [(i18n.SUPPRESSED, i18n.SUPPRESSED)]
    assert [row[1] for row in index] == [data.county, *[m.code for m in data.order]]  # the report's one order
    assert [row[1] for row in index][-1] == "1083"  # hidden last
    key = {row[0]: row[1] for row in wb["Teckenförklaring"].iter_rows(min_row=3, values_only=True)}
    used, empty = set(), False
    for ws in data_sheets(wb):
        width = ws.max_column
        for row in ws.iter_rows(min_row=2, values_only=True):
            empty = empty or any(v is None for v in row[:width])
            used |= {v for v in row if isinstance(v, str) and not re.search(r"[\w]", v)}  # symbols: no letter, digit
    assert used == {i18n.SUPPRESSED}
    assert i18n.SUPPRESSED in key and str(metrics.MIN_N) in key[i18n.SUPPRESSED]
    assert empty and "(tom cell)" in key
    assert "procentenheter" in key and "+3 procentenheter" in key["procentenheter"]
    assert wb["Teckenförklaring"]["A1"].value == "Behovsrapport Blekinge län 2026-Q3"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_each_data_sheet_has_widths_a_frozen_header_and_an_autofilter(survey, stored, lang):
    _, _, wb = build(survey, stored, lang)
    for ws in data_sheets(wb):
        last = get_column_letter(ws.max_column)
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", ws.title
        for i, h in enumerate(headers(ws), start=1):
            width = ws.column_dimensions[get_column_letter(i)].width
            assert export.MIN_WIDTH < width <= export.MAX_WIDTH + 2, (ws.title, h, width)
            longest = max(
                len(export.shown(c.value, export.NumberFormat(c.number_format))) for c in ws[get_column_letter(i)][1:]
            )
            assert width >= min(longest, export.MAX_WIDTH), (ws.title, h)
            assert ws.cell(1, i).font.b and ws.cell(1, i).alignment.wrap_text
        lines = max(
            export.wrapped_lines(h, int((ws.column_dimensions[get_column_letter(i)].width - 2) / export.BOLD))
            for i, h in enumerate(headers(ws), start=1)
        )
        assert ws.row_dimensions[1].height == export.LINE_HEIGHT * lines
    key = wb.worksheets[-1]
    assert key.column_dimensions["B"].width > 60 and key["A2"].font.b
    for row in key.iter_rows(min_row=3):  # each meaning wraps, in a row tall enough for its lines
        lines = export.wrapped_lines(row[1].value, export.KEY_WIDTH)
        assert row[1].alignment.wrap_text and key.row_dimensions[row[1].row].height == export.LINE_HEIGHT * lines
    assert max(export.wrapped_lines(row[1].value, export.KEY_WIDTH) for row in key.iter_rows(min_row=3)) > 1


def test_text_that_excel_would_run_is_neutralised_and_numbers_are_not(survey, stored):
    roster = pd.concat(
        [
            stored.roster,
            pd.DataFrame(
                [
                    {
                        "id": 9999,
                        "name": '=HYPERLINK("http://x","klick")',
                        "name_key": "hyperlink",
                        "sector": "naringsliv",
                        "municipalities": ["1080"],
                        "contact_email": None,
                        "active": True,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    data = rp.report_data(survey, stored.responses, PERIOD, "sv", roster)
    wb = openpyxl.load_workbook(io.BytesIO(workbook.workbook_section(data, rp.capacity_section(data).rows)))
    cells = [
        c for row in wb["Täckning"].iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    # whether the name stands first in its cell or after another's, no cell starts as a formula would
    assert cells and all(c.value[0] not in "=+-@" and c.data_type == "s" for c in cells)
    assert all(c.value.startswith("'=") for c in cells if c.value.lstrip("'").startswith("="))
    assert neutralise('=HYPERLINK("http://x","klick")') == "'" + '=HYPERLINK("http://x","klick")'
    negative = [
        c
        for ws in data_sheets(wb)
        for row in ws.iter_rows(min_row=2)
        for c in row
        if isinstance(c.value, int) and c.value < 0
    ]
    assert negative and all(c.data_type == "n" for c in negative)


def test_write_workbook_refuses_two_columns_with_one_name_and_stores_nan_as_empty():
    sheet = export.Sheet("T", [export.Column("A"), export.Column("A")], [[1, 2]])
    with pytest.raises(ReportError, match="two columns with the same name"):
        export.write_workbook([sheet], [], "t", "K")
    with pytest.raises(ReportError, match="same name"):
        export.write_workbook([export.Sheet("K", [export.Column("A")], [])], [], "t", "K")
    ok = export.Sheet("T/1", [export.Column("x", export.NumberFormat.PERCENT)], [[float("nan")], [0.25]])
    wb = openpyxl.load_workbook(io.BytesIO(export.write_workbook([ok], [("–", "dolt")], "t", "K")))
    assert wb.sheetnames == ["T 1", "K"] and [c.value for c in wb["T 1"]["A"]] == ["x", None, 0.25]


def test_a_tiny_report_cell_by_cell(survey):
    """Hand-made tables: the period's needs in the report's order, hidden rows as –, changes in whole points."""
    table = pd.DataFrame([need("1081", 3, 0.9), need("1080", 6, 0.5, q=0.1), need("1080", 6, 0.4, wave="2026-Q2")])
    index = pd.DataFrame([index_row("1080", 6, 0.5), index_row("1081", 3, 0.9), index_row("1080", 6, 0.1, "2024-Q3")])
    formula = '=HYPERLINK("x")'
    cov = pd.DataFrame([cov_row("1080", "kommun", 2, 1, [formula])])
    capacity = [
        {"name": "Karlskrona", "fte": "2,50", "fte_10k": "0,38", "fte_value": 2.5, "meetings": "3"},
        {"name": "Ronneby", "fte": "–", "fte_10k": "–", "fte_value": None, "meetings": "–"},
    ]
    data = data_for(survey, labels={"B01": "Trygghet"}, table=table, index=index, coverage=cov)
    wb = openpyxl.load_workbook(io.BytesIO(workbook.workbook_section(data, capacity)))
    rows = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    dash = i18n.SUPPRESSED
    assert rows["Behov per kommun"][1:] == [
        (PERIOD, "1080", "Karlskrona", "Trygghet", 6, 0.5, 3, 10, None, None),
        (PERIOD, "1081", "Ronneby", "Trygghet", *[dash] * 6),
    ]
    assert rows["Behovsindex"][1:] == [  # 2024-Q3 is before the history waves
        (PERIOD, "1080", "Karlskrona", 6, 0.5),
        (PERIOD, "1081", "Ronneby", dash, dash),
    ]
    assert rows["Spridning"][1:] == [  # one municipality: no median
        ("2026-Q2", "Trygghet", 1, 0.4, "Karlskrona", None, 0.4, "Karlskrona", 0),
        (PERIOD, "Trygghet", 1, 0.5, "Karlskrona", None, 0.5, "Karlskrona", 0),
    ]
    assert rows["Täckning"][1:] == [(PERIOD, "1080", "Karlskrona", "Kommun", 2, 1, 0.5, None, "'" + formula)]
    assert rows["Kapacitet"] == [
        (
            "Kommunkod",
            "Kommun",
            "Årsarbetskrafter",
            "Årsarbetskrafter per 10 000 invånare",
            "Rådets möten under kvartalet",
            "Folkmängd (SCB)",
            "Folkmängdens år",
        ),
        ("1080", "Karlskrona", 2.5, round(2.5 / 66_262 * 10_000, 4), 3, 66_262, 2016),
        ("1081", "Ronneby", None, None, None, 29_207, 2016),
    ]
    assert rows["Teckenförklaring"][:2] == [("Behovsrapport Blekinge län 2026-Q3", None), ("Tecken", "Betydelse")]


def test_the_body_shows_detail_rows_alerts_and_the_attachment_and_text_all(survey, stored):
    full = rp.build_report(survey, stored.responses, PERIOD, "sv", stored.roster)
    assert len(full.alerts) >= 3  # the demo's last quarter raises several
    cut = rp.build_report(survey, stored.responses, PERIOD, "sv", stored.roster, max_rows=4)  # 2 alerts in the body
    assert cut.alerts == full.alerts  # --json keeps them all
    shown = [a["message"] for a in cut.alerts if html_escape(a["message"]) in cut.html]
    assert len(shown) == 2 and f"och {len(cut.alerts) - 2} varningar till" in cut.html
    assert all(a["message"] in cut.text for a in cut.alerts)
    wb = openpyxl.load_workbook(io.BytesIO(cut.xlsx))
    assert wb.sheetnames[0] == "Varningar"
    rows = list(wb["Varningar"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [a["kind"] for a in cut.alerts]
    assert [r[3] for r in rows] == [a["message"] for a in cut.alerts]
