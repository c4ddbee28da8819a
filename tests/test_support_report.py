"""The report's "Stöd i förhållande till behov" and the alerts support_gap and support_skew (#14).

The alerts on tiny hand-made frames, each with a planted case and controls; the section from report_data (the
figures, the shares, suppression kept, no log said in words); then answer sheets and a support log through the real
ingest, `bfs support import` and `bfs report --json`, on SQLite and PostgreSQL, planted and control.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from bfs_pipeline import alerts, support_need
from bfs_pipeline import report as rp
from bfs_pipeline.normalize import org_key
from bfs_pipeline.support.log import EVENT_COLUMNS
from bfs_pipeline.survey import Survey

COUNTY = "10"
NAMES = {
    "1060": "Olofström",
    "1080": "Karlskrona",
    "1081": "Ronneby",
    "1082": "Karlshamn",
    "1083": "Sölvesborg",
    COUNTY: "Blekinge län",
}
MUNIS = ("1060", "1080", "1081", "1082", "1083")
LABELS = {"B01": "Goda exempel", "B05": "Metodstöd (t.ex. orsaksanalys)"}
BFS = [sys.executable, "-m", "bfs_pipeline"]


# --- frames as metrics.need_table and support.events give them -----------------------------------------------------


def cells(shares: dict[str, float | None], item: str = "B05", n: int = 12, wave: str = "2026-Q3") -> pd.DataFrame:
    """Need table rows of one item; a share None is suppressed."""
    return pd.DataFrame(
        [
            {
                "municipality": m,
                "wave": wave,
                "item": item,
                "n": n if s is not None else 3,
                "share_high": s if s is not None else float("nan"),
                "suppressed": s is None,
            }
            for m, s in shares.items()
        ]
    )


NEED = {"1060": 0.92, "1080": 0.25, "1081": 0.42, "1082": 0.2, "1083": 0.17, COUNTY: 0.4}


def events(rows: list[tuple[str, str, str, float]], period: str = "2026-Q3") -> pd.DataFrame:
    """(municipality, need, kind, hours) per event, one municipality and need each."""
    out = [
        {
            "event_id": i,
            "datum": None,
            "period": period,
            "municipality": m,
            "county_wide": False,
            "sector": "kommun",
            "need": need,
            "kind": kind,
            "hours": hours,
            "participants": 3,
            "n_municipalities": 1,
            "n_needs": 1,
            "weight": 1.0,
        }
        for i, (m, need, kind, hours) in enumerate(rows, start=1)
    ]
    return pd.DataFrame(out, columns=EVENT_COLUMNS)


def gaps(table: pd.DataFrame, ev: pd.DataFrame) -> list[dict[str, Any]]:
    return alerts.support_gap(table, ev, "2026-Q3", COUNTY, NAMES, LABELS)


ELSEWHERE = [("1081", "B05", "metodstöd", 3.0), ("1080", "B05", "rådgivning", 1.5), ("1060", "B01", "besök", 2.0)]


def test_support_gap_fires_for_the_greatest_need_without_its_kind_of_support():
    ev = events([*ELSEWHERE, ("1060", "B05", "besök", 4.0)])  # a visit is not method support
    (a,) = gaps(cells(NEED), ev)
    assert a["kind"] == "support_gap" and a["indicator"] == "B05"
    assert a["municipality"] == {"code": "1060", "name": "Olofström"}
    v = a["values"]
    assert (v["share_high"], v["n"], v["median_share_high"], v["kinds"]) == (
        0.92,
        12,
        0.25,
        ["metodstöd", "rådgivning"],
    )
    assert v["next"] == {"code": "1081", "share_high": 0.42, "n": 12} and v["hours_elsewhere"] == 4.5
    assert v["quarters"] == ["2026-Q2", "2026-Q3"] and v["hours"] == 0.0 and v["margin"] > 0
    assert a["title"] == "Störst behov av B05 och inget metodstöd eller rådgivning på två kvartal"
    assert a["message"] == (
        "Störst behov av B05 och inget metodstöd eller rådgivning på två kvartal: i Olofström svarar 92\u00a0% 4–5 "
        "om metodstöd (n=12), 50\u00a0procentenheter mer än i Ronneby och 67\u00a0procentenheter över länets median. "
        "Under "
        "2026-Q2 och 2026-Q3 fick Olofström inget metodstöd eller rådgivning för det behovet; till andra kommuner "
        "gick 4,5 timmar (2 tillfällen)."
    )
    json.dumps(a)
    # the county's own cell hidden (secondary suppression may hide it): the alert stands on the municipalities' median
    assert gaps(cells(NEED | {COUNTY: None}), ev) == [a]


def test_no_support_gap_when_the_greatest_need_got_its_kind_or_any_kind_where_any_counts():
    assert gaps(cells(NEED), events([*ELSEWHERE, ("1060", "B05", "rådgivning", 1.0)])) == []
    # B01 has no kinds of its own: any support for it counts, a visit too
    b01 = cells(NEED, item="B01")
    assert gaps(b01, events(ELSEWHERE)) == []
    (a,) = gaps(b01, events([("1081", "B01", "besök", 2.0)]))
    assert a["title"] == "Störst behov av B01 och inget stöd på två kvartal" and a["values"]["kinds"] == []


def test_no_support_gap_within_the_noise_below_the_county_mark_hidden_or_without_events():
    close = NEED | {"1081": 0.85}  # 7 points ahead of Ronneby with n=12: within one standard error
    assert gaps(cells(close), events(ELSEWHERE)) == []
    # many answers: 7 points ahead of Ronneby is beyond the noise, but 8 points above the median is too little
    near = {"1060": 0.5, "1081": 0.43, "1080": 0.42, "1082": 0.4, "1083": 0.3, COUNTY: 0.41}
    assert gaps(cells(near, n=200), events(ELSEWHERE)) == []
    assert len(gaps(cells(near | {"1060": 0.55}, n=200), events(ELSEWHERE))) == 1  # 13 points above it: an alert
    assert gaps(cells(NEED | {"1082": None, "1083": None}), events(ELSEWHERE)) != []  # three shown: a median
    assert gaps(cells(NEED | {"1081": None, "1082": None, "1083": None}), events(ELSEWHERE)) == []  # two: none
    # Olofström hidden: the greatest shown need is Ronneby's, which got method support; Olofström is never named
    hidden = cells(NEED | {"1060": None})
    assert gaps(hidden, events(ELSEWHERE)) == []
    assert all(a["municipality"]["code"] != "1060" for a in gaps(hidden, events([("1080", "B05", "besök", 1.0)])))
    # no event at all in the window: a log not kept up to date is no gap
    assert gaps(cells(NEED), events([])) == []


def skew_index(shares: dict[str, float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "municipality": m,
                "wave": "2026-Q3",
                "n": 12 if s is not None else 3,
                "answers": 100,
                "index": s if s is not None else float("nan"),
                "suppressed": s is None,
            }
            for m, s in shares.items()
        ]
    )


INDEX = {"1060": 0.8, "1081": 0.6, "1082": 0.4, "1083": 0.2, "1080": 0.1, COUNTY: 0.4}


def skew(ev: pd.DataFrame, index: dict[str, float | None] = INDEX) -> list[dict[str, Any]]:
    return alerts.support_skew(skew_index(index), ev, "2026-Q3", COUNTY, NAMES)


def test_support_skew_fires_when_most_hours_go_to_the_least_need():
    rows = (
        [("1080", "B01", "besök", 3.0)] * 5 + [("1083", "B02", "utbildning", 2.0)] * 4 + [("1060", "B05", "besök", 2.0)]
    )
    rows += [("1081", "B03", "utbildning", 1.0), ("1082", "B04", "besök", 1.0)]
    (a,) = skew(events(rows))
    assert a["kind"] == "support_skew" and a["indicator"] == "support" and a["municipality"] is None
    v = a["values"]
    assert (v["upper"], v["lower"], v["events"], v["hours"]) == (["1060", "1081"], ["1083", "1080"], 12, 27.0)
    assert v["lower_share_hours"] == pytest.approx(23 / 27) and v["upper_share_hours"] == pytest.approx(3 / 27)
    assert v["upper_share_need"] == pytest.approx(1.4 / 2.1) and v["min_events"] == alerts.SKEW_MIN_EVENTS == 10
    assert a["message"] == (
        "Stödet går mest till kommunerna med minst behov: under 2026-Q2 och 2026-Q3 gick 85\u00a0% av stödtimmarna "
        "(27,0 timmar, 12 tillfällen) till Sölvesborg och Karlskrona, hälften med minst behov. Olofström och "
        "Ronneby, hälften med störst behov, fick 11\u00a0% av timmarna mot 67\u00a0% av behovet."
    )


def test_no_support_skew_with_few_events_support_after_need_or_few_municipalities_shown():
    few = [("1080", "B01", "besök", 3.0)] * 9  # nine events: below SKEW_MIN_EVENTS
    assert skew(events(few)) == []
    fair = (
        [("1060", "B05", "metodstöd", 3.0)] * 6
        + [("1081", "B01", "besök", 2.0)] * 4
        + [("1080", "B01", "besök", 1.0)] * 2
    )
    assert skew(events(fair)) == []
    lopsided = [("1080", "B01", "besök", 3.0)] * 12
    assert len(skew(events(lopsided))) == 1
    three = {"1060": 0.8, "1081": None, "1082": None, "1083": 0.2, "1080": 0.1, COUNTY: 0.4}
    assert skew(events(lopsided), three) == []  # three municipalities shown: no halves to compare


# --- the section, from report_data ---------------------------------------------------------------------------------


def answer(muni: str, wave: str, i: int, need: dict[str, str]) -> dict[str, Any]:
    return {
        "sector": "kommun",
        "wave": wave,
        "organisation": f"Org {muni}-{i}",
        "submitted_at": pd.Timestamp(f"{wave[:4]}-{3 * int(wave[-1]) - 2:02d}-15"),
        "answers": {"C01": [muni], **need},
    }


def responses(small: str | None = None) -> pd.DataFrame:
    """Six kommun answers per municipality and wave; Olofström answers 5 to every need, the rest mostly 2. A
    municipality `small` has three respondents in 2026-Q3 (hidden)."""
    rows = []
    for w in ("2026-Q2", "2026-Q3"):
        for m in MUNIS:
            for i in range(3 if m == small and w == "2026-Q3" else 6):
                level = "5" if m == "1060" else ("4" if i == 0 else "2")
                rows.append(answer(m, w, i, {f"B0{k}": level for k in range(1, 10)}))
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


POP = {"1060": (13_000, 2024), "1080": (66_000, 2024), "1081": (28_000, 2024), "1082": (32_000, 2024)}
POP |= {"1083": (17_000, 2024)}


def log(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    q2 = events(rows[:2], "2026-Q2")
    q3 = events(rows[2:], "2026-Q3").assign(event_id=lambda f: f["event_id"] + 100)
    return pd.concat([q2, q3], ignore_index=True)


SUPPORT = log(
    [
        ("1081", "B05", "metodstöd", 4.0),
        ("1060", "B03", "utbildning", 2.0),
        ("1080", "B05", "rådgivning", 2.0),
        ("1082", "B01", "besök", 1.0),
        ("1083", "B01", "besök", 1.0),
    ]
)


def test_section_sets_the_support_beside_the_need_with_shares_and_per_10000(survey: Survey):
    data = rp.report_data(survey, responses(), "2026-Q3", population=POP, support=SUPPORT)
    s = support_need.support_section(data)
    assert s.logged and s.any_in_window and (s.events, s.hours, s.quarters) == ("5", "10,0", "2026-Q2 och 2026-Q3")
    first = s.rows[0]
    assert (first["name"], first["index"], first["events"], first["hours"]) == ("Olofström", "100\u00a0%", "1", "2,0")
    assert first["hours_10k"] == "1,5" and first["events_10k"] == "0,8" and s.pop_year == "2024"
    # Olofström: 2 of the 10 hours (20 %), against 100 / (100 + 4 x 17 %) of the need
    t = data.support_need.set_index("municipality")
    assert t.at["1060", "share_hours"] == pytest.approx(0.2)
    assert t.at["1060", "share_need"] == pytest.approx(1.0 / (1.0 + 4 / 6))  # the others: 1 in 6 answers 4
    assert s.greatest == {
        "name": "Olofström",
        "index": "100\u00a0%",
        "share_hours": "20\u00a0%",
        "share_need": "60\u00a0%",
        "counted": "5",
    }
    b05 = next(n for n in s.needs if n["code"] == "B05")
    assert (b05["hours"], b05["top_name"], b05["top_share"], b05["most_name"], b05["got"]) == (
        "6,0",
        "Ronneby",
        "67\u00a0%",
        "Olofström",
        "0,0",
    )
    assert b05["none"] and b05["kinds"] == "metodstöd eller rådgivning" and s.any_none
    b03 = next(n for n in s.needs if n["code"] == "B03")
    assert b03["got"] == "2,0" and not b03["none"]
    found = rp.alerts_section(data)
    gap = [a for a in found if a["kind"] == "support_gap"]
    assert {(a["municipality"]["code"], a["indicator"]) for a in gap} >= {("1060", "B05")}
    assert all(a["municipality"]["code"] == "1060" for a in gap)
    assert ("1060", "B03") not in {(a["municipality"]["code"], a["indicator"]) for a in gap}


def test_section_keeps_need_hidden_and_support_shown(survey: Survey):
    data = rp.report_data(survey, responses(small="1082"), "2026-Q3", population=POP, support=SUPPORT)
    s = support_need.support_section(data)
    karlshamn = next(r for r in s.rows if r["name"] == "Karlshamn")
    assert karlshamn["index"] == "–" and karlshamn["n"] is None and karlshamn["events"] == "1"
    assert karlshamn["share_hours"] == "" and karlshamn["share_need"] == ""  # not in the shares
    # Karlshamn's cells are hidden, and beside them (secondary suppression) the smallest shown municipality's:
    # Olofström's, whose need index pools only the cells shown, so it is hidden too. Three are counted.
    assert s.greatest is not None and s.greatest["counted"] == "3"
    assert next(r for r in s.rows if r["name"] == "Olofström")["index"] == "–"
    per_need = data.support_by_need
    hidden = per_need[per_need["municipality"] == "1082"]
    assert hidden["suppressed"].all() and hidden["share_high"].isna().all()
    report = rp.build_report(survey, responses(small="1082"), "2026-Q3", population=POP, support=SUPPORT)
    wb = openpyxl.load_workbook(io.BytesIO(report.xlsx))
    sheet = wb["Stöd och behov"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["1082"][2:6] == ("–", "–", 1, 1.0)  # n and need index hidden, support shown
    assert rows["1060"][3] == "–"  # hidden beside Karlshamn
    assert rows["1080"][3] == pytest.approx(1 / 6, abs=1e-4) and rows["1080"][6:8] == (66_000, 2024)
    by_need = wb["Stöd per behov"]
    hidden_cells = [r for r in by_need.iter_rows(min_row=2, values_only=True) if r[2] == "1082"]
    assert len(hidden_cells) == 9 and all(r[8:10] == ("–", "–") for r in hidden_cells)
    assert "Stöd i förhållande till behov" in report.html and "STÖD I FÖRHÅLLANDE TILL BEHOV" in report.text


def test_without_a_log_the_section_says_how_to_import_one_and_no_support_alert(survey: Survey):
    for support in (None, pd.DataFrame(columns=EVENT_COLUMNS)):
        report = rp.build_report(survey, responses(), "2026-Q3", support=support)
        assert "Ingen stödlogg är importerad" in report.html and "bfs support import FIL" in report.html
        assert "bfs support import FIL" in report.text
        assert not [a for a in report.alerts if a["kind"] in ("support_gap", "support_skew")]
        assert "Stöd och behov" not in openpyxl.load_workbook(io.BytesIO(report.xlsx)).sheetnames
    old = events([("1060", "B05", "metodstöd", 2.0)], "2025-Q4")  # a log, but nothing in the two quarters
    report = rp.build_report(survey, responses(), "2026-Q3", support=old)
    assert "Stödloggen har inga stödtillfällen under 2026-Q2 och 2026-Q3." in report.html
    assert not [a for a in report.alerts if a["kind"] in ("support_gap", "support_skew")]


# --- end to end: answer sheets and a support log through the real commands --------------------------------------

E2E_WAVES = ("2026-Q2", "2026-Q3")
E2E_MUNIS = {"1060": "Olofström", "1080": "Karlskrona", "1081": "Ronneby", "1082": "Karlshamn", "1083": "Sölvesborg"}


def sheet_rows(wave: str) -> list[dict[str, str]]:
    """Six kommun answers per municipality: Olofström needs method support most (B05 = 5), the rest little."""
    q = int(wave[-1])
    rows = []
    for m, name in E2E_MUNIS.items():
        for i in range(6):
            r = {
                "timestamp": f"{wave[:4]}-{3 * q - 2:02d}-1{i} 10:00:00",
                "email": f"k{i}@{org_key(name).replace(' ', '')}.example.se",
                "ORG": f"{name} kommun",
                "C01": name,
                "C02": "2",
                "K04": "1,0",
            }
            r |= {f"B0{k}": ("5" if m == "1060" else ("4" if (i + k) % 5 == 0 else "2")) for k in range(1, 10)}
            r |= {f"K12{step}": "3" for step in "abcde"} | {"C04": "4"}
            rows.append(r)
    return rows


def support_csv(path: Path, planted: bool) -> Path:
    """Planted: Olofström gets training and visits, but its method support goes to Ronneby; control: to Olofström."""
    rows = [
        ["2026-04-08", "Olofström", "", "kommun", "B01, B02, B03, B04", "utbildning", "4", "10"],
        ["2026-05-08", "Olofström", "", "kommun", "B06, B07, B08, B09", "nätverksträff", "4", "10"],
        ["2026-08-12", "Ronneby" if planted else "Olofström", "", "kommun", "B05", "metodstöd", "3", "4"],
        ["2026-09-02", "hela länet", "", "kommun", "B08", "nätverksträff", "5", "30"],
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["datum", "kommun", "mottagare", "sektor", "behov", "typ", "timmar", "deltagare"])
        w.writerows(rows)
    return path


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("planted", [True, False], ids=["planted", "control"])
def test_report_json_raises_support_gap_from_the_imported_log(env, sheet, tmp_path: Path, planted):
    inbox = Path(env["BFS_HOME"]) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for w in E2E_WAVES:
        sheet("kommun", wave=w).write(inbox / f"kommun-{w}.csv", sheet_rows(w))
    bfs(env, "ingest", "--json")
    before = json.loads(bfs(env, "report", "--period", "2026-Q3", "--json").stdout)
    assert not [a for a in before["alerts"] if a["kind"].startswith("support_")]  # no log yet: no support alert
    assert "bfs support import FIL" in Path(before["files"]["html"]).read_text(encoding="utf-8")
    imported = json.loads(
        bfs(env, "support", "import", str(support_csv(tmp_path / "stod.csv", planted)), "--json").stdout
    )
    assert imported["accepted"] == 4
    out = json.loads(bfs(env, "report", "--period", "2026-Q3", "--json").stdout)
    found = [a for a in out["alerts"] if a["kind"].startswith("support_")]
    html = Path(out["files"]["html"]).read_text(encoding="utf-8")
    assert "Stödet enligt samordnarens stödlogg under 2026-Q2 och 2026-Q3: 4\u00a0tillfällen" in html or (
        "Stödet enligt samordnarens stödlogg under 2026-Q2 och 2026-Q3: 4 tillfällen" in html
    )
    if planted:
        assert [(a["kind"], a["municipality"]["code"], a["indicator"]) for a in found] == [
            ("support_gap", "1060", "B05")
        ]
        assert found[0]["values"]["hours_elsewhere"] == 3.0
        assert found[0]["message"] in html
    else:
        assert found == []
