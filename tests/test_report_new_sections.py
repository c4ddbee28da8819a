"""The report's sections of issue 13 on hand-computed answers: "Lagens krav", "Processmognad", "Hur andra ser
kommunen" (pooled over four quarters where one has fewer than five respondents), satisfaction with the county
board's support by sector, the regional network's list; primary and secondary suppression in the body, the text and
the workbook; and the population year under the capacity table. Real templates and a real XLSX; the last test goes
through the ingest into a SQLite file and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from sqlalchemy import Engine

from bfs_pipeline import i18n, pipeline, sections
from bfs_pipeline import report as rp
from bfs_pipeline.config import Settings
from bfs_pipeline.store import current_responses
from bfs_pipeline.survey import Survey
from tests.conftest import good_row
from tests.test_report_sections import PERIOD, answer, frame, roster

HIDDEN = i18n.SUPPRESSED
POOLED = "2025-Q4–2026-Q3, poolat"


def pct(v: int) -> str:
    return f"{v}\u00a0%"


def ideburen(muni: str, wave: str, org: str, i06: int, i08: int) -> dict[str, Any]:
    return answer(muni, wave, sector="ideburen", org=org, I06=str(i06), I08=str(i08))


def sheet_rows(report: rp.Report, name: str) -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(report.xlsx))
    return list(wb[name].iter_rows(values_only=True))


def cells(view: sections.ViewTable) -> dict[str, list[tuple[str, int | None]]]:
    return {r["name"]: [(c["value"], c["n"]) for c in r["cells"]] for r in [view.county, *view.rows]}


def test_views_pool_the_last_four_quarters_where_the_quarter_has_fewer_than_five_and_say_so(survey):
    rows = [
        # Karlskrona: three in the period, three more earlier in the four quarters, one before them
        ideburen("1080", PERIOD, "IF Karlskrona", 4, 2),
        ideburen("1080", PERIOD, "Scouterna Karlskrona", 4, 2),
        ideburen("1080", PERIOD, "Nattvandrarna Karlskrona", 5, 5),
        ideburen("1080", "2026-Q1", "IF Karlskrona", 1, 1),  # the same respondent's older answer: not counted
        ideburen("1080", "2026-Q1", "Brottsofferjouren Karlskrona", 5, 9),  # 9: "vet ej", not scored
        ideburen("1080", "2025-Q4", "Röda korset Karlskrona", 5, 5),
        ideburen("1080", "2026-Q2", "Fritidsgården Karlskrona", 2, 4),
        ideburen("1080", "2025-Q3", "Kyrkan Karlskrona", 1, 1),  # five quarters back: outside the pool
        # Ronneby: five in the period, not pooled
        *[ideburen("1081", PERIOD, f"Förening {i} Ronneby", v, 4) for i, v in enumerate([4, 4, 1, 1, 1])],
        # Sölvesborg and Olofström: two respondents each over the year, hidden (two hidden: no secondary)
        ideburen("1083", PERIOD, "IF Sölvesborg", 5, 5),
        ideburen("1083", "2026-Q1", "Scouterna Sölvesborg", 5, 5),
        ideburen("1060", PERIOD, "IF Olofström", 5, 5),
        ideburen("1060", "2026-Q2", "Scouterna Olofström", 5, 5),
    ]
    data = rp.report_data(survey, frame(rows), PERIOD)
    t = data.views.set_index(["municipality", "item"])
    # Karlskrona pooled: six respondents, each once with the newest answer; I06 4,4,5,5,5,2 and I08 2,2,5,5,4
    assert t.loc[("1080", "I06"), ["n", "share_high", "pooled"]].tolist() == [6, 5 / 6, True]
    assert t.loc[("1080", "I08"), ["n", "share_high", "pooled"]].tolist() == [5, 3 / 5, True]
    assert t.loc[("1081", "I06"), ["n", "share_high", "pooled"]].tolist() == [5, 2 / 5, False]
    assert t.loc[("1060", "I06"), "suppressed"] and t.loc[("1083", "I08"), "suppressed"]
    assert t.loc[("10", "I06"), ["n", "share_high", "pooled"]].tolist() == [10, 7 / 10, False]  # ten in the period

    views = {v.code: v for v in sections.views_section(data)}
    assert list(views) == ["polis", "ideburen", "naringsliv", "myndighet"]
    ideb = views["ideburen"]
    assert ideb.items == ["Inbjudna till lägesbilden", "Vet vem de ska kontakta"] and ideb.pooled == POOLED
    assert cells(ideb) == {
        "Hela länet": [(pct(70), 10), (pct(80), 10)],
        "Ronneby": [(pct(40), 5), (pct(100), 5)],
        "Karlskrona": [(pct(83), 6), (pct(60), 5)],
    }
    assert [r["pooled"] for r in ideb.rows] == [False, True]
    assert ideb.hidden == ["Olofström", "Karlshamn", "Sölvesborg"] and not views["polis"].answered

    report = rp.build_report(survey, frame(rows), PERIOD)
    body = report.html[report.html.index("Hur andra ser kommunen") :]
    assert "Karlskrona&nbsp;*" in body and f"* {POOLED}." in body
    assert "Ronneby&nbsp;*" not in body
    assert "Dolt, färre än 5 svarande: Olofström, Karlshamn, Sölvesborg" in body
    assert "<strong>Polisen</strong>: inga svar de senaste 4 kvartalen." in body
    text = report.text[report.text.index("HUR ANDRA SER KOMMUNEN") :]
    assert f"Inbjudna till lägesbilden {pct(83)} (n=6); Vet vem de ska kontakta {pct(60)} (n=5)  [{POOLED}]" in text
    xlsx = [r for r in sheet_rows(report, "Andras syn på kommunen")[1:] if r[5] == "I06"]
    assert [(r[2], r[6], r[7], r[8]) for r in xlsx] == [
        ("10", PERIOD, 10, 0.7),
        ("1081", PERIOD, 5, 0.4),
        ("1060", POOLED, HIDDEN, HIDDEN),
        ("1080", POOLED, 6, 0.8333),
        ("1083", POOLED, HIDDEN, HIDDEN),
    ]


def test_a_single_kommunpolis_is_never_shown_alone_however_many_quarters_he_answers(survey):
    actors = roster(("Polisen Ronneby", "polis", ["1081"]))
    ronneby = [  # one officer, four quarters, two spellings the roster matches to one actor: one respondent
        answer("1081", w, sector="polis", org=org, P03="5", P02="5", P07="5")
        for w, org in (("2025-Q4", "Polisen Ronneby"), ("2026-Q1", "Polisen i Ronneby"))
    ] + [answer("1081", w, sector="polis", org="Polisen Ronneby", P03="5") for w in ("2026-Q2", PERIOD)]
    others = [
        answer(m, PERIOD, sector="polis", org=f"Polisen {m}", P03="2", P02="2", P07="2")
        for m in ("1060", "1080", "1082", "1083")
    ]
    data = rp.report_data(survey, frame(ronneby + others), PERIOD, roster=actors)
    police = data.views[data.views["sector"] == "polis"]
    ronneby_cells = police[police["municipality"] == "1081"]
    assert ronneby_cells["suppressed"].all() and ronneby_cells["n"].max() == 1  # his newest answer, once
    assert police[police["municipality"] != "10"]["suppressed"].all()
    view = next(v for v in sections.views_section(data) if v.code == "polis")
    assert view.rows == [] and cells(view)["Hela länet"][0] == (pct(20), 5)  # P03: 5,2,2,2,2 in the period
    report = rp.build_report(survey, frame(ronneby + others), PERIOD, roster=actors)
    views_html = report.html[report.html.index(">Hur andra ser kommunen<") :]
    police_html = views_html[views_html.index(">Polisen</caption>") : views_html.index("Idéburen sektor")]
    assert pct(100) not in police_html and "Ronneby" in police_html  # named among the hidden, never with a value
    assert "En enskild kommunpolis svar visas aldrig ensamt" in police_html

    # the control: five different officers over the year for Karlskrona are shown, pooled
    five = [
        answer("1080", w, sector="polis", org=f"Kommunpolis {i}", P03="4", P02="4", P07="1")
        for i, w in enumerate(("2025-Q4", "2026-Q1", "2026-Q2", PERIOD, PERIOD))
    ]
    view = next(v for v in sections.views_section(rp.report_data(survey, frame(five), PERIOD)) if v.code == "polis")
    assert cells(view)["Karlskrona"] == [(pct(100), 5), (pct(100), 5), (pct(0), 5)]
    assert [r["pooled"] for r in view.rows] == [True]
    assert cells(view)["Hela länet"] == [(pct(100), 5)] * 2 + [(pct(0), 5)]  # pooled too: two in the period


def test_secondary_suppression_hides_a_second_municipality_in_the_body_the_text_and_the_workbook(survey):
    rows = [
        *[ideburen("1080", PERIOD, f"A{i}", 5, 5) for i in range(6)],  # six: shown
        *[ideburen("1081", PERIOD, f"B{i}", 1, 1) for i in range(5)],  # five: shown, but the smaller of the two
        *[ideburen("1082", PERIOD, f"C{i}", 5, 5) for i in range(2)],  # two: hidden; the county total would give it
    ]
    data = rp.report_data(survey, frame(rows), PERIOD)
    t = data.views.set_index(["municipality", "item"])
    assert t.loc[("1082", "I06"), "suppressed"] and t.loc[("1082", "I06"), "n"] == 2  # primary
    assert t.loc[("1081", "I06"), "suppressed"] and t.loc[("1081", "I06"), "n"] == 5  # secondary
    assert not t.loc[("1080", "I06"), "suppressed"] and t.loc[("10", "I06"), "share_high"] == 8 / 13
    report = rp.build_report(survey, frame(rows), PERIOD)
    view = next(v for v in sections.views_section(data) if v.code == "ideburen")
    assert cells(view) == {"Hela länet": [(pct(62), 13)] * 2, "Karlskrona": [(pct(100), 6)] * 2}
    assert "Ronneby" in view.hidden and "Karlshamn" in view.hidden
    text = report.text[report.text.index("HUR ANDRA SER KOMMUNEN") :]
    assert not re.search(r"(?<!\d)0\u00a0%", text) and "n=2" not in text and "n=5" not in text
    xlsx = {r[2]: r[7:] for r in sheet_rows(report, "Andras syn på kommunen")[1:] if r[5] == "I06"}
    assert xlsx["1081"] == xlsx["1082"] == (HIDDEN, HIDDEN) and xlsx["1080"] == (6, 1.0)


def test_satisfaction_by_sector_with_n_primary_and_secondary_suppression_and_change(survey):
    def c04(sector: str, wave: str, codes: list[int]) -> list[dict[str, Any]]:
        return [answer("1080", wave, sector=sector, org=f"{sector} {i}", C04=str(c)) for i, c in enumerate(codes)]

    rows = [
        *c04("kommun", PERIOD, [5, 4, 4, 1, 8, 9]),  # 8 (not used) and 9 (don't know) not scored: n=4, hidden
        *c04("naringsliv", PERIOD, [4, 4, 4, 2, 2, 2, 2]),  # 3 of 7
        *c04("ideburen", PERIOD, [5, 5, 1, 1, 1]),  # 2 of 5, hidden: the smallest beside the one hidden
        *c04("naringsliv", "2026-Q2", [4, 1, 1, 1, 1]),  # 1 of 5 the quarter before
    ]
    data = rp.report_data(survey, frame(rows), PERIOD)
    assert sections.satisfaction_section(data) == [
        {"sector": "Kommun", "value": HIDDEN, "n": None, "change": "", "total": False},
        {"sector": "Polisen", "value": HIDDEN, "n": None, "change": "", "total": False},
        {"sector": "Statlig myndighet eller region", "value": HIDDEN, "n": None, "change": "", "total": False},
        {"sector": "Näringsliv", "value": pct(43), "n": 7, "change": "+23", "total": False},
        {"sector": "Idéburen sektor", "value": HIDDEN, "n": None, "change": "", "total": False},
        {"sector": "Alla sektorer", "value": pct(50), "n": 16, "change": "+30", "total": True},  # 8 of 16
    ]
    report = rp.build_report(survey, frame(rows), PERIOD)
    assert (
        "Nöjdhet med Länsstyrelsens stöd" in report.html and "Nöjda med Länsstyrelsens stöd per sektor" in report.html
    )
    part = report.text[report.text.index("NÖJDHET MED LÄNSSTYRELSENS STÖD") :]
    assert pct(40) not in part and "n=4" not in part and "n=5" not in part.split("REGIONALT")[0]
    xlsx = {(r[0], r[1]): r[2:] for r in sheet_rows(report, "Nöjdhet med stödet")[1:]}
    assert xlsx[(PERIOD, "Kommun")] == xlsx[(PERIOD, "Idéburen sektor")] == (HIDDEN, HIDDEN)
    assert xlsx[(PERIOD, "Näringsliv")] == (7, 0.4286) and xlsx[(PERIOD, "Alla sektorer")] == (16, 0.5)
    assert xlsx[("2026-Q2", "Näringsliv")] == (5, 0.2)


def test_the_network_list_names_organisations_and_municipalities_and_nothing_else(survey):
    actors = roster(("Brottsofferjouren Karlskrona", "ideburen", ["1080"]), ("Karlskrona kommun", "kommun", ["1080"]))
    rows = [
        answer("1080", sector="ideburen", org="brottsofferjouren  karlskrona", C03="1", C05="HEMLIG FRITEXT", I07="1"),
        answer("1081", sector="naringsliv", org="Ronneby Företagarförening", C03="1"),
        answer("10", sector="myndighet", org="Region Blekinge", C03="1"),
        answer("1080", sector="kommun", org="Karlskrona kommun", C03="2"),  # already takes part
        answer("1082", sector="polis", org="Polisen Karlshamn", C03="0"),  # no
        answer("1083", "2026-Q2", sector="ideburen", org="IF Sölvesborg", C03="1"),  # another quarter
    ]
    data = rp.report_data(survey, frame(rows), PERIOD, roster=actors)
    assert sections.network_section(data).rows == [
        {"name": "Brottsofferjouren Karlskrona", "where": "Karlskrona", "in_roster": True},
        {"name": "Ronneby Företagarförening", "where": "Ronneby", "in_roster": False},
        {"name": "Region Blekinge", "where": "Hela länet", "in_roster": False},
    ]
    report = rp.build_report(survey, frame(rows), PERIOD, roster=actors)
    assert "Ronneby Företagarförening <span" in report.html and "inte i aktörsregistret" in report.html
    assert "- Region Blekinge (Hela länet; inte i aktörsregistret)" in report.text
    assert sheet_rows(report, "Regionalt nätverk")[1:] == [
        (PERIOD, "Brottsofferjouren Karlskrona", "Karlskrona", "Ja"),
        (PERIOD, "Ronneby Företagarförening", "Ronneby", "Nej"),
        (PERIOD, "Region Blekinge", "Hela länet", "Nej"),
    ]
    wb = openpyxl.load_workbook(io.BytesIO(report.xlsx))
    everything = " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row)
    for part in (report.html, report.text, everything):
        assert "HEMLIG" not in part and "IF Sölvesborg" not in part
    cut = sections.network_section(dataclasses.replace(data, max_rows=1))
    assert len(cut.rows) == 1 and cut.more == 2
    short = rp.build_report(survey, frame(rows), PERIOD, roster=actors, max_rows=1)
    assert "och 2 organisationer till i bilagan." in short.html and len(sheet_rows(short, "Regionalt nätverk")) == 4


def law_answers() -> list[dict[str, Any]]:
    """K01–K03 in Q1 waves, carried forward to 2026-Q3."""

    def k(muni: str, wave: str, k01: str, k02: str, k03: str) -> dict[str, Any]:
        return answer(muni, wave, org=f"{muni} kommun", K01=k01, K02=k02, K03=k03)

    return [
        k("1080", "2025-Q1", "3", "1", "1"),  # Karlskrona: lägesbild being made a year ago
        k("1080", "2026-Q1", "1", "1", "1"),  # ... all three now
        k("1081", "2026-Q1", "1", "2", "2"),  # Ronneby: the coordination function vacant
        k("1082", "2025-Q1", "2", "2", "1"),  # Karlshamn: all three, carried forward from 2025
        k("1083", "2026-Q1", "9", "1", "1"),  # Sölvesborg: "vet ej" on the lägesbild: not known
        answer("1060", PERIOD, org="1060 kommun"),  # Olofström: never reported
    ]


def test_lagens_krav_status_wave_count_and_change_since_last_year(survey):
    data = rp.report_data(survey, frame(law_answers()), PERIOD)
    law = sections.law_section(data)
    assert (law.meet_all, law.meet_all_year_ago, law.unknown, law.total) == (2, 1, 2, 5)
    assert law.requirements == ["Lägesbild", "Åtgärdsplan", "Samordningsfunktion"]
    assert [(r["name"], r["all"]) for r in law.rows] == [
        ("Ronneby", False),
        ("Sölvesborg", None),
        ("Karlskrona", True),
        ("Karlshamn", True),
    ]
    assert law.rows[0]["cells"] == [
        {"label": "Ja, beslutad inom de senaste 12 månaderna", "short": "Ja", "wave": "2026-Q1", "met": True},
        {"label": "Ja, beslutad för mer än 12 månader sedan", "short": "Ja", "wave": "2026-Q1", "met": True},
        {"label": "Ja, men vakant just nu", "short": "Ja, men vakant just nu", "wave": "2026-Q1", "met": False},
    ]
    assert law.rows[1]["cells"][0] == {"label": "Vet ej", "short": "Vet ej", "wave": "2026-Q1", "met": None}
    assert law.rows[3]["cells"][0] == {
        "label": "Ja, beslutad för mer än 12 månader sedan",
        "short": "Ja",
        "wave": "2025-Q1",  # carried forward
        "met": True,
    }
    assert law.met == [] and law.silent == ["Olofström"]
    report = rp.build_report(survey, frame(law_answers()), PERIOD)
    assert (
        "2 av 5 kommuner har lägesbild, åtgärdsplan och samordningsfunktion enligt lagen (2023:196); för ett år "
        "sedan 1. För 2 kommuner vet vi inte allt." in report.html
    )
    assert "! Samordningsfunktion: Ja, men vakant just nu (2026-Q1)" in report.text
    assert "  Karlshamn            Lägesbild: Ja, beslutad för mer än 12 månader sedan (2025-Q1);" in report.text
    assert "Inget svar om kraven: Olofström" in report.text
    xlsx = {(r[0], r[2]): r[3:] for r in sheet_rows(report, "Lagens krav")[1:]}
    assert xlsx[("1082", "Lägesbild")] == (
        "Ja, beslutad för mer än 12 månader sedan",
        "Ja",
        "2025-Q1",
        "2025-Q1",
        "Ja",
        "Ja",
    )
    assert xlsx[("1080", "Lägesbild")][1:] == ("Ja", "2026-Q1", "2026-Q1", "Ja", "Nej")
    assert xlsx[("1060", "Samordningsfunktion")] == (None, None, None, None, "Okänt", "Okänt")
    one = sections.law_section(dataclasses.replace(data, max_rows=1))
    assert [r["name"] for r in one.rows] == ["Ronneby"] and one.cut and one.meet_all == 2
    assert one.met == ["Karlskrona"] and one.met_more == 1  # named up to max_rows, the rest counted


def maturity_answers() -> list[dict[str, Any]]:
    def k12(muni: str, wave: str, i: int, steps: list[int]) -> dict[str, Any]:
        return answer(
            muni, wave, org=f"{muni} kommun {i}", **{f"K12{s}": str(v) for s, v in zip("abcde", steps, strict=True)}
        )

    return [
        *[k12("1080", PERIOD, i, [4, 4, 2, 2, 9]) for i in range(6)],  # 2 of 4 scored: 50 %
        *[k12("1081", PERIOD, i, [1] * 5) for i in range(5)],  # 0 %
        *[k12("1082", PERIOD, i, [5] * 5) for i in range(5)],  # 100 %
        # two and three: hidden, five together (fewer would be given away by the county total)
        *[k12(m, PERIOD, i, [3] * 5) for m, k in (("1060", 2), ("1083", 3)) for i in range(k)],
        *[k12("1080", "2026-Q2", i, [4] * 5) for i in range(6)],  # 100 % the quarter before
        *[k12("1082", "2026-Q2", i, [4, 4, 2, 2, 2]) for i in range(6)],  # 40 %
    ]


def test_processmognad_lowest_first_spread_steps_and_change(survey):
    data = rp.report_data(survey, frame(maturity_answers()), PERIOD)
    m = sections.maturity_section(data)
    assert [(r["name"], r["value"], r["n"], r["q"]) for r in m.rows] == [
        ("Ronneby", pct(0), 5, ""),
        ("Karlskrona", pct(50), 6, "−50"),
        ("Karlshamn", pct(100), 5, "+60"),
    ]
    assert (m.county["value"], m.county["n"]) == (pct(37), 21)  # 37 of 99 step answers at 4–5
    assert m.hidden == ["Olofström", "Sölvesborg"]
    assert m.spread == {
        "lowest": pct(0),
        "lowest_name": "Ronneby",
        "median": pct(50),
        "highest": pct(100),
        "highest_name": "Karlshamn",
        "gap": "100",
        "gap_pp": "100\u00a0procentenheter",
        "gap_change": "+40",  # 100 against 60 (Karlskrona 100, Karlshamn 40)
    }
    steps = {s["step"]: s for s in m.steps}
    assert list(steps) == ["Kartläggning", "Orsaksanalys", "Val av åtgärder", "Genomförande", "Uppföljning"]
    assert (steps["Kartläggning"]["county"], steps["Kartläggning"]["county_n"]) == (pct(52), "21")  # 11 of 21
    assert (steps["Uppföljning"]["county"], steps["Uppföljning"]["county_n"]) == (pct(33), "15")  # 9 not scored
    assert (steps["Kartläggning"]["lowest"], steps["Kartläggning"]["lowest_name"]) == (pct(0), "Ronneby")
    assert (steps["Genomförande"]["lowest"], steps["Genomförande"]["median"]) == (pct(0), pct(0))

    report = rp.build_report(survey, frame(maturity_answers()), PERIOD)
    body = report.html[report.html.index(">Processmognad<") :]
    assert body.index(">Ronneby<") < body.index(">Karlskrona<") < body.index(">Karlshamn<")
    assert "Lägst 0\u00a0% (Ronneby), median 50\u00a0%, högst 100\u00a0% (Karlshamn)" in body
    xlsx = {(r[0], r[1]): r[3:] for r in sheet_rows(report, "Processmognad")[1:]}
    assert xlsx[(PERIOD, "1080")] == (6, 0.5, -50, None) and xlsx[(PERIOD, "1060")] == (HIDDEN,) * 4
    cut = sections.maturity_section(dataclasses.replace(data, max_rows=1))
    assert [r["name"] for r in cut.rows] == ["Ronneby"] and cut.cut


def test_maturity_secondary_suppression_hides_a_second_municipality(survey):
    rows = [r for r in maturity_answers() if r["answers"]["C01"] != ["1083"]]  # Olofström the only one hidden
    data = rp.report_data(survey, frame(rows), PERIOD)
    now = data.maturity[data.maturity["wave"] == PERIOD].set_index("municipality")
    assert now.loc["1060", "suppressed"] and now.loc["1060", "n"] == 2
    hidden_too = now[(now.index != "10") & now["suppressed"]].index.tolist()
    assert sorted(hidden_too) in (["1060", "1081"], ["1060", "1082"])  # the smallest shown (n=5) goes as well
    report = rp.build_report(survey, frame(rows), PERIOD)
    xlsx = {(r[0], r[1]): r[3:] for r in sheet_rows(report, "Processmognad")[1:]}
    assert all(xlsx[(PERIOD, code)] == (HIDDEN,) * 4 for code in hidden_too)


def test_population_year_under_the_capacity_table_and_per_10_000_from_the_given_figures(survey):
    rows = [answer("1080", K04="2")]
    default = rp.build_report(survey, frame(rows), PERIOD)
    assert "Folkmängd: SCB, år 2016." in default.html and "Folkmängd: SCB, år 2016." in default.text
    population = {m: (100_000, 2024) for m in ("1060", "1080", "1081", "1082", "1083")}
    newer = rp.build_report(survey, frame(rows), PERIOD, population=population)
    assert "Folkmängd: SCB, år 2024." in newer.html and "(befolkning 2024)" in newer.text
    data = rp.report_data(survey, frame(rows), PERIOD, population=population)
    karlskrona = next(r for r in rp.capacity_section(data).rows if r["name"] == "Karlskrona")
    assert karlskrona["fte_10k"] == "0,20"  # 2 / 100 000 * 10 000
    cap = sheet_rows(newer, "Kapacitet")
    assert cap[0][-2:] == ("Folkmängd (SCB)", "Folkmängdens år")
    row = next(r for r in cap if r[0] == "1080")
    assert row[-2:] == (100_000, 2024) and row[cap[0].index("Årsarbetskrafter per 10 000 invånare")] == 0.2
    mixed = dict(population, **{"1060": (14_000, 2023)})
    assert rp.page_context(rp.report_data(survey, frame(rows), PERIOD, population=mixed))["pop_year"] == "2023–2024"


def test_the_sections_from_answers_stored_through_the_ingest(
    settings: Settings, engine: Engine, survey: Survey, sheet: Any, tmp_path: Path
) -> None:
    """Sheets ingested into the database (a SQLite file, and PostgreSQL), read back, reported."""
    q1 = [
        good_row(ORG=f"{name} kommun", email="", C01=name, K01="1", K02="1", K03=k03, timestamp="2026-02-10 10:00:00")
        for name, k03 in (("Karlskrona", "1"), ("Ronneby", "2"))
    ]
    pipeline.ingest_files(settings, file=sheet("kommun", wave="2026-Q1").write(tmp_path / "kommun-2026-Q1.csv", q1))
    q3 = [
        good_row(
            ORG=f"Förening {i}",
            email="",
            C01="Karlskrona",
            I06="4" if i < 3 else "2",
            I08="5",
            C03="1" if i == 0 else "0",
            timestamp="2026-08-10 10:00:00",
        )
        for i in range(5)
    ]
    pipeline.ingest_files(settings, file=sheet("ideburen", wave=PERIOD).write(tmp_path / f"ideburen-{PERIOD}.csv", q3))
    stored = current_responses(engine, survey.id)
    assert len(stored) == 7
    report = rp.build_report(survey, stored, PERIOD)
    data = rp.report_data(survey, stored, PERIOD)
    law = sections.law_section(data)
    assert (law.meet_all, [r["name"] for r in law.rows]) == (1, ["Ronneby", "Karlskrona"])
    view = next(v for v in sections.views_section(data) if v.code == "ideburen")
    assert cells(view)["Karlskrona"] == [(pct(60), 5), (pct(100), 5)] and not view.rows[0]["pooled"]
    assert [r["name"] for r in sections.network_section(data).rows] == ["Förening 0"]
    assert "1 av 5 kommuner har lägesbild" in report.html and "Förening 0" in report.text
    assert isinstance(report.xlsx, bytes) and pd.DataFrame(sheet_rows(report, "Lagens krav")).shape[0] == 16
