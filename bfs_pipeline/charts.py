"""Charts as PNG bytes (matplotlib, Agg, bundled fonts only), each with an alt text that says what it shows.

Each chart has a `*_figure` function that returns the matplotlib Figure and its alt text (what tests inspect) and
a function that renders it to a Chart. Words through gettext; the county median follows metrics.median_waves
(no median for a wave with fewer than three municipalities shown: a gap in the dashed line).

`report_charts` draws the report's two; `drawn_beside` draws them in a second process while the caller goes on,
for a large report (importing matplotlib and drawing take about a second, the other core is idle meanwhile).
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bfs_pipeline import i18n
from bfs_pipeline.alerts import median_notes
from bfs_pipeline.metrics import county_median, shown

BLUE, GREY, RED = "#1e3a5f", "#6b7280", "#b91c1c"
GAP_FILL = "#9db4cf"
YEAR_PAD = 12  # points from the axis down to the year labels, below the quarters' labels
# Margins in inches: the y axis's label and ticks, the right edge, the quarters and years, between the panels.
LEFT, RIGHT, BOTTOM = 0.55, 0.05, 0.32
GAPS = (0.14, 0.54)  # across, down
LEGEND_AND_TITLE = 0.53  # above the small multiples: the legend's row and the first panels' titles
LEGEND_TWO_ROWS = 0.58  # above the need-and-gap chart: its legend takes two rows


@dataclass(frozen=True)
class Chart:
    cid: str
    filename: str
    png: bytes
    alt: str


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure without pyplot (no global figure manager, less to import); PNGs through Agg."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(
        {"font.family": "DejaVu Sans", "font.size": 8, "axes.spines.top": False, "axes.spines.right": False}
    )
    return Figure(figsize=(width, height))


def _panels(fig: Any, rows: int, cols: int, top: float, left: float = LEFT, **kw: Any) -> Any:
    """A grid of axes with fixed margins in inches (the labels' sizes are fixed; a layout engine would measure
    every text on every draw, a third of the drawing time). top: room for the legend (and the panels' titles)."""
    width, height = fig.get_size_inches()
    across, down = GAPS
    panel_w = (width - left - RIGHT - (cols - 1) * across) / cols
    panel_h = (height - BOTTOM - top - (rows - 1) * down) / rows
    fig.subplots_adjust(
        left=left / width,
        right=1 - RIGHT / width,
        bottom=BOTTOM / height,
        top=1 - top / height,
        wspace=across / panel_w,
        hspace=down / panel_h,
    )
    return fig.subplots(rows, cols, **kw)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})  # constrained layout fits it: no second draw
    return buf.getvalue()


def _from_to(values: pd.Series, lang: str, points: bool = False) -> str:
    """First → last of a series (NaN left out), the last with its unit: "40 → 50 %" or "11 → 61 procentenheter"."""
    v = values.dropna()
    if v.empty:
        return i18n.SUPPRESSED
    last = i18n.fmt_pp(v.iloc[-1], lang, signed=False) if points else i18n.fmt_pct(v.iloc[-1], lang)
    return f"{i18n.fmt_int(round(v.iloc[0] * 100), lang)} → {last}"


def quarter_label(wave: str, lang: str = "sv") -> str:
    """A wave's quarter as a short tick label: "K3" in Swedish, "Q3" in English."""
    _ = i18n.translator(lang)
    return _("K{q}").format(q=wave[-1])


def _wave_axis(ax: Any, waves: Sequence[str], lang: str) -> None:
    """Every wave's quarter as a tick label, and each year once, centred under its quarters on a second line."""
    x = list(range(len(waves)))
    ax.set_xticks(x, [quarter_label(w, lang) for w in waves], fontsize=7.5)
    ax.tick_params(axis="x", labelbottom=True, length=2, pad=2)
    ax.set_xlim(-0.5, len(waves) - 0.5)
    years: dict[str, list[int]] = {}
    for i, w in enumerate(waves):
        years.setdefault(w[:4], []).append(i)
    centres = [sum(ix) / len(ix) for ix in years.values()]
    # A year alone under one quarter gets its short form, so that it cannot run into the next year's label.
    labels = [y if len(ix) > 1 else f"’{y[2:]}" for y, ix in years.items()]
    from matplotlib.transforms import offset_copy

    below = offset_copy(ax.get_xaxis_transform(), fig=ax.figure, y=-YEAR_PAD, units="points")  # under the quarters
    for centre, label in zip(centres, labels, strict=True):  # text, not a second axis: a third of the drawing time
        ax.text(centre, 0, label, transform=below, ha="center", va="top", fontsize=7.5, gid="year")
    for i in range(1, len(waves)):  # a faint line where a year begins
        if waves[i][:4] != waves[i - 1][:4]:
            ax.axvline(i - 0.5, color="#e5e7eb", linewidth=0.6, zorder=0)


def _order(index: pd.DataFrame, waves: Sequence[str], county: str, order: Sequence[str] | None) -> list[str]:
    """The caller's order (codes with rows in these waves); without one, highest need index in the last wave first."""
    m = index[(index["municipality"] != county) & index["wave"].isin(waves)]
    present = set(m["municipality"].astype(str))
    if order is not None:
        return [c for c in order if c in present]
    last = shown(m, county)
    last = last[last["wave"] == waves[-1]].sort_values(["index", "municipality"], ascending=[False, True])
    first = list(dict.fromkeys(str(c) for c in last["municipality"]))
    return first + sorted(present - set(first))


def needs_trend_figure(
    index: pd.DataFrame,
    waves: list[str],
    county: str,
    names: dict[str, str],
    lang: str = "sv",
    most: int = 6,
    order: Sequence[str] | None = None,
) -> tuple[Any, str] | None:
    """Small multiples: each municipality's need index over the waves against the county median.

    Panels in `order` (municipality codes, the report's one order: need index highest first), at most `most`.
    Returns the Figure and its alt text, or None when no municipality has rows in the waves.
    """
    _ = i18n.translator(lang)
    codes = _order(index, waves, county, order)[:most]
    if not codes:
        return None
    visible = shown(index, county)
    visible = visible[visible["wave"].isin(waves)]
    median = county_median(index, county, waves)
    cols = min(2, len(codes))  # two columns: still readable when a phone shrinks the image to 375 px
    rows = (len(codes) + cols - 1) // cols
    fig = _figure(5.3, 0.5 + 1.75 * rows)
    axes = _panels(fig, rows, cols, LEGEND_AND_TITLE, sharey=True, squeeze=False)
    x = list(range(len(waves)))
    described, hidden_now = [], []
    for ax, code in zip(axes.flat, codes, strict=False):
        own = visible[visible["municipality"] == code].set_index("wave")["index"].reindex(waves)
        ax.plot(x, median.to_numpy() * 100, color=GREY, linestyle="--", linewidth=1, marker="o", markersize=1.6)
        ax.plot(x, own.to_numpy() * 100, color=BLUE, linewidth=1.8, marker="o", markersize=2.5)
        name = names.get(code, code)
        ax.set_title(name, fontsize=9, loc="left", fontweight="bold")
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.grid(axis="y", color="#e5e7eb", linewidth=0.5)
        ax.set_axisbelow(True)
        _wave_axis(ax, waves, lang)
        values = own.dropna()
        if values.empty:
            ax.text(
                0.5,
                0.5,
                _("För få svar att visa"),
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=7,
                color=GREY,
            )
        if pd.isna(own.iloc[-1]):  # described by name only: a number from an earlier wave would read as now
            hidden_now.append(name)
        else:
            described.append(f"{name} {_from_to(values, lang)}")
    for ax in list(axes.flat)[len(codes) :]:
        ax.set_visible(False)
    fig.supylabel(_("Andel behovssvar 4–5 (%)"), fontsize=8)
    from matplotlib.lines import Line2D

    fig.legend(
        handles=[
            Line2D([], [], color=BLUE, linewidth=1.8, marker="o", markersize=2.5, label=_("Kommunen")),
            Line2D([], [], color=GREY, linestyle="--", linewidth=1, label=_("Länets median")),
        ],
        loc="outside upper left",
        ncols=2,
        frameon=False,
        fontsize=8.5,
    )
    alt = _(
        "Linjediagram per kommun: andel behovssvar 4–5 från {first} till {last} (heldragen linje) mot länets "
        "median (streckad, {median})."
    ).format(first=waves[0], last=waves[-1], median=_from_to(median, lang))
    if described:
        alt += " " + "; ".join(described) + "."
    if hidden_now:
        alt += " " + _("För få svar för {wave}: {names}.").format(wave=waves[-1], names=i18n.fmt_list(hidden_now, lang))
    notes = median_notes(index, county, waves, lang)
    if notes:
        alt += " " + " ".join(notes)
    return fig, alt


def small_multiples(
    index: pd.DataFrame,
    waves: list[str],
    county: str,
    names: dict[str, str],
    lang: str = "sv",
    most: int = 6,
    order: Sequence[str] | None = None,
) -> Chart | None:
    """The need index per municipality against the county median, as a PNG (needs_trend_figure)."""
    made = needs_trend_figure(index, waves, county, names, lang, most, order)
    if made is None:
        return None
    fig, alt = made
    return Chart("needs-trend@bfs", "behov-per-kommun.png", _png(fig), alt)


def need_and_gap_figure(index: pd.DataFrame, waves: list[str], county: str, lang: str = "sv") -> tuple[Any, str] | None:
    """The greatest need (the municipality's need index highest that wave), the county median and the gap."""
    _ = i18n.translator(lang)
    m = shown(index, county)
    m = m[m["wave"].isin(waves)]
    if m.empty:
        return None
    g = m.groupby("wave")["index"]
    worst, gap = g.max().reindex(waves), (g.max() - g.min()).reindex(waves)
    median = county_median(index, county, waves)
    fig = _figure(5.3, 2.8)
    ax = _panels(fig, 1, 1, LEGEND_TWO_ROWS, left=LEFT - 0.03)
    x = list(range(len(waves)))
    ax.bar(x, gap.to_numpy() * 100, color=GAP_FILL, width=0.6, label=_("Skillnad störst–minst behov (procentenheter)"))
    ax.plot(
        x,
        worst.to_numpy() * 100,
        color=RED,
        linewidth=1.8,
        marker="o",
        markersize=2.5,
        label=_("Störst behov"),
    )
    ax.plot(
        x,
        median.to_numpy() * 100,
        color=GREY,
        linestyle="--",
        linewidth=1,
        marker="o",
        markersize=1.6,
        label=_("Länets median"),
    )
    _wave_axis(ax, waves, lang)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.set_ylabel(_("Andel behovssvar 4–5 (%)"), fontsize=8)
    fig.legend(loc="outside upper left", ncols=2, frameon=False, fontsize=8.5)  # the lines first, then the bars
    alt = _(
        "Diagram {first}–{last}: störst behov (den kommun som har högst andel det kvartalet) {worst}, länets median "
        "{median}, skillnaden mellan störst och minst behov {gap}."
    ).format(
        first=waves[0],
        last=waves[-1],
        worst=_from_to(worst, lang),
        median=_from_to(median, lang),
        gap=_from_to(gap, lang, points=True),
    )
    return fig, alt


def floor_and_gap(index: pd.DataFrame, waves: list[str], county: str, lang: str = "sv") -> Chart | None:
    """The greatest need, the county median and the gap over the waves, as a PNG (need_and_gap_figure).

    The name is kept for callers; for needs the chart says "störst behov", not floor.
    """
    made = need_and_gap_figure(index, waves, county, lang)
    if made is None:
        return None
    fig, alt = made
    return Chart("need-gap@bfs", "storst-behov-och-spridning.png", _png(fig), alt)


def report_charts(
    index: pd.DataFrame,
    waves: list[str],
    county: str,
    names: dict[str, str],
    lang: str,
    order: Sequence[str],
) -> list[Chart]:
    """The report's charts: the need index per municipality (in the report's order) and the greatest need and gap;
    those that have something to show."""
    made = (small_multiples(index, waves, county, names, lang, order=order), floor_and_gap(index, waves, county, lang))
    return [c for c in made if c is not None]


@contextmanager
def drawn_beside(
    index: pd.DataFrame,
    waves: list[str],
    county: str,
    names: dict[str, str],
    lang: str,
    order: Sequence[str],
    beside: bool,
) -> Iterator[Callable[[], list[Chart]]]:
    """report_charts, to be collected by calling what this yields. With `beside`, drawn in a second process (spawned:
    no fork of a process that may run threads) while the caller builds the rest; where no process can be started
    or it dies, drawn here instead. An error in the drawing itself is raised as it would be here."""
    args = (index, waves, county, names, lang, list(order))
    if not beside:
        yield lambda: report_charts(*args)
        return
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        future = pool.submit(report_charts, *args)
    except (OSError, RuntimeError):  # no second process here (limits, a sandbox): draw them here
        yield lambda: report_charts(*args)
        return

    def collect() -> list[Chart]:
        try:
            return future.result()
        except (BrokenProcessPool, OSError):  # the process died (memory, a signal): draw them here
            return report_charts(*args)

    try:
        yield collect
    finally:  # the process ends on its own (its exit, pandas and matplotlib unloading, takes a while): no waiting
        pool.shutdown(wait=False, cancel_futures=True)
