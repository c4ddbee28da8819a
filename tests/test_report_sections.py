"""Each report section as a function of ReportData, fed a tiny hand-made frame: values, suppression, order."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

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


def answers_for_marks(planted: bool = True) -> list[dict[str, Any]]:
    """Six answers per Blekinge municipality in the period and the quarter before, all 3 ("some need"); planted:
    Olofström's 5 on B05 (method support, 100 %) and B04 (horizon scanning, 83 %), and "Vet ej" (not scored, so n
    is 5 there) from one of its respondents on B09."""
    rows = []
    for wave in ("2026-Q2", PERIOD):
        for muni in ("1060", "1080", "1081", "1082", "1083"):
            for i in range(6):
                need = {f"B0{k}": "3" for k in range(1, 10)}
                if planted and muni == "1060" and wave == PERIOD:
                    need |= {"B05": "5", "B04": "5" if i < 5 else "3"}
                    if i == 0:
                        need["B09"] = "9"  # "Vet ej": not scored
                rows.append(answer(muni, wave, org=f"Org {muni}-{i}", **need))
    return rows


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
    assert [a["B01"] for a in data.responses["answers"]] == ["5", "2", "4"]  # every wave up to the period
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
    assert cells["1080"] == {"value": "50\u00a0%", "n": 6, "q": "+10", "y": "", "suppressed": False, "above": False}
    hidden = {"value": "–", "n": None, "q": "", "y": "", "suppressed": True, "above": False}
    assert cells["1081"] == cells["1082"] == cells["1060"] == hidden
    assert needs.county_row["name"] == "Hela länet"
    assert needs.county_row["cells"] == [
        {"value": "44\u00a0%", "n": 17, "q": "−5", "y": "±0", "suppressed": False, "above": False}
    ]
    assert not needs.marked and not needs.n_varies


def test_needs_section_marks_cells_ten_points_or_more_above_the_county_and_says_when_n_varies(survey):
    table = pd.DataFrame(
        [
            need("1080", 6, 0.70),  # 70 against the county's 60: marked
            need("1081", 8, 0.69),  # 69: nine points, not marked
            need("1082", 3, 0.95),  # hidden: never marked
            need("10", 17, 0.60),
            need("1080", 5, 0.80, item="B02"),  # another n for the same municipality: "Vet ej" left out
            need("10", 16, 0.80, item="B02"),
        ]
    )
    data = data_for(survey, items=["B01", "B02"], labels={"B01": "Trygghet", "B02": "Droger"}, table=table)
    needs = rp.needs_section(data)
    marks = {r["code"]: [c["above"] for c in r["cells"]] for r in needs.rows}
    assert marks["1080"] == [True, False] and marks["1081"] == [False, False] and marks["1082"] == [False, False]
    assert needs.marked and needs.n_varies
    assert not any(c["above"] for c in needs.county_row["cells"])
    html = rp.build_report(survey, frame(answers_for_marks()), PERIOD).html
    body = html[html.index("Behov av stöd per kommun") :]
    assert "▲" in body and "minst 10 procentenheter över länet för samma behov." in body


def test_needs_section_follows_shown_order(survey):
    shown = [reference.municipalities()[c] for c in ("1082", "1060")]
    data = data_for(survey, shown=shown, table=pd.DataFrame([need("1082", 5, 0.8), need("1060", 5, 0.2)]))
    needs = rp.needs_section(data)
    assert [(r["name"], r["cells"][0]["value"]) for r in needs.rows] == [
        ("Karlshamn", "80\u00a0%"),
        ("Olofström", "20\u00a0%"),
    ]


def test_spread_section_greatest_and_least_need_median_gap_in_points_and_its_change(survey):
    table = pd.DataFrame(
        [
            need("1080", 6, 0.6),
            need("1081", 5, 0.2),
            need("1083", 7, 0.4),
            need("1082", 2, 0.95),  # hidden: neither greatest need nor median
            need("10", 13, 0.45),  # the county row is not a municipality
            need("1080", 6, 0.5, wave="2026-Q2"),
            need("1081", 6, 0.3, wave="2026-Q2"),
            need("1080", 6, 0.5, item="B03"),  # two municipalities shown: no county median
            need("1081", 6, 0.3, item="B03"),
        ]
    )
    labels = {"B01": "Trygghet", "B02": "Droger", "B03": "Skola"}
    data = data_for(survey, items=["B01", "B02", "B03"], labels=labels, table=table)
    assert rp.spread_section(data) == [
        {
            "item": "Trygghet",
            "most": "60\u00a0%",
            "most_name": "Karlskrona",
            "median": "40\u00a0%",
            "least": "20\u00a0%",
            "least_name": "Ronneby",
            "gap": "40",
            "gap_pp": "40\u00a0procentenheter",
            "gap_change": "+20",
        },
        {
            "item": "Droger",
            "most": "–",
            "most_name": "",
            "median": "–",
            "least": "–",
            "least_name": "",
            "gap": "–",
            "gap_pp": "–",
            "gap_change": "",
        },
        {
            "item": "Skola",
            "most": "50\u00a0%",
            "most_name": "Karlskrona",
            "median": "–",
            "least": "30\u00a0%",
            "least_name": "Ronneby",
            "gap": "20",
            "gap_pp": "20\u00a0procentenheter",
            "gap_change": "",
        },
    ]


def test_history_section_greatest_need_median_and_gap_per_wave_without_county_or_hidden_rows(survey):
    index = pd.DataFrame(
        [
            index_row("1080", 6, 0.7),
            index_row("1081", 7, 0.2),
            index_row("1083", 9, 0.3),
            index_row("10", 22, 0.9),  # the county: never the greatest need
            index_row("1082", 3, 0.8, wave="2026-Q2"),  # hidden: its wave has no row
            index_row("10", 3, 0.8, wave="2026-Q2"),
            index_row("1080", 6, 0.6, wave="2026-Q1"),  # two municipalities shown: no county median
            index_row("1081", 6, 0.4, wave="2026-Q1"),
            index_row("10", 12, 0.5, wave="2026-Q1"),
        ]
    )
    data = data_for(survey, index=index)
    assert rp.history_section(data) == [
        {
            "wave": "2026-Q1",
            "most": "60\u00a0%",
            "most_name": "Karlskrona",
            "median": "–",
            "gap": "20",
            "gap_pp": "20\u00a0procentenheter",
        },
        {
            "wave": PERIOD,
            "most": "70\u00a0%",
            "most_name": "Karlskrona",
            "median": "30\u00a0%",
            "gap": "50",
            "gap_pp": "50\u00a0procentenheter",
        },
    ]
    notes = rp.median_notes_section(data)  # why the waves with answers but no median have none
    assert len(notes) == 2 and all(PERIOD not in n for n in notes)
    assert "2026-Q1" in notes[0] and "färre än tre kommuner" in notes[0]
    assert "2026-Q2" in notes[1] and "ingen kommun" in notes[1]
    assert not any(w in " ".join(notes) for w in data.history[:5])  # waves without answers are not named
    full = rp.report_data(survey, frame(answers_for_marks()), PERIOD)
    assert rp.median_notes_section(full) == []  # five municipalities shown in both waves with answers


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
    karlskrona, ronneby = cut.rows  # the two lowest rates, in the report's one order
    assert ronneby["name"] == "Ronneby" and karlskrona["name"] == "Karlskrona"
    assert ronneby["cells"] == ["0/2", "", "", "", ""] and ronneby["missing"] == ["A-föreningen", "B-föreningen"]
    assert ronneby["change"] == ""  # nobody expected there the quarter before
    assert karlskrona["cells"] == ["1/2", "", "", "", "1/1"] and karlskrona["change"] == "−33"


def test_coverage_section_without_roster_counts_respondents_under_five_as_lt5(survey):
    rows = [
        *[answer("1080", org=f"K{i}") for i in range(3)],
        *[answer("1080", sector="ideburen", org=f"I{i}") for i in range(2)],
        answer("1081", B01="9"),  # "vet ej": a respondent without a need cell, so none is hidden beside Karlskrona's
        answer("1082", "2026-Q2"),  # another wave
    ]
    data = data_for(survey, rows)
    c = rp.coverage_section(data)
    assert c.rows == [] and c.rate is None
    assert c.fallback == [  # Karlskrona's need index is the only one shown: it comes first, the rest as listed
        {"name": "Karlskrona", "n": "5"},
        {"name": "Olofström", "n": "0"},
        {"name": "Ronneby", "n": "<5"},
        {"name": "Karlshamn", "n": "0"},
        {"name": "Sölvesborg", "n": "0"},
    ]
    cut = rp.coverage_section(dataclasses.replace(data, max_rows=2)).fallback
    assert [r["name"] for r in cut] == ["Karlskrona", "Olofström"]


def test_capacity_section_the_municipalities_own_figures_in_the_reports_order(survey):
    rows = [
        answer("1080", K04="2.5", K01="1", K07="3"),
        answer("1081", K04="1"),
        answer("1082", sector="ideburen", K04="9"),  # not the municipality's own figure
    ]
    data = data_for(survey, rows)
    capacity = rp.capacity_section(data)
    assert [r["name"] for r in capacity.rows] == [m.name for m in data.order] == BLEKINGE  # all hidden: as listed
    karlskrona = capacity.rows[1]
    assert karlskrona["fte"] == "2,50" and karlskrona["fte_10k"] == "0,38"  # 2.5 / 66 262 inhabitants
    assert karlskrona["lagesbild"] == "Ja, beslutad inom de senaste 12 månaderna" and karlskrona["meetings"] == "3"
    assert karlskrona["atgardsplan"] == "–"
    assert capacity.rows[0]["fte"] == "–" and capacity.rows[0]["meetings"] == "–"  # Olofström gave nothing
    assert capacity.county == (  # every count says what it counts: k of the county's 5 municipalities
        "Hela länet: 3,50 årsarbetskrafter (0,37 per 10\u00a0000 invånare) i de 2 av 5 kommuner som uppgett sina "
        "årsarbetskrafter. Antal kommuner av 5 som har: lägesbild 1; åtgärdsplan 0; samordningsfunktion 0; "
        "samverkansöverenskommelse 0; medborgarlöften 0."
    )
    en = rp.capacity_section(dataclasses.replace(data, lang="en")).county
    assert en.startswith("Whole county: 3.50 FTE (0.37 per 10,000 inhabitants) in the 2 of 5 municipalities")
    assert en.endswith(
        "Municipalities of 5 that have: situation picture 1; action plan 0; coordination function 0; "
        "collaboration agreement 0; citizen promises 0."
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
    assert "Karlskrona 40 → 50\u00a0%" in trend.alt and "Ronneby 20 → 20\u00a0%" in trend.alt
    assert floor.filename == "storst-behov-och-spridning.png" and "2024-Q4–2026-Q3" in floor.alt
    assert rp.charts_section(dataclasses.replace(data, index=pd.DataFrame([index_row("10", 13, 0.3)]))) == []


def test_page_context_gives_the_words_the_periods_values(survey):
    two = reference.county_municipalities("10")[:2]
    ctx = rp.page_context(data_for(survey, respondents=1234, shown=two))
    assert (ctx["county"], ctx["period"], ctx["generated"], ctx["respondents"]) == (
        "Blekinge län",
        PERIOD,
        "1 okt. 2026",
        "1\u00a0234",
    )
    assert (ctx["previous"], ctx["year_ago"], ctx["shown"], ctx["total"]) == ("2026-Q2", "2025-Q3", 2, 5)
    en = rp.page_context(data_for(survey, lang="en"))
    assert en["title"] == "Crime-prevention needs and capacity in Blekinge County"
    assert en["generated"] == "Oct 1, 2026"


def test_the_templates_fill_the_words_in_the_reports_language(survey):
    rows = answers_for_marks()
    sv = rp.build_report(survey, frame(rows), PERIOD, generated=dt.date(2026, 10, 1))
    en = rp.build_report(survey, frame(rows), PERIOD, "en", generated=dt.date(2026, 10, 1))
    for r in (sv, en):
        assert "{" not in r.text and "%(" not in r.text and "%(" not in r.html  # every placeholder filled
    assert "förändring i procentenheter mot 2026-Q2 | mot 2025-Q3." in sv.text
    assert "change in percentage points against 2026-Q2 | against 2025-Q3." in en.text
    assert "Skapad 1 okt. 2026 av bfs-pipeline" in sv.html and "Made Oct 1, 2026 by bfs-pipeline" in en.html
    assert sv.subject == "Behovsrapport Blekinge län 2026-Q3" and en.subject == "Needs report Blekinge län 2026-Q3"
    assert "Störst behov och spridning per behov" in sv.html and "Greatest need and gap per need" in en.html
    for r in (sv, en):
        assert "golv" not in r.html.lower() and "floor" not in r.html.lower()  # "golv" is for capacity only
    assert "Behov av stöd per kommun" not in en.html and "Hela länet" not in en.html


def test_actions_name_the_needs_that_stand_out_and_who_has_not_answered(survey):
    actors = roster(
        *[(f"Org 1060-{i}", "kommun", ["1060"]) for i in range(6)],
        ("Olofströms IF", "ideburen", ["1060"]),
        ("Företagarna Olofström", "naringsliv", ["1060"]),
        ("Org 1081-0", "kommun", ["1081"]),
        ("Polisen Ronneby", "polis", ["1081"]),  # Ronneby stands out in nothing (half answered): not named
    )
    data = rp.report_data(survey, frame(answers_for_marks()), PERIOD, roster=actors)
    found = rp.alerts_section(data)
    assert rp.actions_section(data, found) == [
        "Olofström: störst behov av metodstöd (100\u00a0%) och omvärldsbevakning (83\u00a0%); "
        "2 organisationer har inte svarat: Företagarna Olofström och Olofströms IF."
    ]
    report = rp.build_report(survey, frame(answers_for_marks()), PERIOD, roster=actors)
    html = report.html
    assert html.index("Att uppmärksamma") < html.index("Vad siffrorna pekar på") < html.index("Sammanfattning")
    assert "Olofström: störst behov av metodstöd" in report.text
    en = rp.build_report(survey, frame(answers_for_marks()), PERIOD, "en", roster=actors)
    assert en.actions == [
        "Olofström: greatest need for method support (100%) and horizon scanning (83%); "
        "2 organisations have not answered: Företagarna Olofström and Olofströms IF."
    ]
    assert "What the numbers point to" in en.html


def test_no_actions_section_when_nothing_stands_out(survey):
    report = rp.build_report(survey, frame(answers_for_marks(planted=False)), PERIOD)
    assert report.actions == [] and "Vad siffrorna pekar på" not in report.html
    assert "VAD SIFFRORNA PEKAR PÅ" not in report.text and "▲" not in report.html


def test_actions_for_low_coverage_alone_and_at_most_three_needs_named(survey):
    rows = answers_for_marks(planted=False)
    for r in rows:  # Karlshamn answers 5 on five needs: three named, then how many more
        if r["answers"]["C01"] == ["1082"] and r["wave"] == PERIOD:
            r["answers"] |= {f"B0{k}": "5" for k in range(1, 6)}
    actors = roster(("Org 1081-0", "kommun", ["1081"]), *[(f"Tyst {i}", "polis", ["1081"]) for i in range(3)])
    data = rp.report_data(survey, frame(rows), PERIOD, roster=actors)
    found = rp.alerts_section(data)
    assert [a["municipality"]["name"] for a in found if a["kind"] == "low_coverage"] == ["Ronneby"]
    assert rp.actions_section(data, found) == [
        "Karlshamn: störst behov av goda exempel från andra kommuner/aktörer (100\u00a0%), att ta fram eller "
        "utveckla en lokal lägesbild/problembild (100\u00a0%), utbildning av det lokala brottsförebyggande rådet "
        "eller motsvarande forum (100\u00a0%) och 2 behov till.",
        "Ronneby: 3 organisationer har inte svarat: Tyst 0, Tyst 1 och Tyst 2.",
    ]


def test_one_municipality_order_in_the_needs_table_coverage_capacity_and_charts(survey):
    rows = answers_for_marks(planted=False)
    high = {"1083": 9, "1081": 5, "1080": 3, "1082": 1, "1060": 0}  # needs answered 4: the need index's order
    for r in rows:
        code = r["answers"]["C01"][0]
        if r["wave"] == PERIOD:
            r["answers"] |= {f"B0{k}": "4" for k in range(1, high[code] + 1)} | {"K04": "1"}
    actors = roster(*[(f"Org {m}-0", "kommun", [m]) for m in ("1060", "1080", "1081", "1082", "1083")])
    data = rp.report_data(survey, frame(rows), PERIOD, roster=actors)
    expected = ["Sölvesborg", "Ronneby", "Karlskrona", "Karlshamn", "Olofström"]
    assert [m.name for m in data.order] == [m.name for m in data.shown] == expected
    assert [r["name"] for r in rp.needs_section(data).rows] == expected
    assert [r["name"] for r in rp.coverage_section(data).rows] == expected
    assert [r["name"] for r in rp.capacity_section(data).rows] == expected
    trend = rp.charts_section(data)[0]
    described = [trend.alt.index(f"{name} ") for name in expected]  # the panels, as the alt text describes them
    assert described == sorted(described)
