"""Charts as PNG bytes (matplotlib, Agg, bundled fonts only), each with an alt text that says what it shows."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd

BLUE, GREY, RED = "#1e3a5f", "#9ca3af", "#b91c1c"


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


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def small_multiples(
    index: pd.DataFrame, waves: list[str], county: str, names: dict[str, str], lang: str = "sv", most: int = 6
) -> Chart | None:
    """Each municipality's need index over the waves against the county median.

    At most `most` panels: the municipalities with the highest needs.
    """
    m = index[(index["municipality"] != county) & index["wave"].isin(waves)]
    if m.empty:
        return None
    median = m.groupby("wave")["index"].median().reindex(waves)
    last = m[m["wave"] == waves[-1]].dropna(subset=["index"]).sort_values("index", ascending=False)
    codes = list(last["municipality"][:most]) or sorted(m["municipality"].unique())[:most]
    cols = min(3, len(codes))
    rows = (len(codes) + cols - 1) // cols
    fig = _figure(5.4, 1.7 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    x = list(range(len(waves)))
    described = []
    for ax, code in zip(axes.flat, codes, strict=False):
        own = m[m["municipality"] == code].set_index("wave")["index"].reindex(waves)
        ax.plot(x, median.values * 100, color=GREY, linestyle="--", linewidth=1)
        ax.plot(x, own.values * 100, color=BLUE, linewidth=1.8, marker="o", markersize=2.5)
        ax.set_title(names.get(code, code), fontsize=8, loc="left")
        ax.set_ylim(0, 100)
        ax.set_xticks([x[0], x[-1]], [waves[0][2:], waves[-1][2:]])
        first, latest = own.dropna().head(1), own.dropna().tail(1)
        if not first.empty and not latest.empty:
            described.append(f"{names.get(code, code)} {round(first.iloc[0] * 100)} → {round(latest.iloc[0] * 100)} %")
    for ax in list(axes.flat)[len(codes) :]:
        ax.set_visible(False)
    for i, ax in enumerate(list(axes.flat)[: len(codes)]):
        if i + cols >= len(codes):  # no panel below: this one shows the waves itself
            ax.tick_params(labelbottom=True)
    fig.supylabel("% 4–5", fontsize=8)
    med_first, med_last = median.dropna().head(1), median.dropna().tail(1)
    med = (
        f"{round(med_first.iloc[0] * 100)} → {round(med_last.iloc[0] * 100)} %"
        if not med_first.empty and not med_last.empty
        else "–"
    )
    if lang == "sv":
        alt = (
            f"Linjediagram per kommun: andel behovssvar 4–5 från {waves[0]} till {waves[-1]} (heldragen linje) "
            f"mot länets median (streckad, {med}). " + "; ".join(described) + "."
        )
    else:
        alt = (
            f"Line chart per municipality: share of need answers 4–5 from {waves[0]} to {waves[-1]} (solid) "
            f"against the county median (dashed, {med}). " + "; ".join(described) + "."
        )
    return Chart("needs-trend@bfs", "behov-per-kommun.png", _png(fig), alt)


def floor_and_gap(index: pd.DataFrame, waves: list[str], county: str, lang: str = "sv") -> Chart | None:
    """The worst-off municipality's need index (the floor), the median and the gap over the waves."""
    m = index[(index["municipality"] != county) & index["wave"].isin(waves) & ~index["suppressed"].astype(bool)].dropna(
        subset=["index"]
    )
    if m.empty:
        return None
    g = m.groupby("wave")["index"]
    worst, median, gap = g.max().reindex(waves), g.median().reindex(waves), (g.max() - g.min()).reindex(waves)
    fig = _figure(5.4, 2.2)
    ax = fig.subplots()
    x = list(range(len(waves)))
    sv = lang == "sv"
    ax.plot(
        x,
        worst.values * 100,
        color=RED,
        linewidth=1.8,
        marker="o",
        markersize=2.5,
        label="Golv (störst behov)" if sv else "Floor (greatest need)",
    )
    ax.plot(x, median.values * 100, color=GREY, linestyle="--", linewidth=1, label="Median")
    ax.bar(x, gap.values * 100, color=BLUE, alpha=0.25, label="Spridning" if sv else "Gap")
    ax.set_xticks(x, waves, rotation=45, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.legend(frameon=False, fontsize=7, loc="upper left")

    def fmt(s: pd.Series) -> str:
        v = s.dropna()
        return f"{round(v.iloc[0] * 100)} → {round(v.iloc[-1] * 100)} %" if not v.empty else "–"

    if sv:
        alt = (
            f"Diagram {waves[0]}–{waves[-1]}: golvet (kommunen med störst behov) {fmt(worst)}, medianen {fmt(median)}, "
            f"spridningen mellan kommunerna {fmt(gap)}."
        )
    else:
        alt = (
            f"Chart {waves[0]}–{waves[-1]}: the floor (municipality with the greatest need) {fmt(worst)}, "
            f"the median {fmt(median)}, the gap between municipalities {fmt(gap)}."
        )
    return Chart("floor-gap@bfs", "golv-och-spridning.png", _png(fig), alt)
