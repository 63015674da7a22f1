"""SPC rules (docs/spc.md), checked against hand-made series.

Every expected flag, point type and limit below was worked out by hand from the rules; the
comments show the arithmetic. Position numbers are 1-based, as an analyst counts points on a chart.
Limits: UPL/LPL = mean ± 2.66·MR̄, 2σ lines = mean ± 1.7733·MR̄ (2/3 · 2.66).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from pipelines.spc import SpcSettings, compute_spc
from pipelines.spc_series import compute_spc_groups, summarise_series

RULES = ("astronomical", "shift", "trend", "two_of_three")
TYPE_CODES = {".": "common_cause", "I": "improvement", "C": "concern", "N": "neutral"}
INCREASE, DECREASE, NEUTRAL = SpcSettings("increase"), SpcSettings("decrease"), SpcSettings("neutral")
# Baseline [11, 9, 11, 9, …] frozen: mean 10, MR̄ 2 → UPL 15.32, LPL 4.68, 2σ 13.5467 / 6.4533.
ZIGZAG_4 = [11, 9, 11, 9]
ZIGZAG_6 = [11, 9, 11, 9, 11, 9]


def span(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


def series(values: list[float], rebase_at: tuple[int, ...] = (), **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"period": range(1, len(values) + 1), "value": [float(v) for v in values]})
    if rebase_at:
        frame["rebase"] = [position in rebase_at for position in frame["period"]]
    for name, column in columns.items():
        frame[name] = column
    return frame


def flagged(out: pd.DataFrame, column: str) -> list[int]:
    return [int(p) for p in np.flatnonzero(out[column].to_numpy()) + 1]


@dataclass(frozen=True)
class Case:
    values: list[float]
    settings: SpcSettings
    types: str  # one code per point (spaces ignored): . common cause, I improvement, C concern, N neutral
    last_icon: str
    flags: dict[str, list[int]] = field(default_factory=dict)  # rule → positions; absent = none
    limits: tuple[tuple[float, float], ...] = ()  # (mean, MR̄) per segment
    rebase_at: tuple[int, ...] = ()


CASES = [
    pytest.param(
        # mean = (5·0 + 5·10 + 49) / 11 = 9; MRs: nine of 10 and 39 → MR̄ = 129 / 10 = 12.9
        # UPL = 9 + 34.314 = 43.314 < 49; 2σ = 31.876 (only 49 beyond); sides alternate; no run > 3.
        Case(
            values=[0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 49],
            settings=INCREASE,
            types=".......... I",
            last_icon="improvement_high",
            flags={"astronomical": [11]},
            limits=((9, 12.9),),
        ),
        id="astronomical-only",
    ),
    pytest.param(
        # sum 40 over 13 → mean 3.0769; every MR is 2 → MR̄ 2; 2σ = 6.62 / −0.47, UPL 8.40.
        # 0/2 below (6 points), 4/6 above (7 points); longest rise 0,2,4,6 = 4 points.
        Case(
            values=[0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4],
            settings=INCREASE,
            types="...... IIIIIII",
            last_icon="improvement_high",
            flags={"shift": span(7, 13)},
            limits=((40 / 13, 2),),
        ),
        id="shift-only-increase",
    ),
    pytest.param(
        Case(
            values=[0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4],
            settings=DECREASE,
            types="...... CCCCCCC",
            last_icon="concern_high",
            flags={"shift": span(7, 13)},
            limits=((40 / 13, 2),),
        ),
        id="shift-only-decrease-is-concern",
    ),
    pytest.param(
        Case(
            values=[0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4],
            settings=NEUTRAL,
            types="...... NNNNNNN",
            last_icon="neutral_high",
            flags={"shift": span(7, 13)},
            limits=((40 / 13, 2),),
        ),
        id="shift-only-neutral",
    ),
    pytest.param(
        # sum 60 over 15 → mean 4; MRs 4,4,4,5, six 1s, 1,4,4,4 = 36 → MR̄ 36/14; 2σ 8.56 / −0.56.
        # 1..7 rises 6 steps from below the mean to above it; above-run 5,6,7,6 = 4 points.
        Case(
            values=[2, 6, 2, 6, 1, 2, 3, 4, 5, 6, 7, 6, 2, 6, 2],
            settings=INCREASE,
            types="....IIIIIII....",
            last_icon="common_cause",
            flags={"trend": span(5, 11)},
            limits=((4, 36 / 14),),
        ),
        id="trend-only",
    ),
    pytest.param(
        # sum 126 over 23 → mean 5.478; MRs 15×2 + 4,4,4,6 + 2,2,2 = 54 → MR̄ 54/22 = 2.4545
        # 2σ upper = 5.478 + 4.353 = 9.831 < 10 < UPL 12.007. Window 10,6,10 is all above → 17, 19.
        Case(
            values=[4, 6] * 8 + [10, 6, 10] + [4, 6] * 2,
            settings=INCREASE,
            types="." * 16 + "I.I" + "....",
            last_icon="common_cause",
            flags={"two_of_three": [17, 19]},
            limits=((126 / 23, 54 / 22),),
        ),
        id="two-of-three-only",
    ),
    pytest.param(
        # Frozen baseline: 2σ 13.5467, UPL 15.32. 14, 12, 16 all above the mean; 14 and 16 beyond 2σ,
        # 16 also beyond the UPL (MDC since Nov 2023: points beyond the limit count towards 2-of-3).
        Case(
            values=ZIGZAG_6 + [14, 12, 16, 9, 11, 9],
            settings=SpcSettings("increase", baseline_points=6),
            types="...... I.I...",
            last_icon="common_cause",
            flags={"two_of_three": [7, 9], "astronomical": [9]},
            limits=((10, 2),),
        ),
        id="two-of-three-with-one-beyond-upl",
    ),
    pytest.param(
        # 14, 9, 14: two beyond 2σ but the middle point is below the mean → no window qualifies.
        Case(
            values=ZIGZAG_6 + [14, 9, 14, 11, 9, 11],
            settings=SpcSettings("increase", baseline_points=6),
            types="............",
            last_icon="common_cause",
            flags={},
            limits=((10, 2),),
        ),
        id="two-of-three-needs-same-side",
    ),
    pytest.param(
        # 14 beyond upper 2σ, 6 beyond lower 2σ (6 < 6.4533, > LPL 4.68): opposite sides, no signal.
        Case(
            values=ZIGZAG_6 + [14, 11, 6, 9, 11, 9],
            settings=SpcSettings("increase", baseline_points=6),
            types="............",
            last_icon="common_cause",
            flags={},
            limits=((10, 2),),
        ),
        id="two-of-three-opposite-sides",
    ),
    pytest.param(
        # Frozen mean 10: six points above, one exactly on the mean, six above → runs of 6, no shift.
        Case(
            values=ZIGZAG_4 + [12, 11, 12, 11, 12, 11, 10, 12, 11, 12, 11, 12, 11],
            settings=SpcSettings("increase", baseline_points=4),
            types="." * 17,
            last_icon="common_cause",
            flags={},
            limits=((10, 2),),
        ),
        id="point-on-mean-breaks-shift",
    ),
    pytest.param(
        # Control for the case above: 10.5 is above the mean, so 13 points in a row are above.
        Case(
            values=ZIGZAG_4 + [12, 11, 12, 11, 12, 11, 10.5, 12, 11, 12, 11, 12, 11],
            settings=SpcSettings("increase", baseline_points=4),
            types="...." + "I" * 13,
            last_icon="improvement_high",
            flags={"shift": span(5, 17)},
            limits=((10, 2),),
        ),
        id="shift-without-the-on-mean-point",
    ),
    pytest.param(
        # Frozen [0.1, 0.3, 0.2]: mean 0.2, MR̄ (0.2 + 0.1) / 2 = 0.15. In binary floating point the
        # mean comes out as 0.20000000000000004, so 0.2 would look "below" and join 6 + 1 + 6 points
        # below into a shift; it is on the mean (points 3 and 10), so the runs are only 6.
        Case(
            values=[0.1, 0.3, 0.2] + [0.15, 0.18] * 3 + [0.2] + [0.15, 0.18] * 3,
            settings=SpcSettings("increase", baseline_points=3),
            types="." * 16,
            last_icon="common_cause",
            flags={},
            limits=((0.2, 0.15),),
        ),
        id="decimal-point-on-mean-breaks-shift",
    ),
    pytest.param(
        # 8, 9, 9.5, 9.5, 10.5, 11, 12: the tie splits it into rises of 3 and 4 points.
        Case(
            values=ZIGZAG_4 + [8, 9, 9.5, 9.5, 10.5, 11, 12],
            settings=SpcSettings("increase", baseline_points=4),
            types="." * 11,
            last_icon="common_cause",
            flags={},
            limits=((10, 2),),
        ),
        id="tie-breaks-trend",
    ),
    pytest.param(
        # Control: 8, 8.5, 9, 9.5, 10.5, 11, 12 — 6 rising steps; below-run 9,8,8.5,9,9.5 is 5 points.
        Case(
            values=ZIGZAG_4 + [8, 8.5, 9, 9.5, 10.5, 11, 12],
            settings=SpcSettings("increase", baseline_points=4),
            types="...." + "I" * 7,
            last_icon="improvement_high",
            flags={"trend": span(5, 11)},
            limits=((10, 2),),
        ),
        id="trend-without-the-tie",
    ),
    pytest.param(
        # Frozen mean 100, MR̄ 20 (2σ 135.47): 130 … 118 are 7 points above the mean (shift, high)
        # falling 6 steps (trend, low). docs/spc.md: improvement wins — for both directions.
        Case(
            values=[110, 90, 110, 90, 130, 128, 126, 124, 122, 120, 118],
            settings=SpcSettings("increase", baseline_points=4),
            types="....IIIIIII",
            last_icon="improvement_high",
            flags={"shift": span(5, 11), "trend": span(5, 11)},
            limits=((100, 20),),
        ),
        id="conflict-increase-improvement-wins",
    ),
    pytest.param(
        Case(
            values=[110, 90, 110, 90, 130, 128, 126, 124, 122, 120, 118],
            settings=SpcSettings("decrease", baseline_points=4),
            types="....IIIIIII",
            last_icon="improvement_low",
            flags={"shift": span(5, 11), "trend": span(5, 11)},
            limits=((100, 20),),
        ),
        id="conflict-decrease-improvement-wins",
    ),
    pytest.param(
        # Neutral with both sides flagged: the shift's side (above) beats the trend's (documented).
        Case(
            values=[110, 90, 110, 90, 130, 128, 126, 124, 122, 120, 118],
            settings=SpcSettings("neutral", baseline_points=4),
            types="....NNNNNNN",
            last_icon="neutral_high",
            flags={"shift": span(5, 11), "trend": span(5, 11)},
            limits=((100, 20),),
        ),
        id="conflict-neutral-shift-side-wins",
    ),
    pytest.param(
        # Frozen first 6: mean 10, MR̄ 2 although points 7-13 alone have MRs of 4 and 2.
        # 13 < 2σ 13.5467; 13, 11, 13, … are 7 points above the frozen mean.
        Case(
            values=ZIGZAG_6 + [13, 11, 13, 11, 13, 11, 13],
            settings=SpcSettings("increase", baseline_points=6),
            types="...... IIIIIII",
            last_icon="improvement_high",
            flags={"shift": span(7, 13)},
            limits=((10, 2),),
        ),
        id="frozen-baseline-shift",
    ),
    pytest.param(
        # Same values, limits from all 13: mean 145/13 = 11.154, MR̄ 26/12; 11 is now below the mean
        # and points 1-6 are a below-run of only 6 → nothing.
        Case(
            values=ZIGZAG_6 + [13, 11, 13, 11, 13, 11, 13],
            settings=INCREASE,
            types="." * 13,
            last_icon="common_cause",
            flags={},
            limits=((145 / 13, 26 / 12),),
        ),
        id="same-values-without-frozen-baseline",
    ),
    pytest.param(
        # Baseline longer than the segment: all 13 points are the baseline (same as above).
        Case(
            values=ZIGZAG_6 + [13, 11, 13, 11, 13, 11, 13],
            settings=SpcSettings("increase", baseline_points=20),
            types="." * 13,
            last_icon="common_cause",
            flags={},
            limits=((145 / 13, 26 / 12),),
        ),
        id="baseline-longer-than-segment",
    ),
    pytest.param(
        # Segment 1: sum 84/7 → mean 12, MRs 4,4,4,1,1,1 → 2.5. Segment 2 (rebase at 8): 105/7 → 15,
        # MRs 1,1,1,5,6,5 → 19/6. 10…17 rises 8 points across the rebase: 4 + 4, so no trend.
        Case(
            values=[14, 10, 14, 10, 11, 12, 13, 14, 15, 16, 17, 12, 18, 13],
            settings=INCREASE,
            types="." * 14,
            last_icon="common_cause",
            flags={},
            limits=((12, 2.5), (15, 19 / 6)),
            rebase_at=(8,),
        ),
        id="rebase-splits-trend",
    ),
    pytest.param(
        # Control without the rebase: mean 189/14 = 13.5, MR̄ 35/13; 2σ 18.27 / 8.73; trend 4-11.
        Case(
            values=[14, 10, 14, 10, 11, 12, 13, 14, 15, 16, 17, 12, 18, 13],
            settings=INCREASE,
            types="...IIIIIIII...",
            last_icon="common_cause",
            flags={"trend": span(4, 11)},
            limits=((13.5, 35 / 13),),
        ),
        id="no-rebase-trend",
    ),
    pytest.param(
        # Segment 1: 70/7 → mean 10, MRs 2,2,5,1,1,0 → 11/6; last 4 above. Segment 2: 140/7 → 20,
        # MRs 2,2,1,6,2,1 → 7/3; first 4 above. Runs of 4 + 4 never join across the rebase.
        Case(
            values=[7, 9, 7, 12, 11, 12, 12, 23, 21, 23, 22, 16, 18, 17],
            settings=INCREASE,
            types="." * 14,
            last_icon="common_cause",
            flags={},
            limits=((10, 11 / 6), (20, 7 / 3)),
            rebase_at=(8,),
        ),
        id="rebase-splits-shift",
    ),
    pytest.param(
        # A rebase flag on the first point starts nothing: same as shift-only-increase.
        Case(
            values=[0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4],
            settings=INCREASE,
            types="...... IIIIIII",
            last_icon="improvement_high",
            flags={"shift": span(7, 13)},
            limits=((40 / 13, 2),),
            rebase_at=(1,),
        ),
        id="rebase-on-first-point-is-a-no-op",
    ),
    pytest.param(
        # Peak at 11: ends the rise 1..7 (5-11) and starts the fall 7..1 (11-17). Mean 95/20 = 4.75,
        # MR̄ 62/19 (2σ 10.54, so the 10s are inside); runs either side of the mean are ≤ 5.
        Case(
            values=[10, 2, 10, 2, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1, 10, 2, 10],
            settings=INCREASE,
            types="...." + "IIIIIII" + "CCCCCC" + "...",
            last_icon="common_cause",
            flags={"trend": span(5, 17)},
            limits=((4.75, 62 / 19),),
        ),
        id="peak-ends-one-trend-and-starts-another",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_rules_flag_the_hand_worked_points(case: Case) -> None:
    out = compute_spc(series(case.values, case.rebase_at), case.settings)
    for rule in RULES:
        assert flagged(out, f"rule_{rule}") == case.flags.get(rule, []), rule
    expected_types = [TYPE_CODES[code] for code in case.types.replace(" ", "")]
    assert out["point_type"].tolist() == expected_types
    assert out["variation_icon"].iloc[-1] == case.last_icon
    for segment_id, (mean, mr_bar) in enumerate(case.limits, start=1):
        rows = out[out["segment_id"] == segment_id]
        assert rows["mean"].tolist() == pytest.approx([mean] * len(rows))
        assert rows["mr_bar"].tolist() == pytest.approx([mr_bar] * len(rows))
        assert rows["upl"].tolist() == pytest.approx([mean + 2.66 * mr_bar] * len(rows))
        assert rows["lower_two_sigma"].tolist() == pytest.approx([mean - 2 / 3 * 2.66 * mr_bar] * len(rows))
    assert out["segment_id"].max() == max(len(case.limits), 1)


def test_limit_columns_for_a_zigzag() -> None:
    # [9, 11] × 6: mean 10, every MR 2 → UPL 15.32, LPL 4.68, 2σ 13.54667 / 6.45333.
    out = compute_spc(series([9, 11] * 6), INCREASE)
    first, last = out.iloc[0], out.iloc[-1]
    assert math.isnan(first["moving_range"])
    assert last["moving_range"] == pytest.approx(2)
    assert (last["mean"], last["upl"], last["lpl"]) == pytest.approx((10, 15.32, 4.68))
    assert (last["upper_two_sigma"], last["lower_two_sigma"]) == pytest.approx((13.546667, 6.453333))
    assert not out["is_trial_limits"].any()
    assert out["is_baseline_point"].all()
    assert out["point_in_segment"].tolist() == span(1, 12)


def test_output_keeps_input_columns_and_order() -> None:
    points = series([3, 1, 2], note=["a", "b", "c"]).set_index(pd.Index([10, 20, 30]))
    out = compute_spc(points, INCREASE)
    assert list(out.columns[:3]) == ["period", "value", "note"]
    assert out.index.tolist() == [10, 20, 30]
    assert out["note"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("points", "trial"), [(11, True), (12, False)], ids=["11-points-trial", "12-points-firm"]
)
def test_trial_limits_below_twelve_points(points: int, trial: bool) -> None:
    out = compute_spc(series(([9, 11] * 6)[:points]), INCREASE)
    assert out["is_trial_limits"].tolist() == [trial] * points


def test_trial_limits_are_per_segment() -> None:
    # 12 points, then a rebase: the new segment has 5 points → trial there only.
    out = compute_spc(series([9, 11] * 6 + [20, 22, 20, 22, 20], rebase_at=(13,)), INCREASE)
    assert out["is_trial_limits"].tolist() == [False] * 12 + [True] * 5


def test_moving_range_never_spans_a_rebase() -> None:
    out = compute_spc(series([9, 11, 9, 30, 32, 30], rebase_at=(4,)), INCREASE)
    assert out["moving_range"].isna().tolist() == [True, False, False, True, False, False]
    assert out["segment_id"].tolist() == [1, 1, 1, 2, 2, 2]
    assert out["point_in_segment"].tolist() == [1, 2, 3, 1, 2, 3]
    # 9, 11, 9 → mean 29/3, MR̄ 2; 30, 32, 30 → mean 92/3, MR̄ 2.
    assert out["mean"].tolist() == pytest.approx([29 / 3] * 3 + [92 / 3] * 3)
    assert out["mr_bar"].tolist() == pytest.approx([2] * 6)


def test_frozen_baseline_marks_its_points() -> None:
    out = compute_spc(
        series(ZIGZAG_6 + [13, 11, 13, 11, 13, 11, 13]), SpcSettings("increase", baseline_points=6)
    )
    assert out["is_baseline_point"].tolist() == [True] * 6 + [False] * 7


def test_frozen_baseline_restarts_in_each_segment() -> None:
    # Baseline 2 per segment: segment 1 from 9, 11 (mean 10, MR̄ 2); segment 2 from 20, 26 (23, 6).
    out = compute_spc(
        series([9, 11, 40, 20, 26, 0], rebase_at=(4,)), SpcSettings("increase", baseline_points=2)
    )
    assert out["is_baseline_point"].tolist() == [True, True, False, True, True, False]
    assert out["mean"].tolist() == pytest.approx([10, 10, 10, 23, 23, 23])
    assert out["mr_bar"].tolist() == pytest.approx([2, 2, 2, 6, 6, 6])


@pytest.mark.parametrize(
    ("screen", "mr_bar"),
    # MRs: ten 1s, then 5 and 50 → MR̄ 65/12 = 5.417. Screening drops MRs above 3.267 × 5.417 = 17.70
    # (the 50) and recomputes once: 15/11 = 1.364 — the 5 is above 3.267 × 1.364 = 4.46 but stays.
    [(False, 65 / 12), (True, 15 / 11)],
    ids=["screening-off", "screening-on"],
)
def test_moving_range_screening_changes_mr_bar(screen: bool, mr_bar: float) -> None:
    out = compute_spc(series([0, 1] * 5 + [0, 5, 55]), SpcSettings("increase", screen_moving_ranges=screen))
    assert out["mr_bar"].tolist() == pytest.approx([mr_bar] * 13)
    assert out["upl"].tolist() == pytest.approx([5 + 2.66 * mr_bar] * 13)  # mean 65/13 = 5
    assert out["moving_range_screening"].tolist() == [screen] * 13


@pytest.mark.parametrize(
    ("direction", "target", "icon"),
    # [9, 11] × 6: UPL 15.32, LPL 4.68.
    [
        ("increase", 15.32, "fail"),
        ("increase", 4.68, "pass"),
        ("increase", 15.31, "hit_and_miss"),
        ("increase", 4.69, "hit_and_miss"),
        ("increase", 20.0, "fail"),
        ("increase", 0.0, "pass"),
        ("decrease", 15.32, "pass"),
        ("decrease", 4.68, "fail"),
        ("decrease", 10.0, "hit_and_miss"),
        ("neutral", 4.68, None),
        ("increase", math.nan, None),
    ],
    ids=lambda value: str(value),
)
def test_assurance_against_the_limits(direction: str, target: float, icon: str | None) -> None:
    out = compute_spc(series([9, 11] * 6, target=target), SpcSettings(direction))
    values = out["assurance_icon"].tolist()
    if icon is None:
        assert all(pd.isna(value) for value in values)
    else:
        assert values == [icon] * 12


def test_assurance_uses_each_points_own_segment_and_target() -> None:
    # Segment 1 [9, 11, 9, 11]: UPL 15.32; segment 2 [29, 31, 29, 31]: mean 30, LPL 24.68.
    out = compute_spc(
        series([9, 11, 9, 11, 29, 31, 29, 31], rebase_at=(5,), target=[20, 20, 10, None, 20, 20, 30, 40]),
        INCREASE,
    )
    expected = ["fail", "fail", "hit_and_miss", None, "pass", "pass", "hit_and_miss", "fail"]
    assert [None if pd.isna(value) else value for value in out["assurance_icon"]] == expected


def test_no_target_column_means_no_assurance() -> None:
    out = compute_spc(series([9, 11] * 6), INCREASE)
    assert out["assurance_icon"].isna().all()


def test_neutral_metric_flags_but_no_improvement_or_assurance() -> None:
    out = compute_spc(series([0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4], target=-10.0), NEUTRAL)
    assert flagged(out, "rule_shift") == span(7, 13)
    assert set(out["point_type"]) == {"common_cause", "neutral"}
    assert out["assurance_icon"].isna().all()


def test_variation_icon_per_point_at_a_peak() -> None:
    # The peak-ends-one-trend case: point 11 ends a rise and starts a fall. As if it were the last
    # point, the neutral icon shows the trend arriving at it (rising → high); increase: improvement wins.
    values = [10, 2, 10, 2, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1, 10, 2, 10]
    neutral = compute_spc(series(values), NEUTRAL)["variation_icon"].tolist()
    increase = compute_spc(series(values), INCREASE)["variation_icon"].tolist()
    decrease = compute_spc(series(values), DECREASE)["variation_icon"].tolist()
    common = ["common_cause"]
    assert neutral == common * 4 + ["neutral_high"] * 7 + ["neutral_low"] * 6 + common * 3
    assert increase == common * 4 + ["improvement_high"] * 7 + ["concern_low"] * 6 + common * 3
    assert decrease == common * 4 + ["concern_high"] * 6 + ["improvement_low"] * 7 + common * 3
    out = compute_spc(series(values), NEUTRAL)
    assert out[["signal_high", "signal_low"]].iloc[10].tolist() == [True, True]
    # Mirrored into a trough, the falling trend arrives at point 11: low.
    trough = compute_spc(series([-value for value in values]), NEUTRAL)["variation_icon"].tolist()
    assert trough == common * 4 + ["neutral_low"] * 7 + ["neutral_high"] * 6 + common * 3


def test_single_point_does_not_crash() -> None:
    out = compute_spc(series([42.0], target=40.0), INCREASE)
    row = out.iloc[0]
    assert row["mean"] == pytest.approx(42.0)
    for column in ("moving_range", "mr_bar", "upl", "lpl", "upper_two_sigma", "lower_two_sigma"):
        assert math.isnan(row[column]), column
    assert bool(row["is_trial_limits"])
    assert not any(bool(row[f"rule_{rule}"]) for rule in RULES)
    assert (row["point_type"], row["variation_icon"]) == ("common_cause", "common_cause")
    assert pd.isna(row["assurance_icon"])
    summary = summarise_series(out, INCREASE)
    assert (summary.latest_value, summary.points_in_segment, summary.assurance_icon) == (42.0, 1, None)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (pd.DataFrame({"period": [1, 2]}), "missing value"),
        (pd.DataFrame({"period": [], "value": []}), "empty"),
        (pd.DataFrame({"period": [1, 2, 3], "value": [1.0, math.nan, 2.0]}), "value at row 2"),
        (pd.DataFrame({"period": [1, 2, 3], "value": [1.0, "x", 2.0]}), "value at row 2"),
        (pd.DataFrame({"period": [1, 3, 2], "value": [1.0, 2.0, 3.0]}), "not ascending"),
        (pd.DataFrame({"period": [1, 2, 2], "value": [1.0, 2.0, 3.0]}), "duplicate period 2"),
        (pd.DataFrame({"period": [1, 2], "value": [1.0, 2.0], "rebase": ["yes", "no"]}), "rebase"),
    ],
    ids=["no-value", "empty", "nan-value", "text-value", "unsorted", "duplicate", "rebase-text"],
)
def test_compute_spc_rejects_bad_points(points: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_spc(points, INCREASE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "up"}, "direction must be one of increase, decrease, neutral; got 'up'"),
        ({"shift_run": 1}, "shift_run must be an integer >= 2; got 1"),
        ({"trend_run": 0}, "trend_run must be an integer >= 2; got 0"),
        ({"baseline_points": 1}, "baseline_points must be None or an integer >= 2; got 1"),
        ({"shift_run": 7.0}, "shift_run must be an integer >= 2; got 7.0"),
    ],
    ids=["direction", "shift-run", "trend-run", "baseline", "float-run"],
)
def test_settings_reject_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        SpcSettings(**{"direction": "increase", **kwargs})
    assert str(raised.value) == message


def test_summary_takes_icons_from_the_last_point() -> None:
    # shift-only series: mean 40/13, MR̄ 2 → UPL 8.397, LPL −2.243; target 9 ≥ UPL → fail for increase.
    out = compute_spc(series([0, 2, 0, 2, 0, 2, 4, 6, 4, 6, 4, 6, 4], target=9.0), INCREASE)
    summary = summarise_series(out, INCREASE)
    assert (summary.variation_icon, summary.assurance_icon) == ("improvement_high", "fail")
    assert (summary.latest_period, summary.latest_value, summary.latest_target) == (13, 4.0, 9.0)
    assert (summary.mean, summary.upl, summary.lpl) == pytest.approx(
        (40 / 13, 40 / 13 + 5.32, 40 / 13 - 5.32)
    )
    assert (summary.segment_id, summary.points_in_segment, summary.is_trial_limits) == (1, 13, False)


def shifted_months(tail: list[float]) -> pd.DataFrame:
    # Frozen mean 10 from 2022-10..2023-03 (ending above it); from 2023-04, 9 points 8/7 below it
    # (not beyond the lower 2σ line 6.45).
    values = [9, 11, 9, 11, 9, 11] + [8, 7, 8, 7, 8, 7, 8, 7, 8] + tail
    return pd.DataFrame(
        {"period": pd.period_range("2022-10", periods=len(values), freq="M"), "value": values}
    )


SHIFT_SETTINGS = SpcSettings("decrease", baseline_points=6)


@pytest.mark.parametrize(
    ("intervention", "reason"),
    [
        (None, "sustained shift of 9 points below the mean since 2023-04"),
        ("2023-04", "sustained shift of 9 points below the mean since 2023-04"),
        ("2023-01", "sustained shift of 9 points below the mean since 2023-04"),
        ("2023-05", None),  # the shift began before the intervention: not the project's doing
    ],
    ids=["no-intervention", "intervention-at-start", "intervention-before", "intervention-after-start"],
)
def test_rebase_suggested_after_a_sustained_shift(intervention: str | None, reason: str | None) -> None:
    out = compute_spc(shifted_months([]), SHIFT_SETTINGS)
    summary = summarise_series(out, SHIFT_SETTINGS, intervention_period=intervention)
    assert (summary.rebase_suggested, summary.rebase_reason) == (reason is not None, reason)
    assert summary.variation_icon == "improvement_low"
    assert summary.segment_id == 1  # suggested, never applied


def test_no_rebase_suggested_when_the_shift_has_ended() -> None:
    out = compute_spc(shifted_months([11]), SHIFT_SETTINGS)
    summary = summarise_series(out, SHIFT_SETTINGS)
    assert summary.rebase_suggested is False
    assert summary.rebase_reason is None


@pytest.mark.parametrize(
    ("intervention", "suggested"),
    [("2023-04-01", True), ("2023-04-27", True), ("2023-05-02", False)],
    ids=["on-the-month-start", "within-the-month", "in-the-next-month"],
)
def test_rebase_suggestion_with_date_periods(intervention: str, suggested: bool) -> None:
    # Months given as their first day, as the marts hold them: an intervention on 27 April lies in the April
    # point where the shift starts, as with monthly periods ("2023-04" above); May's is after the start.
    frame = shifted_months([])
    frame["period"] = frame["period"].dt.to_timestamp()
    out = compute_spc(frame, SHIFT_SETTINGS)
    summary = summarise_series(out, SHIFT_SETTINGS, intervention_period=intervention)
    expected = "sustained shift of 9 points below the mean since 2023-04-01" if suggested else None
    assert summary.rebase_reason == expected


def test_a_shift_that_began_before_the_intervention_month_is_not_suggested_when_that_month_has_no_point() -> None:
    # the shift starts in April; the intervention is in May, which has no point: April is before it
    frame = shifted_months([])
    frame["period"] = frame["period"].dt.to_timestamp()
    frame = frame[frame["period"] != pd.Timestamp("2023-05-01")]
    out = compute_spc(frame, SHIFT_SETTINGS)
    assert summarise_series(out, SHIFT_SETTINGS, intervention_period="2023-05-10").rebase_reason is None
    assert summarise_series(out, SHIFT_SETTINGS, intervention_period="2023-04-10").rebase_reason is not None


def test_compute_spc_groups_runs_each_series_with_its_settings() -> None:
    frame = pd.DataFrame(
        {
            "metric_id": ["a"] * 4 + ["b"] * 3,
            "period": [4, 1, 3, 2, 1, 2, 3],  # unordered: each group is sorted by period
            "value": [11.0, 9.0, 9.0, 11.0, 1.0, 5.0, 3.0],
        }
    )
    seen: list[tuple] = []

    def settings_for(key: tuple) -> SpcSettings:
        seen.append(key)
        return SpcSettings("increase" if key == ("a",) else "neutral", screen_moving_ranges=key == ("b",))

    out = compute_spc_groups(frame, ["metric_id"], settings_for)
    assert seen == [("a",), ("b",)]
    assert out["metric_id"].tolist() == ["a"] * 4 + ["b"] * 3
    assert out["period"].tolist() == [1, 2, 3, 4, 1, 2, 3]
    # a: 9, 11, 9, 11 → mean 10, MR̄ 2; b: 1, 5, 3 → mean 3, MRs 4, 2 → MR̄ 3.
    assert out["mean"].tolist() == pytest.approx([10] * 4 + [3] * 3)
    assert out["mr_bar"].tolist() == pytest.approx([2] * 4 + [3] * 3)
    assert out["moving_range_screening"].tolist() == [False] * 4 + [True] * 3


def test_compute_spc_groups_names_the_bad_series() -> None:
    frame = pd.DataFrame({"metric_id": ["a", "a"], "period": [1, 1], "value": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"series \{'metric_id': 'a'\}: duplicate period"):
        compute_spc_groups(frame, ["metric_id"], lambda key: INCREASE)


# ---- An independent, loop-by-loop reading of the rules in exact arithmetic, as a cross-check ----


def _reference(values: list[int], segments: list[int], settings: SpcSettings) -> dict[str, list[bool]]:
    """docs/spc.md rules transcribed literally (Fractions, loops over every run and window)."""
    keys = (*RULES, "arriving")  # arriving: the point ends (is not the first of) a trend window
    flags = {f"{key}_{side}": [False] * len(values) for key in keys for side in ("high", "low")}
    for seg in sorted(set(segments)):
        idx = [i for i, s in enumerate(segments) if s == seg]
        xs = [Fraction(values[i]) for i in idx]
        base = xs[: settings.baseline_points] if settings.baseline_points else xs
        mean = sum(base) / len(base)
        mrs = [abs(base[k] - base[k - 1]) for k in range(1, len(base))]
        mr_bar = sum(mrs) / len(mrs) if mrs else None
        if mr_bar is not None and settings.screen_moving_ranges:
            kept = [mr for mr in mrs if mr <= Fraction("3.267") * mr_bar]
            mr_bar = sum(kept) / len(kept)
        _reference_segment(idx, xs, mean, mr_bar, settings, flags)
    return flags


def _mark(flags: dict, key: str, positions: list[int]) -> None:
    for i in positions:
        flags[key][i] = True


def _reference_segment(idx, xs, mean, mr_bar, settings, flags) -> None:  # noqa: ANN001
    n = len(xs)
    side = [(x > mean) - (x < mean) for x in xs]
    for start in range(n):  # every maximal same-side run
        if side[start] != 0 and (start == 0 or side[start - 1] != side[start]):
            end = start
            while end + 1 < n and side[end + 1] == side[start]:
                end += 1
            if end - start + 1 >= settings.shift_run:
                _mark(flags, "shift_" + ("high" if side[start] > 0 else "low"), idx[start : end + 1])
    for start in range(n):  # every window of trend_run points moving strictly one way
        window = xs[start : start + settings.trend_run]
        if len(window) == settings.trend_run:
            for way, moves in (("high", lambda a, b: b > a), ("low", lambda a, b: b < a)):
                if all(moves(a, b) for a, b in zip(window, window[1:], strict=False)):
                    _mark(flags, f"trend_{way}", idx[start : start + settings.trend_run])
                    _mark(flags, f"arriving_{way}", idx[start + 1 : start + settings.trend_run])
    if mr_bar is None:
        return
    upl, lpl = mean + Fraction("2.66") * mr_bar, mean - Fraction("2.66") * mr_bar
    up2, lo2 = mean + Fraction("2.66") * mr_bar * 2 / 3, mean - Fraction("2.66") * mr_bar * 2 / 3
    _mark(flags, "astronomical_high", [idx[k] for k in range(n) if xs[k] > upl])
    _mark(flags, "astronomical_low", [idx[k] for k in range(n) if xs[k] < lpl])
    for start in range(n - 2):
        ks = range(start, start + 3)
        if all(side[k] > 0 for k in ks) and sum(xs[k] > up2 for k in ks) >= 2:
            _mark(flags, "two_of_three_high", [idx[k] for k in ks if xs[k] > up2])
        if all(side[k] < 0 for k in ks) and sum(xs[k] < lo2 for k in ks) >= 2:
            _mark(flags, "two_of_three_low", [idx[k] for k in ks if xs[k] < lo2])


def _reference_icons(flags: dict, i: int, direction: str) -> tuple[str, str]:
    """(point_type, variation_icon): improvement wins; neutral side by the documented priority."""
    high, low = (any(flags[f"{rule}_{side}"][i] for rule in RULES) for side in ("high", "low"))
    if not (high or low):
        return "common_cause", "common_cause"
    if direction == "increase":
        return ("improvement", "improvement_high") if high else ("concern", "concern_low")
    if direction == "decrease":
        return ("improvement", "improvement_low") if low else ("concern", "concern_high")
    for key in ("astronomical", "two_of_three", "shift", "arriving", "trend"):
        for side in ("high", "low"):
            if flags[f"{key}_{side}"][i]:
                return "neutral", f"neutral_{side}"
    raise AssertionError("unreachable")


def _random_case(rng: np.random.Generator) -> tuple[list[int], list[bool], SpcSettings]:
    n = int(rng.integers(1, 40))
    values = rng.integers(0, 6, n) + rng.choice([0, 0, 0, 0, 12, -12], n) + np.cumsum(rng.integers(0, 2, n))
    rebase = list(rng.random(n) < 0.1)
    settings = SpcSettings(
        direction=str(rng.choice(["increase", "decrease", "neutral"])),  # type: ignore[arg-type]
        baseline_points=None if rng.random() < 0.5 else int(rng.integers(2, 12)),
        shift_run=int(rng.integers(2, 9)),
        trend_run=int(rng.integers(2, 9)),
        screen_moving_ranges=bool(rng.random() < 0.3),
    )
    return [int(v) for v in values], rebase, settings


def test_vectorised_rules_match_a_literal_reading_on_random_series() -> None:
    rng = np.random.default_rng(20231101)
    for attempt in range(400):
        values, rebase, settings = _random_case(rng)
        points = pd.DataFrame({"period": range(len(values)), "value": values, "rebase": rebase})
        out = compute_spc(points, settings)
        segments = list(np.cumsum([False, *rebase[1:]]) + 1)  # a rebase on the first point is a no-op
        assert out["segment_id"].tolist() == segments
        expected = _reference(values, segments, settings)
        context = f"attempt {attempt}: {values=} {rebase=} {settings}"
        for rule in RULES:
            either = [
                h or lo for h, lo in zip(expected[f"{rule}_high"], expected[f"{rule}_low"], strict=True)
            ]
            assert out[f"rule_{rule}"].tolist() == either, f"{rule}; {context}"
        high = [any(expected[f"{rule}_high"][i] for rule in RULES) for i in range(len(values))]
        low = [any(expected[f"{rule}_low"][i] for rule in RULES) for i in range(len(values))]
        assert out["signal_high"].tolist() == high, context
        assert out["signal_low"].tolist() == low, context
        icons = [_reference_icons(expected, i, settings.direction) for i in range(len(values))]
        assert list(zip(out["point_type"], out["variation_icon"], strict=True)) == icons, context


# The marts' contracts (dbt_project/models/metrics/*.yml) and the DuckDB types each contract type accepts from
# the Python models' tables (the marts cast integers and periods, and pass the rest through).
ACCEPTED = {"varchar": {"VARCHAR"}, "boolean": {"BOOLEAN"}, "double": {"DOUBLE"}, "integer": {"INTEGER", "BIGINT"},
            "date": {"DATE", "TIMESTAMP"}}


def contract_types(mart: str) -> dict[str, str]:
    import yaml

    from tests.helpers import REPO

    [model] = yaml.safe_load((REPO / "dbt_project" / "models" / "metrics" / f"{mart}.yml").read_text())["models"]
    return {column["name"]: column["data_type"] for column in model["columns"]}


def as_duckdb_types(frame: pd.DataFrame) -> dict[str, str]:
    import duckdb

    return {name: kind for name, kind, *_ in duckdb.sql("describe select * from frame").fetchall()}


def prepared_points(rows: str) -> pd.DataFrame:
    """int_metric_points_prepared as the dbt Python model gets it from DuckDB."""
    import duckdb

    return duckdb.sql(f"""select metric_id, series_key, period, value, target, rebase from (values {rows})
                          as points (metric_id, series_key, period, value, target, rebase)""").df()


@pytest.mark.parametrize("rows", [
    # a deployment before its first extract: no point at all (DuckDB hands empty text columns over as objects)
    "(cast(null as varchar), cast(null as varchar), cast(null as date), cast(null as double), "
    "cast(null as double), false) limit 0",
    # no series has a target, so no assurance icon, and none ends in a shift, so no rebase reason
    ", ".join(f"('m', 'trust', date '2024-{month:02d}-01', {10 + month % 2}.0, cast(null as double), false)"
              for month in range(1, 13)),
], ids=["no points", "no targets or rebases"])
def test_the_spc_tables_reach_duckdb_with_the_types_the_marts_contracts_declare(rows: str) -> None:
    """A column pandas cannot type from its values (none, or all blank) would reach DuckDB as INTEGER, and the
    marts' enforced contracts would fail the whole build."""
    from pipelines.spc_series import summarise_groups

    spc = compute_spc_groups(prepared_points(rows), ["metric_id", "series_key"], lambda key: INCREASE)
    summary = summarise_groups(spc, ["metric_id", "series_key"], lambda key: INCREASE)
    for mart, frame in (("mart_metric_spc", spc.rename(columns={"period": "period_month"})),
                        ("mart_metric_summary", summary.rename(columns={"latest_period": "latest_period_month",
                                                                        "latest_target": "target"}))):
        declared, stored = contract_types(mart), as_duckdb_types(frame)
        shared = sorted(set(declared) & set(stored))
        assert len(shared) >= 10, (mart, shared)
        wrong = {name: (declared[name], stored[name]) for name in shared
                 if stored[name] not in ACCEPTED[declared[name]]}
        assert not wrong, (mart, wrong)
