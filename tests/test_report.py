"""The report: real Jinja2 templates and matplotlib, Swedish by default, small cells hidden everywhere, text escaped."""

from __future__ import annotations

import email
import email.policy
import io
import random
import re

import openpyxl
import pandas as pd
import pytest

from bfs_pipeline import alerts, metrics, reference
from bfs_pipeline import report as rp
from bfs_pipeline.errors import ReportError
from bfs_pipeline.i18n import fmt_change, fmt_num, fmt_pct
from bfs_pipeline.roster import org_key

WAVES = metrics.wave_range("2026-Q3", 8)


def answers(
    per_muni: dict[str, int], wave: str = "2026-Q1", level: int = 5, seed: int = 1, sector: str = "kommun"
) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for m, n in per_muni.items():
        for i in range(n):
            need = {f"B0{k}": str(min(5, max(1, level + rng.choice([-1, 0, 0, 1])))) for k in range(1, 10)}
            rows.append(
                {
                    "sector": sector,
                    "wave": wave,
                    "organisation": f"Org {m}-{i}",
                    "submitted_at": pd.Timestamp("2026-01-01"),
                    "answers": {"C01": [m], **need},
                }
            )
    return rows


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


def steady(level: int = 3, per: int = 8) -> list[dict]:
    munis = {m.code: per for m in reference.county_municipalities("10")}
    return [r for i, w in enumerate(WAVES) for r in answers(munis, w, level, seed=i)]


def test_swedish_report_with_suppressed_cells(survey):
    r = rp.build_report(survey, frame(answers({"1080": 6, "1081": 3, "1082": 5})), "2026-Q1")
    assert r.subject == "Behovsrapport Blekinge län 2026-Q1"
    assert "Behov av stöd per kommun" in r.html and "Hela länet" in r.html
    assert "n=6" in r.html and "n=3" not in r.html and "n=3" not in r.text  # Ronneby has 3: hidden
    assert "färre än 5 svarande" in r.html
    assert r.summary[0] == "14 svar räknas för 2026-Q1."


def test_english_report(survey):
    r = rp.build_report(survey, frame(answers({"1080": 6})), "2026-Q1", lang="en")
    assert r.subject == "Needs report Blekinge län 2026-Q1" and "Need of support per municipality" in r.html
    assert r.summary[0] == "6 responses count for 2026-Q1." and "Whole county" in r.text


def test_no_answers_for_period(survey):
    with pytest.raises(ReportError, match="No answers for 2026-Q2: the waves with answers are 2026-Q1"):
        rp.build_report(survey, frame(answers({"1080": 6})), "2026-Q2")


def test_mime_tree_cids_alt_texts_and_no_data_uris(survey):
    r = rp.build_report(survey, frame(steady()), "2026-Q3")
    msg = email.message_from_bytes(
        bytes(r.message("bfs@lst.example.se", "samordnare@lst.example.se")), policy=email.policy.default
    )
    assert msg.get_content_type() == "multipart/mixed" and msg["Content-Language"] == "sv"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html, *images = related.get_payload()
    assert html.get_content_type() == "text/html" and len(images) == 2
    assert all(i.get_content_type() == "image/png" and i.get_content_disposition() == "inline" for i in images)
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_filename() == "behovsrapport-10-2026-Q3.sv.xlsx"
    body = html.get_content()
    referenced = set(re.findall(r'src="cid:([^"]+)"', body))
    present = {i["Content-ID"].strip("<>") for i in images}
    assert referenced == present and len(referenced) == 2
    assert "data:" not in body
    for alt in re.findall(r'<img [^>]*alt="([^"]*)"', body):
        assert len(alt) > 40 and "2024-Q4" in alt


def test_html_body_under_100_kb_for_290_municipalities(survey, monkeypatch):
    everyone = sorted(reference.municipalities().values(), key=lambda m: m.code)
    monkeypatch.setattr(reference, "county_municipalities", lambda code: everyone)
    rows = []
    for i, w in enumerate(WAVES[-2:]):
        rows += answers({m.code: 6 for m in everyone}, w, 3, seed=i)
    r = rp.build_report(survey, frame(rows), "2026-Q3")
    assert len(r.html.encode("utf-8")) < 100_000
    assert "alla finns i bilagan" in r.html
    wb = openpyxl.load_workbook(io.BytesIO(r.xlsx))
    assert wb["Behovsindex"].max_row >= 290  # the full tables live in the attachment


def test_suppression_in_body_charts_and_attachment(survey):
    rows = steady()
    rows = [r for r in rows if not (r["answers"]["C01"] == ["1083"] and r["wave"] == "2026-Q3")] + answers(
        {"1083": 2}, "2026-Q3", 5
    )
    r = rp.build_report(survey, frame(rows), "2026-Q3")
    body = r.html[r.html.index("Behov av stöd per kommun") :]
    assert "n=2" not in body and "n=2" not in r.text
    chart = next(c for c in r.charts if c.filename == "behov-per-kommun.png")
    assert not re.search(r"Sölvesborg[^.;]*\d", chart.alt.split("median")[1])  # no number drawn from a hidden cell
    ws = openpyxl.load_workbook(io.BytesIO(r.xlsx))["Behovsindex"]
    row = next(row for row in ws.iter_rows(values_only=True) if row[0] == "2026-Q3" and row[1] == "1083")
    assert row[3:] == ("–", "–")


def test_second_cell_hidden_where_first_could_be_worked_out():
    rows = answers({"1080": 8, "1081": 3, "1082": 6, "1083": 9})
    t = metrics.secondary_suppress(metrics.need_table(frame(rows), ["B01"], "C01", "10"), "10")
    hidden = set(t[t["suppressed"]]["municipality"])
    assert hidden == {"1081", "1082"}  # 1082 is the smallest shown cell: hidden too
    assert not t[t["municipality"] == "10"]["suppressed"].any()


def roster_of(*actors: tuple[str, str]) -> pd.DataFrame:
    """A roster as roster_frame gives it: (name, sector) pairs, all in Karlskrona."""
    return pd.DataFrame(
        [
            {
                "id": i,
                "name": name,
                "name_key": org_key(name),
                "sector": sector,
                "municipalities": ["1080"],
                "contact_email": None,
                "active": True,
            }
            for i, (name, sector) in enumerate(actors, start=1)
        ]
    )


def test_free_text_escaped_and_formula_injection_neutralised(survey):
    roster = roster_of(("<script>alert(1)</script> IF", "ideburen"), ('=HYPERLINK("http://x","klick")', "naringsliv"))
    r = rp.build_report(survey, frame(answers({"1080": 6})), "2026-Q1", roster=roster)
    assert "<script>" not in r.html and "&lt;script&gt;alert(1)&lt;/script&gt; IF" in r.html
    ws = openpyxl.load_workbook(io.BytesIO(r.xlsx))["Täckning"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(not c.value.startswith("=") and c.data_type == "s" for c in cells)


def test_coverage_names_who_did_not_answer(survey):
    roster = roster_of(("Org 1080-0", "kommun"), ("Tysta föreningen", "ideburen"))
    r = rp.build_report(survey, frame(answers({"1080": 6})), "2026-Q1", roster=roster)
    assert "Har inte svarat: Tysta föreningen" in r.text and r.coverage_rate == 0.5


def test_alert_names_the_municipality_that_falls_behind_and_none_when_steady(survey):
    quiet = rp.build_report(survey, frame(steady()), "2026-Q3")
    assert quiet.alerts == [] and "Inga förändringar utöver vad antalet svar kan bära." in quiet.summary
    rows = [r for r in steady() if not (r["answers"]["C01"] == ["1060"] and r["wave"] in WAVES[-2:])]
    rows += answers({"1060": 12}, WAVES[-2], 4, seed=90) + answers({"1060": 12}, WAVES[-1], 5, seed=91)
    loud = rp.build_report(survey, frame(rows), "2026-Q3")
    kinds = {a["kind"]: a for a in loud.alerts}
    assert "floor_fell" in kinds and kinds["floor_fell"]["municipality"] == {"code": "1060", "name": "Olofström"}
    assert kinds["floor_fell"]["values"]["2026-Q3"] > kinds["floor_fell"]["values"]["2026-Q2"]
    assert "Olofström" in loud.html[: loud.html.index("Sammanfattning")]


def test_low_coverage_alert():
    cov = pd.DataFrame(
        [{"municipality": "1081", "sector": "kommun", "expected": 10, "answered": 3, "rate": 0.3, "missing": []}]
    )
    (a,) = alerts.alerts(
        pd.DataFrame(columns=["municipality", "wave", "n", "answers", "index", "suppressed"]),
        cov,
        "2026-Q1",
        "10",
        {"1081": "Ronneby"},
    )
    assert a["kind"] == "low_coverage" and a["values"]["answered"] == 3 and "Ronneby: 3 av 10" in a["message"]


def test_templates_autoescape():
    env = rp._environment()
    assert "&lt;script&gt;" in env.from_string("{{ x }}").render(x="<script>")


def test_swedish_number_formats():
    assert fmt_num(1234.5, "sv") == "1\u00a0234,5"
    assert fmt_num(1234.5, "en") == "1,234.5"
    assert fmt_pct(0.625) == "62\u00a0%" and fmt_pct(float("nan")) == "–"
    assert fmt_change(-0.05) == "−5" and fmt_change(0.1) == "+10"


def test_message_id_stable(survey):
    r = rp.build_report(survey, frame(answers({"1080": 6})), "2026-Q1")
    a = r.message("bfs@lst.example.se", "samordnare@lst.example.se")["Message-ID"]
    assert a == r.message("bfs@lst.example.se", "samordnare@lst.example.se")["Message-ID"]
    assert a.startswith("<bfs.blekinge-behov.2026-Q1.") and a.endswith("@lst.example.se>")
