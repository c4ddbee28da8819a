"""Alerts on levels (#13): standing_gap, capacity_fell, law_floor, silence. Each with a planted case and a control.

The logic on tiny hand-made frames; then answer sheets through the real ingest and `bfs report --json`, on SQLite
and PostgreSQL: the standing gap and the capacity fall in the report of the quarter after the jump, and nothing of
the kind where nothing changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bfs_pipeline import alerts, metrics
from bfs_pipeline import report as rp
from bfs_pipeline.normalize import org_key

COUNTY = "10"
MQ = "C01"
NAMES = {
    "1060": "Olofström",
    "1080": "Karlskrona",
    "1081": "Ronneby",
    "1082": "Karlshamn",
    "1083": "Sölvesborg",
    COUNTY: "Blekinge län",
}
BFS = [sys.executable, "-m", "bfs_pipeline"]


# --- need index rows, as metrics.need_index gives them -------------------------------------------------------------


def row(m: str, wave: str, share: float | None, n: int = 12, answers: int = 108) -> dict[str, Any]:
    """A need index row; share None: suppressed (under 5 respondents)."""
    return {
        "municipality": m,
        "wave": wave,
        "n": n if share is not None else 3,
        "answers": answers if share is not None else 27,
        "index": share if share is not None else float("nan"),
        "suppressed": share is None,
    }


def index_of(waves: dict[str, dict[str, float | None]], **kw: Any) -> pd.DataFrame:
    return pd.DataFrame([row(m, w, s, **kw) for w, shares in waves.items() for m, s in shares.items()])


CALM = {"1060": 0.15, "1080": 0.12, "1081": 0.18, "1082": 0.14, "1083": 0.16, COUNTY: 0.15}


def jumped(q2: float | None = 0.99, q3: float | None = 0.99) -> pd.DataFrame:
    """Ronneby's needs jump in 2026-Q2 and stay high in 2026-Q3; the rest stay calm."""
    return index_of(
        {
            "2026-Q1": CALM,
            "2026-Q2": CALM | {"1081": q2},
            "2026-Q3": CALM | {"1081": q3},
        }
    )


def test_standing_gap_fires_in_the_quarter_after_the_jump_with_its_numbers():
    (a,) = alerts.standing_gaps(jumped(), "2026-Q3", COUNTY, NAMES)
    assert a["kind"] == "standing_gap" and a["indicator"] == "need_index"
    assert a["municipality"] == {"code": "1081", "name": "Ronneby"}
    assert a["values"] == {"2026-Q2": 0.99, "2026-Q3": 0.99} and a["median"] == {"2026-Q2": 0.15, "2026-Q3": 0.15}
    assert a["threshold"] == alerts.STANDING_GAP == 0.20 and a["n"] == 12
    assert a["message"] == (
        "Bestående skillnad i behov: i Ronneby är 99\u00a0% av behovssvaren 4–5 mot länets median 15\u00a0% "
        "(84\u00a0procentenheter över medianen, n=12); kvartalet före 99\u00a0% mot 15\u00a0%. Skillnaden har varit "
        "minst 20\u00a0procentenheter sedan 2026-Q2."
    )
    # the change alerts say nothing in that quarter (nothing changed): the summary must not say all is calm
    changes = alerts.alerts(jumped(), pd.DataFrame(), "2026-Q3", COUNTY, NAMES)
    assert changes == []
    summary = alerts.summary(jumped(), pd.DataFrame(), "2026-Q3", COUNTY, NAMES, 60, [a])
    assert "Inga förändringar utöver vad antalet svar kan bära." not in summary
    assert summary[-2:] == [
        "Ronneby har haft minst 20\u00a0procentenheter större behov än länets median sedan 2026-Q2.",
        "1 varning: se överst.",
    ]


def test_standing_gap_says_since_when_it_has_stood():
    longer = index_of(
        {"2026-Q1": CALM | {"1081": 0.60}, "2026-Q2": CALM | {"1081": 0.70}, "2026-Q3": CALM | {"1081": 0.65}}
    )
    (a,) = alerts.standing_gaps(longer, "2026-Q3", COUNTY, NAMES)
    assert a["since"] == "2026-Q1" and a["message"].endswith("sedan 2026-Q1.")
    (b,) = alerts.standing_gaps(jumped(), "2026-Q3", COUNTY, NAMES)
    assert b["since"] == "2026-Q2"


def test_no_standing_gap_where_nothing_changes_or_in_the_quarter_of_the_jump():
    calm = index_of({"2026-Q1": CALM, "2026-Q2": CALM, "2026-Q3": CALM})
    assert alerts.standing_gaps(calm, "2026-Q3", COUNTY, NAMES) == []
    assert alerts.standing_gaps(jumped(q2=CALM["1081"]), "2026-Q3", COUNTY, NAMES) == []  # one quarter: not yet
    assert alerts.standing_gaps(jumped(), "2026-Q2", COUNTY, NAMES) == []
    assert alerts.standing_gaps(jumped(q3=0.30), "2026-Q3", COUNTY, NAMES) == []  # back within 20 points


def test_standing_gap_threshold_in_points_and_the_noise_guard():
    at = jumped(q2=0.35, q3=0.35)  # 20 points above the median of 15 %
    assert [a["municipality"]["code"] for a in alerts.standing_gaps(at, "2026-Q3", COUNTY, NAMES)] == ["1081"]
    below = jumped(q2=0.34, q3=0.34)
    assert alerts.standing_gaps(below, "2026-Q3", COUNTY, NAMES) == []
    assert alerts.standing_gaps(at, "2026-Q3", COUNTY, NAMES, gap=0.25) == []
    # 30 points above, but on 6 respondents' 10 pooled answers: within two standard errors, not reported
    few = pd.concat(
        [
            index_of({w: {k: v for k, v in CALM.items() if k != "1081"} for w in ("2026-Q2", "2026-Q3")}),
            index_of({w: {"1081": 0.45} for w in ("2026-Q2", "2026-Q3")}, n=6, answers=10),
        ],
        ignore_index=True,
    )
    assert metrics.noise(0.45, 10, 0.15, 108) > 0.30
    assert alerts.standing_gaps(few, "2026-Q3", COUNTY, NAMES) == []


def test_no_standing_gap_for_a_suppressed_municipality_nor_without_a_county_median():
    hidden = jumped(q2=None)  # under 5 respondents in 2026-Q2: its figures are never told
    assert alerts.standing_gaps(hidden, "2026-Q3", COUNTY, NAMES) == []
    two = index_of({w: {"1080": 0.10, "1081": 0.99, COUNTY: 0.5} for w in ("2026-Q2", "2026-Q3")})
    assert alerts.standing_gaps(two, "2026-Q3", COUNTY, NAMES) == []  # no median of two municipalities


# --- the municipalities' own answers, as ReportData.responses holds them ------------------------------------------


def answer(muni: str, wave: str, sector: str = "kommun", **answers: Any) -> dict[str, Any]:
    return {
        "sector": sector,
        "wave": wave,
        "organisation": f"{NAMES[muni]} kommun",
        "submitted_at": pd.Timestamp(f"{wave[:4]}-{3 * int(wave[-1]) - 2:02d}-15"),
        "answers": {MQ: [muni], "B01": "3", **answers},
    }


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


LAW_OK = {"K01": "1", "K02": "2", "K03": "1"}


def kommun_year(fte: dict[str, dict[str, float | None]], law: dict[tuple[str, str], dict[str, str]] | None = None):
    """Kommun answers for 2025-Q1 .. 2026-Q3: K04 per municipality and wave (default 1.0), K01-K03 in Q1 waves."""
    law = law or {}
    rows = []
    for w in metrics.wave_range("2026-Q3", 7):
        for m in ("1060", "1080", "1081", "1082", "1083"):
            a: dict[str, Any] = {"K04": fte.get(m, {}).get(w, 1.0)}
            if w.endswith("Q1"):
                a |= law.get((m, w), LAW_OK)
            rows.append(answer(m, w, **a))
    return frame(rows)


def level(responses: pd.DataFrame, period: str = "2026-Q3", kind: str | None = None) -> list[dict[str, Any]]:
    found = alerts.level_alerts(
        pd.DataFrame(columns=["municipality", "wave", "n", "answers", "index", "suppressed"]),
        responses,
        pd.DataFrame(),
        pd.DataFrame(),
        period,
        COUNTY,
        NAMES,
        MQ,
    )
    return [a for a in found if kind is None or a["kind"] == kind]


def test_capacity_fell_when_the_fte_halves_and_still_in_the_quarter_after():
    fell = kommun_year({"1081": {"2026-Q2": 0.1, "2026-Q3": 0.1}})
    (now,) = level(fell, "2026-Q2", "capacity_fell")
    (after,) = level(fell, "2026-Q3", "capacity_fell")  # nothing changed since, the fall stands
    for a in (now, after):
        assert a["municipality"] == {"code": "1081", "name": "Ronneby"} and a["indicator"] == "coordinator_fte"
    assert now["values"] == {"2026-Q1": 1.0, "2026-Q2": 0.1} and after["values"] == {"2026-Q1": 1.0, "2026-Q3": 0.1}
    assert after["message"] == (
        "Samordningen har minskat i Ronneby: 0,10 årsarbetskrafter för brottsförebyggande samordning 2026-Q3 mot "
        "1,00 2026-Q1."
    )
    half = kommun_year({"1060": {"2026-Q3": 0.5}})  # by half exactly: fell
    assert [a["values"] for a in level(half, kind="capacity_fell")] == [{"2026-Q2": 1.0, "2026-Q3": 0.5}]


def test_no_capacity_alert_when_nothing_changes_a_small_cut_or_no_stated_fte_before():
    assert level(kommun_year({})) == []  # control: every municipality at 1.0, the law's three met
    assert level(kommun_year({"1081": {"2026-Q3": 0.6}}), kind="capacity_fell") == []
    unstated = kommun_year({"1081": {"2026-Q1": None, "2026-Q2": None, "2026-Q3": 0.1}})
    assert level(unstated, kind="capacity_fell") == []  # the earlier FTE not stated: no guess
    zero = kommun_year({"1081": {"2026-Q1": 0.0, "2026-Q2": 0.0, "2026-Q3": 0.0}})
    assert level(zero, kind="capacity_fell") == []  # 0 before: nothing to halve
    long_ago = kommun_year({"1081": {w: 0.1 for w in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")}})
    assert level(long_ago, kind="capacity_fell") == []  # fell a year ago: no longer news
    kommun = kommun_year({"1081": {"2026-Q3": None}}).drop(columns="id").to_dict("records")
    polis = frame([*kommun, answer("1081", "2026-Q3", sector="polis", K04=0.1)])
    assert level(polis, kind="capacity_fell") == []  # only the municipality's own answer counts


def test_capacity_fell_when_the_coordination_function_falls_vacant():
    vacant = kommun_year({}, {("1082", "2026-Q1"): LAW_OK | {"K03": "2"}})
    found = level(vacant, kind="capacity_fell")
    assert [(a["municipality"]["code"], a["indicator"], a["values"]) for a in found] == [
        ("1082", "coordination_function", {"2025-Q1": "1", "2026-Q1": "2"})
    ]
    assert (
        found[0]["message"]
        == "Samordningsfunktionen är vakant i Karlshamn enligt svaret 2026-Q1; 2025-Q1 var den bemannad."
    )
    # control: vacant in both years is a standing state (law_floor), not a fall
    always = kommun_year({}, {("1082", w): LAW_OK | {"K03": "2"} for w in ("2025-Q1", "2026-Q1")})
    assert level(always, kind="capacity_fell") == []
    assert [a["municipality"]["code"] for a in level(always, kind="law_floor")] == ["1082"]


def test_no_law_floor_nor_vacancy_when_the_municipalitys_respondents_disagree():
    rows = kommun_year({}, {("1082", "2026-Q1"): LAW_OK | {"K02": "0", "K03": "2"}}).drop(columns="id")
    staffed = answer("1082", "2026-Q1", K02="1", K03="1") | {"submitted_at": pd.Timestamp("2026-01-01")}
    both = frame([*rows.to_dict("records"), staffed])  # the earlier answer of the wave says yes to both
    assert level(both, kind="law_floor") == [] and level(both, kind="capacity_fell") == []
    alone = frame(rows.to_dict("records"))  # control: without the other answer both alerts stand
    assert [a["kind"] for a in level(alone) if a["municipality"]["code"] == "1082"] == ["capacity_fell", "law_floor"]


def test_law_floor_names_the_requirement_and_since_when():
    planted = kommun_year(
        {},
        {
            ("1083", "2025-Q1"): LAW_OK | {"K02": "0"},
            ("1083", "2026-Q1"): LAW_OK | {"K02": "0"},  # no åtgärdsplan in either year
            ("1060", "2026-Q1"): {"K01": "3", "K02": "2", "K03": "0"},
        },
    )
    found = level(planted, kind="law_floor")
    assert [a["municipality"]["code"] for a in found] == ["1060", "1083"]
    olofstrom, solvesborg = found
    assert solvesborg["indicator"] == "law_2023_196"
    assert solvesborg["values"] == {"atgardsplan": {"code": "0", "wave": "2026-Q1", "since": "2025-Q1"}}
    assert solvesborg["message"] == (
        "Sölvesborg uppfyller inte kraven i lagen (2023:196): ingen åtgärdsplan sedan 2025-Q1 "
        "(senast rapporterat 2026-Q1)."
    )
    assert olofstrom["message"] == (
        "Olofström uppfyller inte kraven i lagen (2023:196): lägesbilden under framtagande sedan 2026-Q1 och "
        "ingen samordningsfunktion sedan 2026-Q1."
    )
    assert level(planted, "2025-Q3", "law_floor")[0]["values"]["atgardsplan"]["since"] == "2025-Q1"


def test_no_law_floor_when_the_law_is_met_unknown_or_the_answer_is_stale():
    assert level(kommun_year({}), kind="law_floor") == []
    old = {("1081", "2025-Q1"): LAW_OK | {"K02": "1"}, ("1081", "2026-Q1"): LAW_OK | {"K02": "2"}}
    assert level(kommun_year({}, old), kind="law_floor") == []  # decided more than 12 months ago: has one
    unknown = {("1081", "2026-Q1"): LAW_OK | {"K02": "9"}}
    assert level(kommun_year({}, unknown), kind="law_floor") == []  # "vet ej" after "ja": the "ja" stands
    stale = frame([answer("1081", "2025-Q1", K02="0"), answer("1081", "2026-Q1", K04=1.0)])
    assert level(stale, "2025-Q4", "law_floor") != []  # reported within LAW_WINDOW quarters: current
    assert level(stale, "2026-Q1", "law_floor") == []  # a year and more: not asked again, not current


# --- silence: roster coverage as metrics.roster_coverage gives it --------------------------------------------------


def coverage(missing: dict[tuple[str, str], list[str]], answered: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "municipality": m,
                "sector": s,
                "expected": answered + len(names),
                "answered": answered,
                "rate": answered / (answered + len(names)),
                "missing": names,
            }
            for (m, s), names in missing.items()
        ]
    )


def test_silence_lists_the_organisations_silent_two_quarters_in_a_row():
    before = coverage({("1080", "ideburen"): ["Tysta IF", "B-föreningen"], (COUNTY, "myndighet"): ["Region X"]})
    now = coverage(
        {("1080", "ideburen"): ["Tysta IF"], ("1080", "polis"): ["Polisen K"], (COUNTY, "myndighet"): ["Region X"]}
    )
    found = alerts.silence(now, before, "2026-Q3", COUNTY, NAMES)
    assert [(a["kind"], a["municipality"], a["indicator"]) for a in found] == [
        ("silence", {"code": "1080", "name": "Karlskrona"}, "coverage"),
        ("silence", None, "coverage"),  # the county's own actor: county-wide
    ]
    assert found[0]["values"] == {"organisations": ["Tysta IF"], "waves": ["2026-Q2", "2026-Q3"]}
    assert found[0]["message"] == (
        "Inget svar två kvartal i rad (2026-Q2 och 2026-Q3) från 1 organisation i Karlskrona: Tysta IF."
    )
    assert found[1]["message"].endswith("från 1 organisation i Blekinge län: Region X.")


def test_no_silence_after_one_quiet_quarter_or_when_the_quarter_before_had_no_answers():
    now = coverage({("1080", "ideburen"): ["Tysta IF"]})
    assert alerts.silence(now, coverage({("1080", "ideburen"): []}), "2026-Q3", COUNTY, NAMES) == []
    nobody = coverage({("1080", "ideburen"): ["Tysta IF"]}, answered=0)
    assert alerts.silence(now, nobody, "2026-Q3", COUNTY, NAMES) == []  # the wave before was never run
    assert alerts.silence(now, pd.DataFrame(), "2026-Q3", COUNTY, NAMES) == []  # no roster


def test_alerts_section_adds_the_level_alerts_and_keeps_the_json_shape(survey):
    rows = []
    for w in ("2026-Q2", "2026-Q3"):
        for m in ("1060", "1080", "1081", "1082", "1083"):
            for i in range(6):
                level_ = "5" if m == "1081" else ("4" if i == 0 else "2")
                need = {f"B0{k}": level_ for k in range(1, 10)}
                rows.append(
                    answer(m, w, **need, K04=(0.1 if m == "1081" and w == "2026-Q3" else 1.0))
                    | {"organisation": f"Org {m}-{i}"}
                )
    actors = pd.DataFrame(
        [
            {
                "id": 1,
                "name": "Tysta IF",
                "name_key": org_key("Tysta IF"),
                "sector": "ideburen",
                "municipalities": ["1080"],
            },
            {
                "id": 2,
                "name": "Org 1080-0",
                "name_key": org_key("Org 1080-0"),
                "sector": "kommun",
                "municipalities": ["1080"],
            },
        ]
    )
    data = rp.report_data(survey, frame(rows), "2026-Q3", roster=actors)
    found = rp.alerts_section(data)
    kinds = {(a["kind"], (a["municipality"] or {}).get("code")) for a in found}
    assert {("standing_gap", "1081"), ("capacity_fell", "1081"), ("silence", "1080")} <= kinds
    json.dumps(found)  # plain values only
    for a in found:
        assert {"kind", "municipality", "indicator", "title", "message"} <= a.keys()
    summary = rp.summary_section(data, found)
    assert "Inga förändringar utöver vad antalet svar kan bära." not in summary
    assert any(s.startswith("Ronneby har haft minst 20") for s in summary)


# --- end to end: answer sheets through the real ingest, then `bfs report --json` ----------------------------------

E2E_WAVES = ("2026-Q1", "2026-Q2", "2026-Q3")
E2E_MUNIS = {"1060": "Olofström", "1080": "Karlskrona", "1081": "Ronneby", "1082": "Karlshamn", "1083": "Sölvesborg"}


def sheet_rows(wave: str, planted: bool) -> list[dict[str, str]]:
    """Six kommun answers per municipality. Planted: Ronneby's needs jump in 2026-Q2 and stay in 2026-Q3, its FTE
    falls from 1,0 to 0,1 with them; Sölvesborg answers K02 = 0 (no åtgärdsplan) in 2026-Q1."""
    q = int(wave[-1])
    rows = []
    for m, name in E2E_MUNIS.items():
        for i in range(6):
            jump = planted and m == "1081" and wave != "2026-Q1"
            r = {
                "timestamp": f"{wave[:4]}-{3 * q - 2:02d}-1{i} 10:00:00",
                "email": f"k{i}@{org_key(name).replace(' ', '')}.example.se",
                "ORG": f"{name} kommun",
                "C01": name,
                "C02": "2",
                "K04": "0,1" if jump else "1,0",
            }
            r |= {f"B0{k}": ("5" if jump else ("4" if (i + k) % 5 == 0 else "2")) for k in range(1, 10)}
            r |= {f"K12{step}": "3" for step in "abcde"} | {"C04": "4"}
            if q == 1:
                r |= {"K01": "1", "K02": "0" if planted and m == "1083" else "1", "K03": "1"}
            rows.append(r)
    return rows


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("planted", [True, False], ids=["planted", "control"])
def test_report_json_raises_the_level_alerts_in_the_quarter_after_the_jump(env, sheet, tmp_path: Path, planted):
    inbox = Path(env["BFS_HOME"]) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for w in E2E_WAVES:
        sheet("kommun", wave=w).write(inbox / f"kommun-{w}.csv", sheet_rows(w, planted))
    runs = [json.loads(line) for line in bfs(env, "ingest", "--json").stdout.splitlines()]
    assert sum(r["accepted"] for r in runs) == 90 and sum(r["quarantined"] for r in runs) == 0
    out = json.loads(bfs(env, "report", "--period", "2026-Q3", "--json").stdout)
    found = {(a["kind"], (a["municipality"] or {}).get("code")) for a in out["alerts"]}
    level_kinds = {k for k in found if k[0] in ("standing_gap", "capacity_fell", "law_floor")}
    if planted:
        assert level_kinds == {("standing_gap", "1081"), ("capacity_fell", "1081"), ("law_floor", "1083")}
        gap = next(a for a in out["alerts"] if a["kind"] == "standing_gap")
        assert gap["municipality"] == {"code": "1081", "name": "Ronneby"} and gap["indicator"] == "need_index"
        assert "Ronneby" in " ".join(out["summary"])
        assert "Inga förändringar utöver vad antalet svar kan bära." not in out["summary"]
        # nothing changed since 2026-Q2: the change alerts are silent, the levels are not
        assert not {k for k in found if k[0] in ("floor_fell", "new_lowest")}
    else:
        assert level_kinds == set()
        assert not [a for a in out["alerts"] if a["kind"] in ("standing_gap", "capacity_fell")]
