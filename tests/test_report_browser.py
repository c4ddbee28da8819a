"""The report's HTML in headless Chromium at a phone's 375 px and the body's 600 px, in Swedish and English.

The page must never scroll sideways (wide tables scroll inside their own box), nothing outside those boxes may run
past the right edge, no request may leave the machine, and every data table has a caption and th with scope.
"""

from __future__ import annotations

import base64
import random
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bfs_pipeline import metrics, reference
from bfs_pipeline import report as rp
from bfs_pipeline.normalize import org_key

PERIOD = "2026-Q3"
SECTORS = ("kommun", "polis", "myndighet", "naringsliv", "ideburen")

OVERFLOW = """() => {
  const w = window.innerWidth, bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.parentElement && el.parentElement.closest('div[style*="overflow-x"]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5)
      bad.push(`${el.tagName} ${Math.round(r.right)}: ${el.textContent.slice(0, 60)}`);
  }
  return bad;
}"""

TABLES = """() => [...document.querySelectorAll('table:not([role=presentation])')].map(t => ({
  caption: t.caption ? t.caption.textContent.trim() : '',
  th: t.querySelectorAll('th').length,
  unscoped: [...t.querySelectorAll('th')]
    .filter(th => !['col', 'row', 'colgroup'].includes(th.getAttribute('scope'))).length,
  rowHeaders: t.querySelectorAll('th[scope=row]').length,
}))"""


def responses() -> pd.DataFrame:
    """Eight quarters of answers from every sector in Blekinge's five municipalities, Olofström's needs rising,
    the municipalities' own capacity figures, and a few "Vet ej"; every sector's items of the issue-13 sections (the
    process's steps, the others' view, satisfaction, the regional network) from a second generator, so that the
    first one's answers stay as they were; deterministic."""
    rng = random.Random(42)
    more = random.Random(13)
    views = {"polis": ("P03", "P02", "P07"), "ideburen": ("I06", "I08"), "naringsliv": ("N06",), "myndighet": ("M08",)}
    rows: list[dict[str, Any]] = []
    munis = [m.code for m in reference.county_municipalities("10")]
    for w_i, wave in enumerate(metrics.wave_range(PERIOD, 8)):
        for muni in munis:
            base = 3 + (1 if muni == "1060" and w_i >= 5 else 0)
            for i in range(9):
                sector = SECTORS[i % len(SECTORS)]
                need = {f"B0{k}": str(min(5, max(1, base + rng.choice([-1, 0, 0, 1])))) for k in range(1, 10)}
                if rng.random() < 0.1:
                    need["B03"] = "9"  # "Vet ej": not scored, so n varies between the needs
                answers: dict[str, Any] = {"C01": [muni], **need}
                if sector == "kommun":
                    answers |= {"K01": "1", "K02": "2", "K03": "1", "K04": str(0.5 + i / 10), "K06": "1", "K07": "3"}
                    answers |= {f"K12{s}": str(more.randint(1, 5)) for s in "abcde"}
                answers |= {q: str(more.randint(1, 5)) for q in views.get(sector, ())}
                answers |= {"C04": str(more.choice([1, 2, 3, 4, 5, 8])), "C03": "1" if i == 0 else "0"}
                rows.append(
                    {
                        "sector": sector,
                        "wave": wave,
                        "organisation": f"{sector.capitalize()} {muni}-{i}",
                        "submitted_at": pd.Timestamp("2026-08-01"),
                        "answers": answers,
                    }
                )
    df = pd.DataFrame(rows)
    df.insert(0, "id", range(len(df)))
    return df


def roster() -> pd.DataFrame:
    """Who is expected to answer: those who did, and in Olofström some with long names who did not."""
    names = [
        (f"{s.capitalize()} {m.code}-{i}", s, m.code)
        for m in reference.county_municipalities("10")
        for i, s in enumerate(SECTORS)
    ]
    names += [
        ("Olofströms Brottsförebyggande Samverkansförening för Trygghet och Säkerhet", "ideburen", "1060"),
        ("Fastighetsägarföreningen Olofström-Jämshög ekonomisk förening", "naringsliv", "1060"),
        ("Trafikverket Region Syd", "myndighet", "1060"),
    ]
    return pd.DataFrame(
        [
            {"id": i, "name": n, "name_key": org_key(n), "sector": s, "municipalities": [m]}
            for i, (n, s, m) in enumerate(names, start=1)
        ]
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[rp.Report, Path]]:
    """The report in each language as an HTML file, the CID images given as data: URIs (as a mail client shows)."""
    from bfs_pipeline.survey import load_survey
    from tests.conftest import SURVEY_FILE

    survey = load_survey(SURVEY_FILE)
    folder = tmp_path_factory.mktemp("report")
    out = {}
    frame, actors = responses(), roster()
    for lang in ("sv", "en"):
        report = rp.build_report(survey, frame, PERIOD, lang, roster=actors)
        html = report.html
        for chart in report.charts:
            html = html.replace(f"cid:{chart.cid}", "data:image/png;base64," + base64.b64encode(chart.png).decode())
        path = folder / f"report.{lang}.html"
        path.write_text(html, encoding="utf-8")
        out[lang] = (report, path)
    return out


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("width", [375, 600])
def test_the_report_fits_the_screen_and_loads_nothing_from_outside(page_at, pages, lang, width):
    report, path = pages[lang]
    assert report.actions and report.charts and len(report.html) > 20_000  # a full report: every section there
    page = page_at(width)
    page.goto(path.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") == width
    assert page.evaluate(OVERFLOW) == []  # no text, image or table outside a scroll box runs past the edge
    card = page.evaluate("document.querySelector('h1').closest('table').getBoundingClientRect().width")
    assert card == min(600, width)  # fluid: the full width of a phone, at most 600 px
    images = page.evaluate("[...document.images].map(i => [i.naturalWidth, i.getBoundingClientRect().right])")
    assert len(images) == 2 and all(natural > 0 and right <= width for natural, right in images)
    assert page.outside_requests == []


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_data_table_has_a_caption_and_scoped_headers(page_at, pages, lang):
    _report, path = pages[lang]
    page = page_at(375)
    page.goto(path.as_uri())
    tables = page.evaluate(TABLES)
    # needs, spread, history, coverage, capacity; the law's requirements, maturity and its steps, the four sectors'
    # view of the municipalities, satisfaction with the support
    assert len(tables) == 13
    for t in tables:
        assert t["caption"] and t["th"] > 0 and t["unscoped"] == 0 and t["rowHeaders"] > 0, t
    scrolls = page.evaluate(
        "[...document.querySelectorAll('div[style*=\"overflow-x\"]')].map(d => d.clientWidth <= window.innerWidth)"
    )
    assert len(scrolls) == 13 and all(scrolls)  # each wide table scrolls inside a box no wider than the screen
    assert page.outside_requests == []


def test_outlook_gets_a_fixed_600_px_table_and_the_rest_a_fluid_one(pages):
    report, _path = pages["sv"]
    html = report.html
    assert '<!--[if mso]><table role="presentation" width="600"' in html and "<![endif]-->" in html
    assert "max-width:600px" in html and 'width="600" cellpadding' not in html.replace("<!--[if mso]><table", "")
    assert not re.search(r"(?<!max-)width:\s*600px", html)  # nothing fixed at 600 px outside the MSO comment
