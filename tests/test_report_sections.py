"""Each report section as a function of ReportData, fed a tiny hand-made frame: values, suppression, order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from typing import Any

import openpyxl
import pandas as pd
import pytest

from bfs_pipeline import metrics, reference
from bfs_pipeline import report as rp
from bfs_pipeline.normalize import org_key
from bfs_pipeline.survey import Survey

PERIOD = "2026-Q3"
NAN = float("nan")
BLEKINGE = ["Olofström", "Karlskrona", "Ronneby", "Karlshamn", "Sölvesborg"]  # 1060, 1080, 1081, 1082, 1083


def answer(muni: str, wave: str = PERIOD, sector: str = "kommun", org: str = "", **answers: Any) -> dict[str, Any]:
    return {
        "sector": sector,
        "wave": wave,
        "organisation": org or f"Org {muni}",
        "submitted_at": pd.Timestamp("2026-08-01"),
        "answers": {"C01": [muni], "B01": "3", **answers},
    }


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


def roster(*actors: tuple[str, str, list[str]]) -> pd.DataFrame:
    """A roster as roster_frame gives it: (name, sector, municipalities)."""
    rows = []
    for i, (name, sector, munis) in enumerate(actors, start=1):
        rows.append({"id": i, "name": name, "name_key": org_key(name), "sector": sector, "municipalities": munis})
    return pd.DataFrame(rows)


def data_for(survey: Survey, rows: list[dict[str, Any]] | None = None, **fields: Any) -> rp.ReportData:
    """ReportData from a few answers (three in the period by default), then fields replaced by hand-made ones."""
    rows = rows or [answer("1080", B01="5"), answer("1081", B01="2"), answer("1082", B01="4")]
    data = rp.report_data(survey, frame(rows), PERIOD, generated=dt.date(2026, 10, 1))
    return dataclasses.replace(data, **fields)


def need(
    muni: str,
    n: int,
    share: float,
    wave: str = PERIOD,
    item: str = "B01",
    q: float = NAN,
    y: float = NAN,
) -> dict[str, Any]:
    """A need-table row as report_data leaves it: hidden under 5 respondents."""
    hidden = n < metrics.MIN_N
    return {
        "municipality": muni,
        "wave": wave,
        "item": item,
        "n": n,
        "share_high": NAN if hidden else share,
        "mean": NAN if hidden else 1 + 4 * share,
        "suppressed": hidden,
        "q_change": q,
        "y_change": y,
    }


def index_row(muni: str, n: int, index: float, wave: str = PERIOD) -> dict[str, Any]:
    hidden = n < metrics.MIN_N
    return {
        "municipality": muni,
        "wave": wave,
        "n": n,
        "answers": 9 * n,
        "index": NAN if hidden else index,
        "suppressed": hidden,
    }


def cov_row(muni: str, sector: str, expected: int, answered: int, missing: list[str] | None = None) -> dict[str, Any]:
    return {
        "municipality": muni,
        "sector": sector,
        "expected": expected,
        "answered": answered,
        "rate": answered / expected,
        "missing": missing or [],
    }


def test_report_data_scores_up_to_the_period_and_keeps_the_countys_own_roster(survey):
    rows = [
        answer("1080", B01="5", org="Polisen Karlskrona", sector="polis"),
        answer("1081", B01="2"),
        answer("1080", "2026-Q2", B01="4"),
        answer("1080", "2026-Q4", B01="1"),  # after the period: not counted
    ]
    actors = roster(
        ("Polisen Karlskrona", "polis", ["1080"]),
        ("Länsstyrelsen", "myndighet", ["10"]),
        ("Polisen Stockholm", "polis", ["1080", "0180"]),  # also in another county: another county's report counts it
    )
    data = rp.report_data(survey, frame(rows), PERIOD, "en", roster=actors, generated=dt.date(2026, 10, 1))
    assert data.respondents == 2
    assert list(data.responses["wave"]) == [PERIOD, PERIOD, "2026-Q2"]
    assert list(data.responses[metrics.SCORE + "B01"]) == [5.0, 2.0, 4.0]
    assert list(data.roster["name"]) == ["Polisen Karlskrona", "Länsstyrelsen"]
    assert data.coverage[["municipality", "sector", "expected", "answered"]].values.tolist() == [
        ["10", "myndighet", 1, 0],
        ["1080", "polis", 1, 1],
    ]
    assert (data.previous, data.year_ago) == ("2026-Q2", "2025-Q3")
    assert data.history == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", PERIOD]
    assert [m.name for m in data.shown] == BLEKINGE  # five fit side by side
    assert data.names["10"] == data.county_name == "Blekinge län"
    assert data.labels["B01"] == survey.question("B01").title("en").removeprefix("Need of support: ").capitalize()
    t = data.table
    one = t[(t["municipality"] == "1080") & (t["wave"] == PERIOD) & (t["item"] == "B01")]
    assert one[["n", "suppressed"]].values.tolist() == [[1, True]]


def test_highest_need_first_puts_hidden_and_missing_municipalities_last():
    index = pd.DataFrame(
        [
            index_row("1080", 6, 0.2),
            index_row("1081", 3, 0.9),  # hidden: n=3
            index_row("1082", 7, 0.6),
            index_row("1083", 8, 0.99, wave="2026-Q2"),  # another wave
        ]
    )
    order = rp._highest_need_first(index, PERIOD, reference.county_municipalities("10"))
    assert [m.code for m in order] == ["1082", "1080", "1060", "1081", "1083"]


def test_needs_section_shows_share_n_and_change_and_hides_small_cells(survey):
    table = pd.DataFrame(
        [
            need("1080", 6, 0.5, q=0.1),
            need("1081", 3, 0.9),  # under 5 respondents
            need("1082", 8, 0.7, wave="2026-Q2"),  # nothing in the period
            need("10", 17, 4 / 9, q=-0.05, y=0.0),
        ]
    )
    data = data_for(survey, items=["B01"], labels={"B01": "Trygghet"}, table=table)
    needs = rp.needs_section(data)
    assert needs.items == ["Trygghet"] and not needs.cut
    assert [r["name"] for r in needs.rows] == BLEKINGE
    cells = {r["code"]: r["cells"][0] for r in needs.rows}
    assert cells["1080"] == {"value": "50\u00a0%", "n": 6, "q": "+10", "y": "", "suppressed": False}
    hidden = {"value": "–", "n": None, "q": "", "y": "", "suppressed": True}
    assert cells["1081"] == cells["1082"] == cells["1060"] == hidden
    assert needs.county_row["name"] == "Hela länet"
    assert needs.county_row["cells"] == [{"value": "44\u00a0%", "n": 17, "q": "−5", "y": "±0", "suppressed": False}]


def test_needs_section_follows_shown_order(survey):
    shown = [reference.municipalities()[c] for c in ("1082", "1060")]
    data = data_for(survey, shown=shown, table=pd.DataFrame([need("1082", 5, 0.8), need("1060", 5, 0.2)]))
    needs = rp.needs_section(data)
    assert [(r["name"], r["cells"][0]["value"]) for r in needs.rows] == [
        ("Karlshamn", "80\u00a0%"),
        ("Olofström", "20\u00a0%"),
    ]


def test_spread_section_floor_least_median_gap_and_its_change(survey):
    table = pd.DataFrame(
        [
            need("1080", 6, 0.6),
            need("1081", 5, 0.2),
            need("1082", 2, 0.95),  # hidden: neither floor nor median
            need("10", 13, 0.45),  # the county row is not a municipality
            need("1080", 6, 0.5, wave="2026-Q2"),
            need("1081", 6, 0.3, wave="2026-Q2"),
        ]
    )
    data = data_for(survey, items=["B01", "B02"], labels={"B01": "Trygghet", "B02": "Droger"}, table=table)
    assert rp.spread_section(data) == [
        {
            "item": "Trygghet",
            "floor": "60\u00a0%",
            "floor_name": "Karlskrona",
            "median": "40\u00a0%",
            "least": "20\u00a0%",
            "least_name": "Ronneby",
            "gap": "40\u00a0%",
            "gap_change": "+20",
        },
        {
            "item": "Droger",
            "floor": "–",
            "floor_name": "",
            "median": "–",
            "least": "–",
            "least_name": "",
            "gap": "–",
            "gap_change": "",
        },
    ]


def test_history_section_floor_and_gap_per_wave_without_county_or_hidden_rows(survey):
    index = pd.DataFrame(
        [
            index_row("1080", 6, 0.7),
            index_row("1081", 7, 0.2),
            index_row("10", 13, 0.9),  # the county: never the floor
            index_row("1082", 3, 0.8, wave="2026-Q2"),  # hidden: its wave has no row
        ]
    )
    data = data_for(survey, index=index)
    assert rp.history_section(data) == [
        {
            "wave": PERIOD,
            "floor": "70\u00a0%",
            "floor_name": "Karlskrona",
            "median": "45\u00a0%",
            "gap": "50\u00a0%",
        },
    ]


def test_coverage_section_against_the_roster_lowest_rates_first_when_cut(survey):
    now = pd.DataFrame(
        [
            cov_row("1080", "kommun", 2, 1, ["Tysta kommunen"]),
            cov_row("1080", "ideburen", 1, 1),
            cov_row("1081", "kommun", 2, 0, ["B-föreningen", "A-föreningen"]),
        ]
    )
    prev = pd.DataFrame([cov_row("1080", "kommun", 2, 2)])
    data = data_for(survey, coverage=now, coverage_prev=prev, roster=roster(("Tysta kommunen", "kommun", ["1080"])))
    full = rp.coverage_section(data)
    assert full.sectors == ["Kommun", "Polisen", "Statlig myndighet eller region", "Näringsliv", "Idéburen sektor"]
    assert full.rate == pytest.approx(0.4) and full.fallback == []
    assert [(r["name"], r["total"], r["rate"]) for r in full.rows] == [
        ("Olofström", "0/0", "–"),
        ("Karlskrona", "2/3", "67\u00a0%"),
        ("Ronneby", "0/2", "0\u00a0%"),
        ("Karlshamn", "0/0", "–"),
        ("Sölvesborg", "0/0", "–"),
    ]
    cut = rp.coverage_section(dataclasses.replace(data, max_rows=2))
    ronneby, karlskrona = cut.rows
    assert ronneby["name"] == "Ronneby" and karlskrona["name"] == "Karlskrona"
    assert ronneby["cells"] == ["0/2", "", "", "", ""] and ronneby["missing"] == ["A-föreningen", "B-föreningen"]
    assert ronneby["change"] == ""  # nobody expected there the quarter before
    assert karlskrona["cells"] == ["1/2", "", "", "", "1/1"] and karlskrona["change"] == "−33"


def test_coverage_section_without_roster_counts_respondents_under_five_as_lt5(survey):
    rows = [
        *[answer("1080", org=f"K{i}") for i in range(3)],
        *[answer("1080", sector="ideburen", org=f"I{i}") for i in range(2)],
        answer("1081"),
        answer("1082", "2026-Q2"),  # another wave
    ]
    data = data_for(survey, rows)
    c = rp.coverage_section(data)
    assert c.rows == [] and c.rate is None
    assert c.fallback == [
        {"name": "Olofström", "n": "0"},
        {"name": "Karlskrona", "n": "5"},
        {"name": "Ronneby", "n": "<5"},
        {"name": "Karlshamn", "n": "0"},
        {"name": "Sölvesborg", "n": "0"},
    ]
    assert [r["name"] for r in rp.coverage_section(dataclasses.replace(data, max_rows=2)).fallback] == BLEKINGE[:2]


def test_capacity_section_the_municipalities_own_figures_fewest_fte_last_unknown_first(survey):
    rows = [
        answer("1080", K04="2.5", K01="1", K07="3"),
        answer("1081", K04="1"),
        answer("1082", sector="ideburen", K04="9"),  # not the municipality's own figure
    ]
    capacity = rp.capacity_section(data_for(survey, rows))
    assert [r["name"] for r in capacity.rows] == ["Olofström", "Karlshamn", "Sölvesborg", "Ronneby", "Karlskrona"]
    karlskrona = capacity.rows[-1]
    assert karlskrona["fte"] == "2,50" and karlskrona["fte_10k"] == "0,38"  # 2.5 / 66 262 inhabitants
    assert karlskrona["lagesbild"] == "Ja, beslutad inom de senaste 12 månaderna" and karlskrona["meetings"] == "3"
    assert karlskrona["atgardsplan"] == "–"
    assert capacity.rows[1]["fte"] == "–" and capacity.rows[1]["meetings"] == "–"
    assert capacity.county == (
        "Hela länet: Årsarb. 3,50 (Per 10 000: 0,37; 2/5); Lägesbild: 1/5; Åtgärdsplan: 0/5; "
        "Samordningsfunktion: 0/5; Samverkansöverenskommelse: 0/5; Medborgarlöften: 0/5."
    )


def test_capacity_section_empty_without_capacity_questions(survey):
    data = data_for(survey)
    bare = dataclasses.replace(data, survey=dataclasses.replace(survey, sectors={"polis": survey.sectors["polis"]}))
    assert rp.capacity_section(bare) == rp.Capacity(rows=[], county="")


def test_alerts_and_summary_from_the_need_index_and_coverage(survey):
    index = pd.DataFrame([index_row("1080", 6, 0.5), index_row("1081", 7, 0.2), index_row("10", 13, 0.34)])
    cov = pd.DataFrame([cov_row("1081", "kommun", 10, 3)])
    data = data_for(survey, index=index, coverage=cov, respondents=13)
    found = rp.alerts_section(data)
    kinds = [(a["kind"], a["municipality"]["name"], a["values"]["answered"]) for a in found]
    assert kinds == [("low_coverage", "Ronneby", 3)]
    assert rp.alerts_section(dataclasses.replace(data, alert_coverage=0.3)) == []
    assert rp.summary_section(data, found) == [
        "13 svar räknas för 2026-Q3; 3 av 10 förväntade organisationssvar kom in (30\u00a0%).",
        "I länet svarar 34\u00a0% av behovssvaren 4–5.",
        "Störst behov har Karlskrona (50\u00a0%), minst Ronneby (20\u00a0%).",
        "1 varning: se överst.",
    ]


def test_charts_section_two_charts_over_the_history_none_without_municipal_rows(survey):
    index = pd.DataFrame(
        [
            index_row("1080", 6, 0.4, wave="2026-Q2"),
            index_row("1080", 6, 0.5),
            index_row("1081", 7, 0.2),
        ]
    )
    data = data_for(survey, index=index)
    trend, floor = rp.charts_section(data)
    assert trend.filename == "behov-per-kommun.png" and trend.png.startswith(b"\x89PNG")
    assert "Karlskrona 40 → 50 %" in trend.alt and "Ronneby 20 → 20 %" in trend.alt
    assert floor.filename == "golv-och-spridning.png" and "2024-Q4–2026-Q3" in floor.alt
    assert rp.charts_section(dataclasses.replace(data, index=pd.DataFrame([index_row("10", 13, 0.3)]))) == []


def test_page_context_fills_the_words_with_the_periods_values(survey):
    two = reference.county_municipalities("10")[:2]
    ctx = rp.page_context(data_for(survey, respondents=1234, shown=two))
    assert (ctx["county"], ctx["period"], ctx["generated"], ctx["respondents"]) == (
        "Blekinge län",
        PERIOD,
        "2026-10-01",
        "1\u00a0234",
    )
    t = ctx["t"]
    assert "subject" not in t
    assert t["needs_intro"].endswith("mot 2026-Q2 | mot 2025-Q3.")
    assert t["needs_cut"] == "Visar de 2 kommuner med störst behov av 5; alla finns i bilagan."
    assert t["footer"].startswith("Skapad 2026-10-01 ")
    en = rp.page_context(data_for(survey, lang="en"))
    assert en["title"] == "Crime-prevention needs and capacity in Blekinge County"
    assert en["t"]["heading"] == "Needs report"


def sheet(xlsx: bytes, name: str) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(io.BytesIO(xlsx))[name].iter_rows(values_only=True))


def test_workbook_section_every_table_hidden_cells_marked_and_text_neutralised(survey):
    table = pd.DataFrame(
        [
            need("1081", 3, 0.9),
            need("1080", 6, 0.5, q=0.1),
            need("1080", 6, 0.4, wave="2026-Q2"),
        ]
    )
    index = pd.DataFrame(
        [
            index_row("1080", 6, 0.5),
            index_row("1081", 3, 0.9),
            index_row("1080", 6, 0.1, wave="2024-Q3"),
        ]
    )
    formula = '=HYPERLINK("x")'
    cov = pd.DataFrame([cov_row("1080", "kommun", 2, 1, [formula])])
    capacity = [{"name": "Karlskrona", "fte": "2,50", "fte_10k": "0,38", "fte_value": 2.5, "meetings": "3"}]
    data = data_for(survey, labels={"B01": "Trygghet"}, table=table, index=index, coverage=cov)
    xlsx = rp.workbook_section(data, capacity)
    needs = sheet(xlsx, "Behov")
    assert needs[0][:6] == ("wave", "code", "Kommun", "item", "Behov", "n")
    assert needs[1:] == [  # the period only, by municipality
        (PERIOD, "1080", "Karlskrona", "B01", "Trygghet", 6, 0.5, 3.0, 0.1, None),
        (PERIOD, "1081", "Ronneby", "B01", "Trygghet", "–", "–", "–", None, None),
    ]
    assert sheet(xlsx, "Behovsindex")[1:] == [  # 2024-Q3 is before the history waves
        (PERIOD, "1080", "Karlskrona", 6, 0.5),
        (PERIOD, "1081", "Ronneby", "–", "–"),
    ]
    assert sheet(xlsx, "Spridning")[1:] == [  # a municipality alone is floor, median and least
        ("2026-Q2", "Trygghet", 0.4, "Karlskrona", 0.4, 0.4, "Karlskrona", 0),
        (PERIOD, "Trygghet", 0.5, "Karlskrona", 0.5, 0.5, "Karlskrona", 0),
    ]
    assert sheet(xlsx, "Täckning")[1:] == [(PERIOD, "Karlskrona", "kommun", 2, 1, 0.5, "'" + formula)]
    assert sheet(xlsx, "Kapacitet") == [
        ("Kommun", "Årsarb.", "Per 10 000", "Möten (kv)"),
        ("Karlskrona", "2,50", "0,38", "3"),
    ]
    assert sheet(xlsx, "Teckenförklaring")[0] == ("Behovsrapport Blekinge län 2026-Q3", None)
