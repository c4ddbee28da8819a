"""Each municipality's own report: only its own municipality named, suppression against the county total, delivered
once per (report, municipality, recipient) over a real SMTP server on loopback, only to opted-in contacts."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from bfs_pipeline import metrics, municipal, pipeline, reference
from bfs_pipeline import report as rp
from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import ReportError
from bfs_pipeline.i18n import fmt_pct
from bfs_pipeline.mailer import outbox_rows
from bfs_pipeline.roster import import_roster, roster_frame
from tests.conftest import good_row
from tests.test_flows import prefect_server  # noqa: F401  (Prefect's test server, as a fixture)
from tests.test_mailer import smtp, smtp_settings  # noqa: F401  (the aiosmtpd recorder, as a fixture)

PERIOD = "2026-Q3"
COUNTY = "10"
MUNIS = [m.code for m in reference.county_municipalities(COUNTY)]  # 1060, 1080, 1081, 1082, 1083
NAMES = {m.code: m.name for m in reference.county_municipalities(COUNTY)}
SECRET = "Hemligt fritextsvar om Kalle på Storgatan"


def rows_for(plan: dict[str, tuple[int, int]], wave: str = PERIOD) -> list[dict[str, Any]]:
    """Per municipality (respondents, of whom answer 5 to every need; the rest 1): shares exactly as planned."""
    out = []
    for code, (n, high) in plan.items():
        for i in range(n):
            score = "5" if i < high else "1"
            out.append(
                {
                    "sector": "kommun",
                    "wave": wave,
                    "organisation": f"Org {code}-{i}",
                    "submitted_at": pd.Timestamp("2026-08-01", tz="UTC"),
                    "answers": {"C01": [code], "C05": SECRET, **{f"B0{k}": score for k in range(1, 10)}},
                    "content_hash": f"{code}-{wave}-{i}",
                }
            )
    return out


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


# distinct shares and n: 20 %, 36 %, 50 %, 62 %, 79 %; the county median is 50 %
PLAN = {"1060": (10, 2), "1080": (11, 4), "1081": (12, 6), "1082": (13, 8), "1083": (14, 11)}


def view_of(plan: dict[str, tuple[int, int]], survey, examples=None, extra=()) -> municipal.CountyView:
    rows = rows_for(plan) + rows_for(plan, "2026-Q2") + list(extra)
    data = rp.report_data(survey, frame(rows), PERIOD, generated=pd.Timestamp("2026-10-01").date())
    return municipal.county_view(data, examples)


def xlsx_cells(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def everything(rep: municipal.MunicipalReport) -> str:
    """The HTML (tags removed), the text and every XLSX cell (shares as Excel shows them: 0.5 -> 50 %)."""
    cells = []
    for v in xlsx_cells(rep.xlsx):
        cells.append(v)
        try:
            f = float(v)
        except ValueError:
            continue
        if 0 <= f <= 1:
            cells.append(fmt_pct(f))
    html = re.sub(r"<[^>]+>", " ", rep.html).replace("&nbsp;", "\u00a0")
    return "\n".join([html, rep.text, *cells])


def shares(plan: dict[str, tuple[int, int]]) -> dict[str, float]:
    return {m: high / n for m, (n, high) in plan.items()}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_names_only_its_own_municipality_and_no_other_figure(survey, lang):
    view = view_of(PLAN, survey)
    s = shares(PLAN)
    median = float(pd.Series(list(s.values())).median())
    for code in MUNIS:
        rep = municipal.build_municipal(view, code, lang)
        text = everything(rep)
        assert NAMES[code] in text
        for other in MUNIS:
            if other != code:
                assert NAMES[other] not in text, (code, other)
        others = {m: v for m, v in s.items() if m != code}
        allowed = {min(others.values()), max(others.values()), median}  # the range's ends and the median, unnamed
        for other, v in others.items():
            if v not in allowed:
                assert fmt_pct(v, lang) not in text, (code, other, fmt_pct(v, lang))
            assert f"n={PLAN[other][0]}" not in text  # nor their respondents
        assert fmt_pct(s[code], lang) in text and f"n={PLAN[code][0]}" in text
        assert SECRET not in text and "Kalle" not in text  # free text never quoted
        assert len(rep.html.encode()) < 100_000


def test_primary_and_secondary_suppression_follow_the_coordinators_report(survey):
    plan = {**PLAN, "1083": (3, 3)}  # one municipality under MIN_N
    view = view_of(plan, survey)
    own = {c: municipal.needs_rows(view, c, "sv") for c in MUNIS}
    assert all(r["own"] is None and r["own_text"] == "–" for r in own["1083"])  # primary
    # secondary: the coordinator's report hides a second cell (the smallest shown, 1060 with n=10)
    assert all(r["own"] is None for r in own["1060"])
    table = view.data.table[view.data.table["wave"] == PERIOD]
    hidden = set(table[table["suppressed"].astype(bool) & (table["municipality"] != COUNTY)]["municipality"])
    assert hidden == {"1060", "1083"}
    rep = municipal.build_municipal(view, "1083")
    text = everything(rep)
    assert "100\u00a0%" not in text and "n=3" not in text  # 1083's own hidden share (3 of 3) is nowhere
    rep = municipal.build_municipal(view, "1060")
    assert "20\u00a0%" not in everything(rep)  # nor its need index, which pools the hidden cells
    assert all(t["own"] is None for t in municipal.trend_rows(view, "1060", "sv"))


def union_derivable(view: municipal.CountyView, item: str) -> tuple[int, float | None]:
    """What the five reports together give for one need: the respondents and share the county total holds beyond
    the municipalities' own shown cells (None where the county total is hidden)."""
    shown = [municipal.needs_rows(view, c, "sv") for c in MUNIS]
    cells = [next(r for r in rows if r["item"] == item) for rows in shown]
    total = cells[0]
    if total["total"] is None:
        return 0, None
    n_shown = sum(c["n"] for c in cells if c["n"] is not None)
    high = sum(round(c["own"] * c["n"]) for c in cells if c["own"] is not None)
    rest = total["total_n"] - n_shown
    return rest, (round(total["total"] * total["total_n"]) - high) / rest if rest else None


def test_county_total_never_reveals_a_small_hidden_pool(survey):
    # one municipality under 5: secondary suppression pools it with a second; the rest is 3 + 10 respondents
    view = view_of({**PLAN, "1083": (3, 3)}, survey)
    for item in view.data.items:
        rest, _share = union_derivable(view, item)
        assert rest == 0 or rest >= metrics.MIN_N
    # two municipalities under 5 (2 + 2): the county's own suppression hides the smallest shown one as well
    # (metrics.secondary_suppress), so that the total beyond the shown cells holds 5 or more
    view = view_of({**PLAN, "1082": (2, 2), "1083": (2, 0)}, survey)
    now = view.data.table[(view.data.table["wave"] == view.data.period) & (view.data.table["municipality"] != COUNTY)]
    assert (now.groupby("item")["suppressed"].sum() >= 3).all()
    for item in view.data.items:
        rest, _share = union_derivable(view, item)
        assert rest == 0 or rest >= metrics.MIN_N
    # control: two under 5 that pool to 6 respondents; the total is shown
    view = view_of({**PLAN, "1082": (3, 3), "1083": (3, 0)}, survey)
    rows = municipal.needs_rows(view, "1060", "sv")
    assert all(r["total"] is not None for r in rows)
    for item in view.data.items:
        rest, _share = union_derivable(view, item)
        assert rest == 0 or rest >= metrics.MIN_N


def test_county_only_answers_are_a_pool_too(survey):
    whole = rows_for({COUNTY: (2, 2)})  # two answers for the whole county only
    view = view_of(PLAN, survey, extra=whole)
    rows = municipal.needs_rows(view, "1080", "sv")
    for item in view.data.items:  # hidden, or pooled with a municipality the county's suppression hides
        rest, _share = union_derivable(view, item)
        assert rest == 0 or rest >= metrics.MIN_N
    assert all(r["total"] is None or r["total_n"] - (r["n"] or 0) >= metrics.MIN_N for r in rows)
    view = view_of(PLAN, survey, extra=rows_for({COUNTY: (5, 2)}))
    assert all(r["total"] is not None for r in municipal.needs_rows(view, "1080", "sv"))


def test_range_and_median_need_enough_municipalities(survey):
    view = view_of({"1060": (10, 2), "1080": (11, 4), "1081": (12, 6), "1082": (2, 1)}, survey)
    rows = municipal.needs_rows(view, "1060", "sv")
    # 1082 hidden (primary) and 1060 hidden (secondary): two others shown, too few for a range; three in the median?
    assert all(r["range_text"] == "–" and r["low"] is None for r in rows)
    assert all(r["median"] is None for r in rows)  # only 1080 and 1081 shown: fewer than MIN_MEDIAN


def test_good_examples_are_shown_and_a_bad_file_is_named(survey, tmp_path):
    path = municipal.examples_path(tmp_path, PERIOD)
    path.parent.mkdir()
    path.write_text(
        "- rubrik: Trygghetsvandring med handeln\n"
        "  text: Kommunen och handeln gick tillsammans.\n"
        "  kontakt: samordnare@lst.example.se\n"
        "  en:\n    rubrik: Safety walk with local business\n    text: Together.\n",
        encoding="utf-8",
    )
    examples = municipal.load_examples(path)
    view = view_of(PLAN, survey, examples)
    sv, en = municipal.build_municipal(view, "1081", "sv"), municipal.build_municipal(view, "1081", "en")
    assert "Trygghetsvandring med handeln" in sv.html and "samordnare@lst.example.se" in sv.text
    assert "Safety walk with local business" in en.html
    assert "Trygghetsvandring med handeln" in xlsx_cells(sv.xlsx)
    path.write_text("- rubrik: Utan text\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"example 1 has no text\. Write text: with a short text"):
        municipal.load_examples(path)
    assert municipal.load_examples(tmp_path / "none.yaml") == []


def test_unknown_municipality_is_named_with_the_choices():
    with pytest.raises(ReportError, match=r"Municipality 'Kalmar' is not one of Blekinge län's .* 1060 Olofström"):
        municipal.resolve_municipality("Kalmar", COUNTY)
    assert municipal.resolve_municipality("Solvesborg", COUNTY).code == "1083"
    assert municipal.resolve_municipality("1060", COUNTY).name == "Olofström"


def test_municipal_reports_setting(tmp_path):
    assert load_settings({}, cwd=tmp_path).municipal_reports is False
    assert load_settings({"BFS_MUNICIPAL_REPORTS": "true"}, cwd=tmp_path).municipal_reports is True


# --- with a real database (SQLite file and PostgreSQL), the roster, and SMTP on loopback ---

ROSTER = "organisation,sektor,kommun,kontakt,språk,aktiv,rapport\n"


def roster_file(tmp_path: Path, body: str, header: str = ROSTER) -> Path:
    path = tmp_path / "aktorer.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def ingest(settings, sheet, tmp_path: Path) -> None:
    rows = []
    for code, n in (("Olofström", 6), ("Karlskrona", 7), ("Ronneby", 8), ("Karlshamn", 6), ("Sölvesborg", 6)):
        rows += [
            good_row(
                timestamp="2026-08-14 10:22:31",
                email=f"r{i}@{code.lower()}.example.se",
                ORG=f"{code} org {i}",
                C01=code,
                C05=SECRET,
            )
            for i in range(n)
        ]
    pipeline.ingest_files(settings, file=sheet().write(tmp_path / f"kommun-{PERIOD}.csv", rows))


def test_roster_rapport_column_imported_updated_never_doubled(engine, survey, tmp_path):
    first = roster_file(
        tmp_path,
        "Olofström org 0,kommun,Olofström,a@olofstrom.example.se,sv,ja,ja\n"
        "Olofström org 1,kommun,Olofström,b@olofstrom.example.se,en,ja,\n"
        "Karlskrona org 0,kommun,Karlskrona,c@karlskrona.example.se,sv,ja,nej\n",
    )
    assert import_roster(engine, first, survey)["added"] == 3
    r = roster_frame(engine).set_index("name")
    assert r.loc["Olofström org 0", "report"] and not r.loc["Olofström org 1", "report"]
    assert not r.loc["Karlskrona org 0", "report"]
    second = roster_file(
        tmp_path,
        "Olofström org 0,kommun,Olofström,a@olofstrom.example.se,sv,ja,nej\n"
        "Olofström org 1,kommun,Olofström,b@olofstrom.example.se,en,ja,ja\n"
        "Karlskrona org 0,kommun,Karlskrona,c@karlskrona.example.se,sv,ja,nej\n",
    )
    assert import_roster(engine, second, survey) == {"added": 0, "updated": 3, "inactive": 0}
    r = roster_frame(engine).set_index("name")
    assert len(r) == 3 and not r.loc["Olofström org 0", "report"] and r.loc["Olofström org 1", "report"]
    # a roster file without the column keeps what each organisation had
    third = roster_file(
        tmp_path,
        "Olofström org 0,kommun,Olofström,a@olofstrom.example.se\n"
        "Olofström org 1,kommun,Olofström,b@olofstrom.example.se\n"
        "Karlskrona org 0,kommun,Karlskrona,c@karlskrona.example.se\n",
        header="organisation,sektor,kommun,kontakt\n",
    )
    import_roster(engine, third, survey)
    assert roster_frame(engine).set_index("name").loc["Olofström org 1", "report"]
    bad = roster_file(tmp_path, "Olofström org 0,kommun,Olofström,a@olofstrom.example.se,sv,ja,kanske\n")
    with pytest.raises(Exception, match=r"row 2: rapport 'kanske' of Olofström org 0 is neither ja nor nej"):
        import_roster(engine, bad, survey)


def test_delivered_once_per_recipient_only_to_the_opted_in(settings, survey, sheet, tmp_path, smtp):  # noqa: F811
    controller, handler = smtp
    ingest(settings, sheet, tmp_path)
    body = (
        "Olofström org 0,kommun,Olofström,a@olofstrom.example.se,sv,ja,ja\n"
        "Olofström org 1,kommun,Olofström,b@olofstrom.example.se,en,ja,ja\n"
        "Olofström org 2,kommun,Olofström,nej@olofstrom.example.se,sv,ja,nej\n"
        "Olofström org 3,kommun,Olofström,,sv,ja,ja\n"
        "Karlskrona org 0,kommun,Karlskrona,k@karlskrona.example.se,sv,ja,nej\n"
    )
    s = smtp_settings(settings, controller)
    with pipeline.database(s) as engine:
        import_roster(engine, roster_file(tmp_path, body), survey)
    run = pipeline.render_municipal(s, PERIOD, "Olofström", send_langs=True)
    assert [r["address"] for r in run.recipients] == ["a@olofstrom.example.se", "b@olofstrom.example.se"]
    first = pipeline.send_municipal(s, run)
    assert sorted(o.state for o in first) == ["sent", "sent"]
    got = {m["To"]: m for m in handler.messages}
    assert set(got) == {"a@olofstrom.example.se", "b@olofstrom.example.se"}
    assert got["a@olofstrom.example.se"]["Subject"] == "Kommunrapport Olofström 2026-Q3"
    assert got["b@olofstrom.example.se"]["Content-Language"] == "en"
    for msg in handler.messages:
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        xlsx = next(p for p in msg.iter_attachments()).get_content()
        blob = "\n".join([html, text, *xlsx_cells(xlsx)])
        assert "Olofström" in blob and SECRET not in blob
        assert not [n for c, n in NAMES.items() if c != "1060" and n in blob]
    # again: nothing sent twice
    again = pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "1060", send_langs=True))
    assert all(o.already for o in again) and len(handler.messages) == 2
    # a contact opted in later gets it once
    with pipeline.database(s) as engine:
        import_roster(
            engine,
            roster_file(
                tmp_path, body.replace("nej@olofstrom.example.se,sv,ja,nej", "nej@olofstrom.example.se,sv,ja,ja")
            ),
            survey,
        )
    third = pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "1060", send_langs=True))
    assert sorted((o.recipient, o.already) for o in third) == [
        ("a@olofstrom.example.se", True),
        ("b@olofstrom.example.se", True),
        ("nej@olofstrom.example.se", False),
    ]
    assert [m["To"] for m in handler.messages].count("nej@olofstrom.example.se") == 1 and len(handler.messages) == 3
    pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "1060", send_langs=True))
    assert len(handler.messages) == 3
    with pipeline.database(s) as engine:
        rows = [r for r in outbox_rows(engine) if r.kind == "municipal"]
    assert len(rows) == 3 and {r.report for r in rows} == {f"municipal:{survey.id}:{PERIOD}:1060"}


def test_cli_json_and_eml_without_smtp(env, settings, survey, sheet, tmp_path):
    import subprocess
    import sys

    ingest(settings, sheet, tmp_path)
    with pipeline.database(settings) as engine:
        import_roster(
            engine, roster_file(tmp_path, "Ronneby org 0,kommun,Ronneby,r@ronneby.example.se,sv,ja,ja\n"), survey
        )
    cmd = [sys.executable, "-m", "bfs_pipeline", "report", "--period", PERIOD, "--municipality", "Ronneby"]
    proc = subprocess.run([*cmd, "--send", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["period"] == PERIOD and out["municipality"] == {"code": "1081", "name": "Ronneby"}
    assert out["recipients"] == ["r@ronneby.example.se"]
    assert [d["state"] for d in out["deliveries"]] == ["written"]
    assert Path(out["files"]["html"]).is_file() and Path(out["files"]["xlsx"]).is_file()
    eml = Path(out["deliveries"][0]["path"])
    assert eml.parent == settings.outbox and "Ronneby" in eml.read_bytes().decode("utf-8", "replace")
    again = json.loads(subprocess.run([*cmd, "--send", "--json"], env=env, capture_output=True, text=True).stdout)
    assert again["deliveries"][0]["already"] is True
    bad = subprocess.run([*cmd[:-1], "Kalmar"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("bfs: Municipality 'Kalmar' is not one of Blekinge län's")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_quarterly_flow_sends_municipal_reports_only_when_the_setting_is_on(
    prefect_server,  # noqa: F811
    env,
    settings,
    survey,
    sheet,
    tmp_path,
    monkeypatch,
):
    from flows.quarterly import quarterly_report

    ingest(settings, sheet, tmp_path)
    with pipeline.database(settings) as engine:
        import_roster(
            engine,
            roster_file(tmp_path, "Karlshamn org 0,kommun,Karlshamn,h@karlshamn.example.se,sv,ja,ja\n"),
            survey,
        )
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("BFS_MUNICIPAL_REPORTS", "false")
    off = quarterly_report(PERIOD)
    assert off["municipal"] == [] and [d["state"] for d in off["deliveries"]] == ["written"]
    assert not list(settings.outbox.glob("kommunrapport-*"))
    monkeypatch.setenv("BFS_MUNICIPAL_REPORTS", "true")
    on = quarterly_report(PERIOD)
    assert [d["already"] for d in on["deliveries"]] == [True]  # the coordinator's, sent before
    assert [(r["municipality"]["code"], r["recipients"]) for r in on["municipal"]] == [
        ("1082", ["h@karlshamn.example.se"])
    ]
    assert [d["state"] for d in on["municipal"][0]["deliveries"]] == ["written"]
    assert len(list(settings.outbox.glob("kommunrapport-1082-*"))) == 1
    again = quarterly_report(PERIOD)
    assert [d["already"] for d in again["municipal"][0]["deliveries"]] == [True]


def test_a_451_stays_pending_and_the_nightly_retry_delivers_it_once(settings, survey, sheet, tmp_path, smtp):  # noqa: F811
    controller, handler = smtp
    ingest(settings, sheet, tmp_path)
    s = smtp_settings(settings, controller)
    with pipeline.database(s) as engine:
        import_roster(
            engine,
            roster_file(tmp_path, "Sölvesborg org 0,kommun,Sölvesborg,s@solvesborg.example.se,sv,ja,ja\n"),
            survey,
        )
    handler.reply = "451 try again later"
    first = pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "1083"))
    assert [o.state for o in first] == ["pending"] and handler.messages == []
    handler.reply = None
    retried = pipeline.retry_pending(s)
    assert [(o.recipient, o.state) for o in retried] == [("s@solvesborg.example.se", "sent")]
    assert pipeline.retry_pending(s) == [] and len(handler.messages) == 1


def test_workbook_figures_are_rounded_as_printed(survey):
    view = view_of(PLAN, survey)
    wb = openpyxl.load_workbook(io.BytesIO(municipal.build_municipal(view, "1081").xlsx))
    values = [c.value for row in wb["Behov"].iter_rows(min_row=2) for c in row[1:]]
    shares_ = [v for v in values if isinstance(v, float)]
    assert shares_ and all(round(v, 2) == v for v in shares_)
    assert 0.2 in shares_ and 0.79 in shares_  # the range's ends (1060's 2 of 10, 1083's 11 of 14), as printed
    assert 11 / 14 not in shares_ and 0.36 not in shares_ and 0.62 not in shares_  # nor the others inside it


def test_a_550_fails_and_bfs_outbox_resend_sends_it_once(settings, survey, sheet, tmp_path, smtp):  # noqa: F811
    controller, handler = smtp
    ingest(settings, sheet, tmp_path)
    s = smtp_settings(settings, controller)
    with pipeline.database(s) as engine:
        body = "Karlshamn org 0,kommun,Karlshamn,h@karlshamn.example.se,en,ja,ja\n"
        import_roster(engine, roster_file(tmp_path, body), survey)
    handler.reply = "550 mailbox unavailable"
    first = pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "Karlshamn", send_langs=True))
    assert [o.state for o in first] == ["failed"]
    assert pipeline.retry_pending(s) == []  # failed waits for a person
    handler.reply = None
    again = pipeline.resend(s, first[0].delivery_id)
    assert [(o.recipient, o.state) for o in again] == [("h@karlshamn.example.se", "sent")]
    assert len(handler.messages) == 1 and handler.messages[0]["Content-Language"] == "en"
    assert pipeline.send_municipal(s, pipeline.render_municipal(s, PERIOD, "1082", send_langs=True))[0].already
