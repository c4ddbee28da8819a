"""The report: real Jinja2 templates, Swedish by default, small cells hidden, HTML escaped."""

from __future__ import annotations

import pandas as pd
import pytest

from bfs_pipeline import report as rp
from bfs_pipeline.errors import ReportError


def responses(per_muni: dict[str, int], wave: str = "2026-Q1", b01: str = "5") -> pd.DataFrame:
    rows = []
    for m, n in per_muni.items():
        rows += [
            {
                "id": len(rows) + i,
                "sector": "kommun",
                "wave": wave,
                "organisation": "x",
                "submitted_at": None,
                "answers": {"C01": [m], **{f"B0{k}": b01 for k in range(1, 10)}},
            }
            for i in range(n)
        ]
    return pd.DataFrame(rows)


def test_swedish_report_with_suppressed_cells(survey):
    r = rp.build_report(survey, responses({"1080": 6, "1081": 3, "1082": 5}), "2026-Q1")
    assert r.subject == "Behovsrapport Blekinge län 2026-Q1"
    assert "Behov av stöd per kommun" in r.html and "Hela länet" in r.html
    assert "n=6" in r.html and "n=3" not in r.html and "n=3" not in r.text  # Ronneby has 3: hidden
    assert "100\u00a0%" in r.html
    assert "färre än 5 svar" in r.html
    assert r.summary[0] == "14 svar räknas för perioden."


def test_english_report(survey):
    r = rp.build_report(survey, responses({"1080": 6}), "2026-Q1", lang="en")
    assert r.subject == "Needs report Blekinge län 2026-Q1" and "Need of support per municipality" in r.html
    assert r.summary[0] == "6 responses count for the period."


def test_no_answers_for_period(survey):
    with pytest.raises(ReportError, match="No answers for 2026-Q2: the waves with answers are 2026-Q1"):
        rp.build_report(survey, responses({"1080": 6}), "2026-Q2")


def test_templates_autoescape():
    env = rp._environment()
    assert "&lt;script&gt;" in env.from_string("{{ x }}").render(x="<script>")
    html = env.get_template("report.html")
    assert html.environment.autoescape is not False


def test_swedish_number_formats():
    assert rp.fmt_num(1234.5, "sv") == "1\u00a0234,5"
    assert rp.fmt_num(1234.5, "en") == "1,234.5"
    assert rp.fmt_pct(0.625, "sv") == "62\u00a0%"
    assert rp.fmt_pct(float("nan"), "sv") == "–"
    assert rp.fmt_change(-0.05, "sv") == "−5" and rp.fmt_change(0.1, "sv") == "+10"


def test_message_parts(survey):
    r = rp.build_report(survey, responses({"1080": 6}), "2026-Q1")
    msg = r.message("bfs@lst.example.se", "samordnare@lst.example.se")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"].startswith("<bfs.blekinge-behov.2026-Q1.") and msg["Message-ID"].endswith("@lst.example.se>")
