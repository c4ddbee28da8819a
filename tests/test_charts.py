"""The charts as a reader sees them: a legend, every wave labelled without overlap, one municipality order, and no
county median where fewer than three municipalities are shown. The matplotlib Figure is inspected before the PNG."""

from __future__ import annotations

import math
import struct
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bfs_pipeline import charts, metrics

COUNTY = "10"
NAMES = {"1060": "Olofström", "1080": "Karlskrona", "1081": "Ronneby", "1082": "Karlshamn", "1083": "Sölvesborg"}
WAVES = metrics.wave_range("2026-Q3", 8)  # 2024-Q4 … 2026-Q3: a year alone under one quarter, then two whole years


def index_of(shares: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """Need index rows per wave and municipality; None: suppressed."""
    return pd.DataFrame(
        [
            {
                "municipality": m,
                "wave": w,
                "n": 3 if s is None else 9,
                "answers": 81,
                "index": math.nan if s is None else s,
                "suppressed": s is None,
            }
            for w, per in shares.items()
            for m, s in per.items()
        ]
    )


def demo_index(two_shown: str = "2025-Q3") -> pd.DataFrame:
    """Five municipalities over eight waves; in `two_shown` only Olofström and Karlskrona have enough answers."""
    shares: dict[str, dict[str, float | None]] = {}
    for i, w in enumerate(WAVES):
        shares[w] = {"1060": 0.3 + 0.05 * i, "1080": 0.2, "1081": 0.25, "1082": 0.22, "1083": 0.3, COUNTY: 0.25}
        if w == two_shown:
            shares[w] |= {"1081": None, "1082": None, "1083": None}
    return index_of(shares)


def drawn(fig: Any) -> Any:
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return renderer


def overlapping(boxes: list[Any]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def test_trend_has_a_legend_for_the_municipality_and_the_dashed_county_median() -> None:
    fig, _alt = charts.needs_trend_figure(demo_index(), WAVES, COUNTY, NAMES)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["Kommunen", "Länets median"]
    solid, dashed = legend.legend_handles
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    drawn(fig)
    assert legend.get_visible() and legend.get_window_extent().width > 0


def test_panels_follow_the_callers_order_and_a_hidden_municipality_keeps_its_place() -> None:
    index = demo_index()
    index.loc[index["municipality"] == "1082", ["index", "suppressed"]] = [math.nan, True]
    order = ["1082", "1060", "1081", "1080", "1083"]
    fig, alt = charts.needs_trend_figure(index, WAVES, COUNTY, NAMES, order=order)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == [NAMES[c] for c in order]
    assert "För få svar att visa" in [t.get_text() for t in panels[0].texts]
    assert "Karlshamn" not in alt.split("För få svar")[0] and "För få svar för 2026-Q3: Karlshamn." in alt


def test_a_municipality_hidden_in_the_last_wave_is_named_without_an_earlier_number_as_if_now() -> None:
    index = demo_index()
    index.loc[(index["municipality"] == "1083") & (index["wave"] == "2026-Q3"), ["index", "suppressed"]] = [
        math.nan,
        True,
    ]
    _fig, alt = charts.needs_trend_figure(index, WAVES, COUNTY, NAMES)
    assert "Sölvesborg" not in alt.split("För få svar")[0] and "För få svar för 2026-Q3: Sölvesborg." in alt
    assert "Karlskrona 20 → 20\u00a0%" in alt


def test_every_panel_labels_every_wave_and_no_labels_overlap() -> None:
    fig, _alt = charts.needs_trend_figure(demo_index(), WAVES, COUNTY, NAMES)
    renderer = drawn(fig)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")]
    assert len(panels) == 5
    boxes = []
    for ax in panels:
        quarters = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert [t.get_text() for t in quarters] == ["K4", "K1", "K2", "K3", "K4", "K1", "K2", "K3"]
        years = [t for t in ax.texts if t.get_gid() == "year"]  # centred under their quarters
        assert [t.get_text() for t in years] == ["’24", "2025", "2026"]
        boxes += [t.get_window_extent(renderer) for t in quarters + years]
    assert overlapping(boxes) == []


def test_english_quarters_are_q() -> None:
    assert [charts.quarter_label(w, "en") for w in ("2025-Q1", "2025-Q4")] == ["Q1", "Q4"]
    assert charts.quarter_label("2025-Q2") == "K2"


def test_no_county_median_for_a_wave_with_two_municipalities_shown_and_one_with_three() -> None:
    two = WAVES.index("2025-Q3")
    fig, alt = charts.needs_trend_figure(demo_index("2025-Q3"), WAVES, COUNTY, NAMES)
    median = next(line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--")
    ys = list(median.get_ydata())
    assert math.isnan(ys[two]) and sum(math.isnan(y) for y in ys) == 1  # a gap in the dashed line there only
    assert "Ingen länsmedian för 2025-Q3: färre än tre kommuner med tillräckligt många svar." in alt

    three = demo_index("2025-Q3")
    three.loc[(three["wave"] == "2025-Q3") & (three["municipality"] == "1081"), ["index", "suppressed"]] = [0.4, False]
    fig, alt = charts.needs_trend_figure(three, WAVES, COUNTY, NAMES)
    median = next(line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--")
    assert not any(math.isnan(y) for y in median.get_ydata()) and "länsmedian" not in alt
    assert math.isclose(median.get_ydata()[two], 40.0)  # 0.2, 0.4 and 0.45: the median of three


def test_need_and_gap_chart_says_greatest_need_never_floor() -> None:
    fig, alt = charts.need_and_gap_figure(demo_index(), WAVES, COUNTY)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["Störst behov", "Länets median", "Skillnad störst–minst behov (procentenheter)"]
    assert "golv" not in (alt + " ".join(labels)).lower()
    assert "procentenheter" in alt.split("skillnaden")[1]  # the gap in points, not percent


def test_pngs_fit_the_600_px_mail() -> None:
    for chart in (
        charts.small_multiples(demo_index(), WAVES, COUNTY, NAMES, order=list(NAMES)),
        charts.floor_and_gap(demo_index(), WAVES, COUNTY),
    ):
        assert chart is not None and chart.png.startswith(b"\x89PNG")
        width, _height = struct.unpack(">II", chart.png[16:24])
        assert width <= 600


def test_charts_drawn_in_a_second_process_are_the_ones_drawn_here() -> None:
    args = (demo_index(), WAVES, COUNTY, NAMES, "sv", list(NAMES))
    with charts.drawn_beside(*args, beside=True) as drawn:
        beside = drawn()
    here = charts.report_charts(*args)
    assert [c.cid for c in here] == ["needs-trend@bfs", "need-gap@bfs"]
    assert [(c.cid, c.filename, c.alt, c.png) for c in beside] == [(c.cid, c.filename, c.alt, c.png) for c in here]


def test_charts_are_drawn_here_where_no_second_process_can_start(monkeypatch: Any) -> None:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise OSError("no more processes")

    monkeypatch.setattr(charts, "ProcessPoolExecutor", refuse)
    with charts.drawn_beside(demo_index(), WAVES, COUNTY, NAMES, "sv", list(NAMES), beside=True) as drawn:
        got = drawn()
    assert [c.cid for c in got] == ["needs-trend@bfs", "need-gap@bfs"]
    assert all(c.png.startswith(b"\x89PNG") for c in got)
