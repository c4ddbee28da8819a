"""Metrics are pure: small hand-made frames with results worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bfs_pipeline import metrics


def frame(rows: list[tuple[str, list[str], dict[str, str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": i,
                "sector": "kommun",
                "wave": w,
                "organisation": f"o{i}",
                "submitted_at": None,
                "answers": {"C01": m, **a},
            }
            for i, (w, m, a) in enumerate(rows)
        ]
    )


def test_share_mean_n_and_suppression():
    rows = [("2026-Q1", ["1080"], {"B01": v}) for v in ("5", "4", "2", "1", "9", "4")]  # 9 = don't know: not scored
    rows += [("2026-Q1", ["1081"], {"B01": "5"})] * 3
    t = metrics.need_table(frame(rows), ["B01"], "C01", "10")
    k = t[(t.municipality == "1080")].iloc[0]
    assert (k.n, k.share_high, k["mean"], k.suppressed) == (5, 0.6, 3.2, False)
    r = t[(t.municipality == "1081")].iloc[0]
    assert r.n == 3 and r.suppressed and math.isnan(r.share_high) and math.isnan(r["mean"])
    county = t[t.municipality == "10"].iloc[0]
    assert county.n == 8 and county.share_high == 6 / 8


def test_several_municipalities_count_for_each_and_county_once():
    rows = [("2026-Q1", ["1080", "1081"], {"B01": "5"})] * 5 + [("2026-Q1", ["10"], {"B01": "1"})] * 5
    t = metrics.need_table(frame(rows), ["B01"], "C01", "10")
    assert dict(zip(t.municipality, t.n, strict=True)) == {"1080": 5, "1081": 5, "10": 10}


def test_floor_median_max_gap_and_change():
    rows = []
    for wave, shares in (
        ("2026-Q1", {"1080": 5, "1081": 3, "1082": 1}),
        ("2026-Q2", {"1080": 5, "1081": 1, "1082": 0}),
    ):
        for m, high in shares.items():
            rows += [(wave, [m], {"B01": "5"})] * high + [(wave, [m], {"B01": "1"})] * (5 - high)
    t = metrics.need_table(frame(rows), ["B01"], "C01", "10")
    s = metrics.with_change(metrics.county_spread(t, "10"), ["item"], "gap")
    q2 = s[s.wave == "2026-Q2"].iloc[0]
    assert (q2.floor, q2.floor_municipality, q2["median"], q2["max"], q2.max_municipality, q2.gap) == (
        0.0,
        "1082",
        0.2,
        1.0,
        "1080",
        1.0,
    )
    assert math.isclose(q2.gap_change, 0.2)
    q1 = s[s.wave == "2026-Q1"].iloc[0]
    assert math.isnan(q1.gap_change)


def test_suppressed_municipality_not_the_floor():
    rows = [("2026-Q1", ["1080"], {"B01": "5"})] * 5 + [("2026-Q1", ["1081"], {"B01": "1"})] * 2
    t = metrics.need_table(frame(rows), ["B01"], "C01", "10")
    s = metrics.county_spread(t, "10")
    assert list(s.floor_municipality) == ["1080"]


def test_waves():
    assert metrics.prev_wave("2026-Q1") == "2025-Q4"
    assert metrics.prev_wave("2026-Q3", 4) == "2025-Q3"
    assert metrics.wave_range("2026-Q3", 3) == ["2026-Q1", "2026-Q2", "2026-Q3"]


def test_coverage_counts_and_suppression():
    rows = [("2026-Q1", ["1080"], {})] * 6 + [("2026-Q1", ["1081"], {})] * 2 + [("2025-Q4", ["1081"], {})] * 9
    c = metrics.coverage(frame(rows), "C01", "10", "2026-Q1")
    assert dict(zip(c.municipality, zip(c.n, c.suppressed, strict=True), strict=True)) == {
        "1080": (6, False),
        "1081": (2, True),
    }


def test_a_response_counts_once_in_each_municipality_it_names():
    """Named twice: once there; the whole county (its code) and no answer: in no municipality."""
    rows = [
        ("2026-Q1", ["1080", "1081", "1080"], {"B01": "5"}),
        ("2026-Q1", ["10"], {"B01": "4"}),
        ("2026-Q1", [], {"B01": "3"}),
    ]
    per_m = metrics.explode_municipalities(frame(rows), "C01", "10")
    assert list(zip(per_m["id"], per_m["municipality"], strict=True)) == [(0, "1080"), (0, "1081")]


def index_rows(wave: str, shares: dict[str, float | None]) -> list[dict[str, object]]:
    """Need index rows; None: suppressed (fewer than MIN_N respondents)."""
    return [
        {
            "municipality": m,
            "wave": wave,
            "n": 3 if s is None else 8,
            "answers": 27 if s is None else 72,
            "index": math.nan if s is None else s,
            "suppressed": s is None,
        }
        for m, s in shares.items()
    ]


def test_county_median_only_from_three_municipalities_shown():
    index = pd.DataFrame(
        index_rows("2026-Q1", {"1080": 0.2, "1081": 0.4, "1082": None, "10": 0.9})  # two shown, the county aside
        + index_rows("2026-Q2", {"1080": 0.2, "1081": 0.4, "1082": 0.3, "10": 0.9})  # three shown
        + index_rows("2026-Q3", {"1080": None, "1081": None})  # none shown
    )
    waves = ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert metrics.median_waves(index, "10", waves) == {
        "2025-Q4": metrics.NoMedian.NO_MUNICIPALITIES,
        "2026-Q1": metrics.NoMedian.TOO_FEW_MUNICIPALITIES,
        "2026-Q2": None,
        "2026-Q3": metrics.NoMedian.NO_MUNICIPALITIES,
    }
    median = metrics.county_median(index, "10", waves)
    assert list(median.index) == waves and math.isclose(median["2026-Q2"], 0.3)
    assert all(math.isnan(median[w]) for w in ("2025-Q4", "2026-Q1", "2026-Q3"))


def test_spread_has_no_median_of_two_municipalities():
    rows = []
    for wave, shares in (("2026-Q1", {"1080": 5, "1081": 1}), ("2026-Q2", {"1080": 5, "1081": 1, "1082": 2})):
        for m, high in shares.items():
            rows += [(wave, [m], {"B01": "5"})] * high + [(wave, [m], {"B01": "1"})] * (5 - high)
    s = metrics.county_spread(metrics.need_table(frame(rows), ["B01"], "C01", "10"), "10").set_index("wave")
    assert s.loc["2026-Q1", "municipalities"] == 2 and math.isnan(s.loc["2026-Q1", "median"])
    assert s.loc["2026-Q1", "gap"] == 0.8  # floor, maximum and gap stay: they name municipalities, not the county
    assert s.loc["2026-Q2", "municipalities"] == 3 and math.isclose(s.loc["2026-Q2", "median"], 0.4)


def test_item_values_of_items_nobody_answered_are_all_missing() -> None:
    from bfs_pipeline.metrics import item_values

    frame = pd.DataFrame({"answers": [{"B01": "4"}, {"C01": ["1080"]}, {}]})
    vals = item_values(frame, ["K12a", "K12b"], (1, 5))
    assert vals.shape == (3, 2) and vals.isna().all().all()
    assert item_values(frame, ["B01"], (1, 5))["B01"].tolist()[0] == 4.0


def test_the_index_pools_only_the_cells_shown_so_no_hidden_cell_can_be_worked_out() -> None:
    # 1080: six respondents; B02 has four scored answers (two say "vet ej") and is hidden; B01 is shown.
    rows = [("2026-Q3", ["1080"], {"B01": b1, "B02": b2}) for b1, b2 in zip("554421", "552199", strict=True)]
    rows += [("2026-Q3", ["1081"], {"B01": b1, "B02": b2}) for b1, b2 in zip("1122334", "1234512", strict=True)]
    rows += [("2026-Q3", ["1082"], {"B01": b1, "B02": b2}) for b1, b2 in zip("5544332211", "5432154321", strict=True)]
    items = ["B01", "B02"]
    responses = metrics.with_scores(frame(rows), items)
    table = metrics.secondary_suppress(metrics.need_table(responses, items, "C01", "10"), "10")
    cells = table.set_index(["municipality", "item"])
    assert cells.loc[("1080", "B02"), "suppressed"] and cells.loc[("1081", "B02"), "suppressed"]  # primary, secondary
    pooled = metrics.need_index(responses, items, "C01", "10")
    out = metrics.index_over_shown_cells(pooled, table).set_index("municipality")

    # 1080 over B01 alone: 4 of 6 answered 4-5. Pooled over every answer it was 6 of 10, which less B01's shown
    # 4 of 6 gives the hidden B02 away: 2 of 4.
    assert pooled.set_index("municipality").loc["1080", "index"] == 6 / 10
    assert (out.loc["1080", "answers"], out.loc["1080", "index"], out.loc["1080", "n"]) == (6, 4 / 6, 6)
    assert out.loc["1082", "index"] == (4 + 4) / 20  # every cell shown: as pooled
    # The county's cells are shown: its index pools them all.
    assert out.loc["10", "index"] == pooled.set_index("municipality").loc["10", "index"]

    # A municipality with every cell hidden has no index; one under five respondents stays hidden.
    hidden = table.assign(suppressed=table["suppressed"] | (table["municipality"] == "1082"))
    gone = metrics.index_over_shown_cells(pooled, hidden).set_index("municipality")
    assert gone.loc["1082", "suppressed"] and pd.isna(gone.loc["1082", "index"])

    # Control: no cell hidden (the threshold at one), and the index is need_index's for every municipality.
    every = metrics.need_table(responses, items, "C01", "10", min_n=1)
    shown = metrics.index_over_shown_cells(pooled, every)
    assert shown["index"].tolist() == pytest.approx(pooled["index"].tolist())
    assert shown["answers"].tolist() == pooled["answers"].tolist()


def test_the_county_total_never_gives_away_a_group_under_five() -> None:
    from bfs_pipeline.metrics import secondary_suppress

    def table(county_n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "municipality": ["1060", "1080", "1081", "10"],
                "wave": ["2026-Q3"] * 4,
                "item": ["B01"] * 4,
                "n": [6, 20, 9, county_n],
                "share_high": [0.5, 0.2, 0.3, 0.3],
                "mean": [3.0, 2.0, 2.5, 2.5],
                "suppressed": [False, False, False, False],
            }
        )

    # two answered for the whole county only: 37 - 35 = 2 would be given away; the county's cell hides, every
    # municipality stays in view
    two = secondary_suppress(table(37), "10").set_index("municipality")
    assert two.loc["10", "suppressed"] and pd.isna(two.loc["10", "share_high"])
    assert not two.loc[["1060", "1080", "1081"], "suppressed"].any()
    # two municipalities hidden with 2 + 2: the smallest shown one (1081) hides as well, the county stays
    small = table(33).assign(n=[2, 20, 9, 33], suppressed=[True, False, False, False])
    small.loc[len(small)] = ["1082", "2026-Q3", "B01", 2, np.nan, np.nan, True]
    out = secondary_suppress(small, "10").set_index("municipality")
    assert out.loc["1081", "suppressed"] and not out.loc["1080", "suppressed"] and not out.loc["10", "suppressed"]
    for county_n in (35, 41):  # none, or six: nothing to hide
        assert not secondary_suppress(table(county_n), "10")["suppressed"].any()
    one_hidden = table(35).assign(suppressed=[True, False, False, False])  # the old rule still holds
    assert secondary_suppress(one_hidden, "10").set_index("municipality").loc["1081", "suppressed"]


def test_a_few_answers_for_the_whole_county_only_are_left_out_of_the_county_figures() -> None:
    from bfs_pipeline.metrics import need_index, need_table

    def frame(county_only: int) -> pd.DataFrame:
        rows = [{"wave": "2026-Q3", "answers": {"C01": ["1080"], "B01": "2"}} for _ in range(6)]
        rows += [{"wave": "2026-Q3", "answers": {"C01": ["10"], "B01": "5"}} for _ in range(county_only)]
        return pd.DataFrame(rows)

    for county_only, n, share in ((2, 6, 0.0), (5, 11, 5 / 11)):
        table = need_table(frame(county_only), ["B01"], "C01", "10").set_index("municipality")
        assert (table.loc["10", "n"], table.loc["10", "share_high"]) == (n, pytest.approx(share))
        index = need_index(frame(county_only), ["B01"], "C01", "10").set_index("municipality")
        assert index.loc["10", "n"] == n and index.loc["1080", "n"] == 6
