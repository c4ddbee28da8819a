"""Each municipality's own report at national scale (issue 14): 290 municipality reports for one quarter.

The data is bench.py's report step's: the whole country as one county (290 municipalities), 40 waves of 5 000
kommun responses each (200 000 responses), plus a roster of 4 organisations per municipality, each with an
opted-in contact, and three good examples. The county's figures are computed once (report.report_data and
municipal.county_view); then every municipality's report is rendered (HTML, text, XLSX). Target: all 290 in
<= 60 s, each HTML <= 100 KB.

    .venv/bin/python benchmarks/municipal_bench.py [--waves 40] [--per-wave 5000]

Prints the figures and, as its last line, one JSON object with them. `step_municipal` is what `make bench` calls.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

TARGETS = {"all_s": 60.0, "html_kb": 100.0}


def national_data(waves: int, per_wave: int, seed: int = 3) -> tuple[Any, Any, Any, str]:
    """The survey, the responses frame and a roster for the whole country as one county; the last wave's name."""
    import pandas as pd

    from bfs_pipeline import metrics, reference
    from bfs_pipeline.resources import default_surveys_dir
    from bfs_pipeline.survey import load_survey

    survey = load_survey(default_surveys_dir() / "blekinge-behov.yaml")
    everyone = sorted(reference.municipalities().values(), key=lambda m: m.code)
    reference.county_municipalities = lambda code: everyone  # type: ignore[assignment]  # the country as one county
    rng = random.Random(seed)
    codes = [m.code for m in everyone]
    last = "2026-Q3"
    rows: list[dict[str, Any]] = []
    for w in metrics.wave_range(last, waves):
        for i in range(per_wave):
            need = {f"B0{k}": str(rng.choice((1, 2, 3, 3, 4, 5, 9))) for k in range(1, 10)}
            law = {q: str(rng.choice((1, 2, 3, 0))) for q in ("K01", "K02", "K03")} if w.endswith("Q1") else {}
            code = rng.choice(codes)
            rows.append(
                {
                    "id": len(rows),
                    "sector": "kommun",
                    "wave": w,
                    "organisation": f"Org {code} {i % 4}",
                    "submitted_at": pd.Timestamp("2026-01-01", tz="UTC"),
                    "answers": {"C01": [code], "ORG": f"Org {code} {i % 4}", **need, **law, "K04": 1.0},
                    "content_hash": f"{len(rows):064x}",
                }
            )
    roster = pd.DataFrame(
        [
            {
                "id": n * 4 + k,
                "county": survey.county,
                "name": f"Org {m.code} {k}",
                "name_key": f"org {m.code} {k}",
                "sector": "kommun",
                "municipalities": [m.code],
                "contact_email": f"kontakt{k}@{m.code}.example.se",
                "lang": "sv",
                "active": True,
                "report": True,
            }
            for n, m in enumerate(everyone)
            for k in range(4)
        ]
    )
    return survey, pd.DataFrame(rows), roster, last


def step_municipal(waves: int = 40, per_wave: int = 5_000) -> dict[str, Any]:
    """290 municipality reports for one quarter from one county view: seconds, the largest HTML and XLSX."""
    from bfs_pipeline import municipal
    from bfs_pipeline import report as rp

    survey, frame, roster, last = national_data(waves, per_wave)
    examples = [
        municipal.GoodExample(f"Exempel {i}", "Så gjorde vi: " + "text " * 60, "samordnare@lst.example.se")
        for i in range(3)
    ]
    t0 = time.perf_counter()
    data = rp.report_data(survey, frame, last, roster=roster)
    view = municipal.county_view(data, examples)
    county_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    html, xlsx = [], []
    for m in data.munis:
        rep = municipal.build_municipal(view, m.code)
        html.append(len(rep.html.encode()))
        xlsx.append(len(rep.xlsx))
    render_s = time.perf_counter() - t1
    return {
        "municipalities": len(data.munis),
        "responses": len(frame),
        "county_s": round(county_s, 2),
        "render_s": round(render_s, 2),
        "all_s": round(county_s + render_s, 2),
        "per_report_ms": round(render_s / len(data.munis) * 1000, 1),
        "html_kb_max": round(max(html) / 1024, 1),
        "html_kb_mean": round(sum(html) / len(html) / 1024, 1),
        "xlsx_kb_max": round(max(xlsx) / 1024, 1),
        "target_all_s": TARGETS["all_s"],
        "target_html_kb": TARGETS["html_kb"],
        "ok": county_s + render_s <= TARGETS["all_s"] and max(html) / 1024 <= TARGETS["html_kb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waves", type=int, default=40, help="waves of answers (default 40)")
    ap.add_argument("--per-wave", type=int, default=5_000, help="responses per wave (default 5 000)")
    args = ap.parse_args()
    f = step_municipal(args.waves, args.per_wave)
    print(f"municipality reports: {f['municipalities']} from {f['responses']} responses")
    print(f"  county figures once: {f['county_s']:.2f} s")
    print(f"  {f['municipalities']} reports rendered: {f['render_s']:.2f} s ({f['per_report_ms']} ms each)")
    print(f"  all: {f['all_s']:.2f} s (target <= {f['target_all_s']:.0f} s)")
    target = f"target <= {f['target_html_kb']:.0f} KB"
    print(f"  HTML: largest {f['html_kb_max']} KB, mean {f['html_kb_mean']} KB ({target})")
    print(f"  XLSX: largest {f['xlsx_kb_max']} KB")
    print(json.dumps({"municipal": f}))


if __name__ == "__main__":
    main()
